//! `proxy.tls` → a listener that really speaks TLS: PEM (PKCS#8, PKCS#1, SEC1) and PKCS#12
//! material loads and completes a handshake with ALPN; unusable material is refused with a
//! message naming the config key and path, never the passphrase.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

use std::path::{Path, PathBuf};
use std::sync::Arc;

use haechi_core::config::TlsConfig;
use haechi_gateway::tls::{load_server_config, TlsError};
use p12_keystore::{
    Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use tempfile::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

const PASSPHRASE: &str = "correct horse battery staple";
const WRONG: &str = "Tr0ub4dor&3-not-it";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// A fresh self-signed ECDSA P-256 certificate for `localhost` (rcgen's key is PKCS#8).
struct Generated {
    cert_der: CertificateDer<'static>,
    cert_pem: String,
    key_pem: String,
    key_der: Vec<u8>,
}

fn generate() -> Generated {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    Generated {
        cert_der: ck.cert.der().clone(),
        cert_pem: ck.cert.pem(),
        key_pem: ck.signing_key.serialize_pem(),
        key_der: ck.signing_key.serialize_der(),
    }
}

fn write(dir: &TempDir, name: &str, bytes: impl AsRef<[u8]>) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

fn pem_config(key: &str, cert: &str) -> TlsConfig {
    TlsConfig {
        key_file: Some(key.to_string()),
        cert_file: Some(cert.to_string()),
        pfx_file: None,
        passphrase: None,
    }
}

fn pfx_config(pfx: &str, passphrase: Option<&str>) -> TlsConfig {
    TlsConfig {
        key_file: None,
        cert_file: None,
        pfx_file: Some(pfx.to_string()),
        passphrase: passphrase.map(str::to_string),
    }
}

fn pfx_bytes(key_der: &[u8], certs: &[&CertificateDer<'_>], passphrase: &str) -> Vec<u8> {
    let key = PrivateKey::from_der(key_der).unwrap();
    let certs: Vec<Certificate> = certs
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()).unwrap())
        .collect();
    let mut store = KeyStore::new();
    store.add_entry(
        "haechi",
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(b"key-1".to_vec(), key, certs)),
    );
    store
        .writer(passphrase)
        .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
        .write()
        .unwrap()
}

fn load_err(config: &TlsConfig) -> TlsError {
    match load_server_config(config) {
        Ok(_) => panic!("expected the material to be refused"),
        Err(e) => e,
    }
}

/// Runs one TLS connection through the server config: the client trusts only `trust`, offers
/// `alpn`, sends a line and reads the echo. Returns the ALPN protocol both sides agreed on.
async fn handshake(
    server: Arc<ServerConfig>,
    trust: CertificateDer<'static>,
    alpn: &[&[u8]],
) -> Option<Vec<u8>> {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = TlsAcceptor::from(server);
    let server_task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(tcp).await.unwrap();
        let mut buf = [0u8; 5];
        tls.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"ping\n");
        tls.write_all(b"pong\n").await.unwrap();
        tls.shutdown().await.unwrap();
        tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec)
    });

    let mut roots = RootCertStore::empty();
    roots.add(trust).unwrap();
    let mut client =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
    client.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = TlsConnector::from(Arc::new(client));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = connector.connect(name, tcp).await.unwrap();
    tls.write_all(b"ping\n").await.unwrap();
    let mut reply = Vec::new();
    tls.read_to_end(&mut reply).await.unwrap();
    assert_eq!(reply, b"pong\n");
    let client_alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);

    let server_alpn = server_task.await.unwrap();
    assert_eq!(client_alpn, server_alpn);
    client_alpn
}

fn pem_cert(path: &Path) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(path).unwrap()
}

#[tokio::test]
async fn pkcs8_pem_pair_serves_tls_and_negotiates_h2() {
    let dir = TempDir::new().unwrap();
    let g = generate();
    let key = write(&dir, "key.pem", &g.key_pem);
    let cert = write(&dir, "cert.pem", &g.cert_pem);
    let server = load_server_config(&pem_config(&key, &cert)).unwrap();
    assert_eq!(
        server.alpn_protocols,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );

    let h2: &[u8] = b"h2";
    let h1: &[u8] = b"http/1.1";
    assert_eq!(
        handshake(server.clone(), g.cert_der.clone(), &[h2, h1]).await,
        Some(b"h2".to_vec())
    );
    assert_eq!(
        handshake(server.clone(), g.cert_der.clone(), &[h1]).await,
        Some(b"http/1.1".to_vec())
    );
    // A client that offers no ALPN still connects (plain HTTP/1.1 over TLS).
    assert_eq!(handshake(server, g.cert_der, &[]).await, None);
}

#[tokio::test]
async fn pkcs1_rsa_pem_pair_serves_tls() {
    let key = fixture("rsa-pkcs1-key.pem");
    let cert = fixture("rsa-cert.pem");
    assert!(std::fs::read_to_string(&key)
        .unwrap()
        .starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let server =
        load_server_config(&pem_config(key.to_str().unwrap(), cert.to_str().unwrap())).unwrap();
    let h2: &[u8] = b"h2";
    assert_eq!(
        handshake(server, pem_cert(&cert), &[h2]).await,
        Some(b"h2".to_vec())
    );
}

#[tokio::test]
async fn sec1_ec_pem_pair_with_parameters_block_serves_tls() {
    let key = fixture("ec-sec1-key.pem");
    let cert = fixture("ec-cert.pem");
    let text = std::fs::read_to_string(&key).unwrap();
    assert!(text.starts_with("-----BEGIN EC PARAMETERS-----"));
    assert!(text.contains("-----BEGIN EC PRIVATE KEY-----"));
    let server =
        load_server_config(&pem_config(key.to_str().unwrap(), cert.to_str().unwrap())).unwrap();
    assert_eq!(handshake(server, pem_cert(&cert), &[]).await, None);
}

#[tokio::test]
async fn combined_key_and_cert_in_one_file_loads() {
    let dir = TempDir::new().unwrap();
    let g = generate();
    let both = write(&dir, "both.pem", format!("{}{}", g.cert_pem, g.key_pem));
    let server = load_server_config(&pem_config(&both, &both)).unwrap();
    let h2: &[u8] = b"h2";
    assert_eq!(
        handshake(server, g.cert_der, &[h2]).await,
        Some(b"h2".to_vec())
    );
}

#[tokio::test]
async fn generated_pfx_loads_with_its_passphrase() {
    let dir = TempDir::new().unwrap();
    let g = generate();
    let pfx = write(
        &dir,
        "server.pfx",
        pfx_bytes(&g.key_der, &[&g.cert_der], PASSPHRASE),
    );
    let server = load_server_config(&pfx_config(&pfx, Some(PASSPHRASE))).unwrap();
    let h2: &[u8] = b"h2";
    assert_eq!(
        handshake(server, g.cert_der, &[h2]).await,
        Some(b"h2".to_vec())
    );
}

#[tokio::test]
async fn generated_pfx_without_passphrase_uses_the_empty_one() {
    let dir = TempDir::new().unwrap();
    let g = generate();
    let pfx = write(
        &dir,
        "server.pfx",
        pfx_bytes(&g.key_der, &[&g.cert_der], ""),
    );
    let server = load_server_config(&pfx_config(&pfx, None)).unwrap();
    assert_eq!(handshake(server, g.cert_der, &[]).await, None);
}

#[tokio::test]
async fn openssl_pfx_files_load() {
    let rsa_cert = pem_cert(&fixture("rsa-cert.pem"));
    for name in ["rsa-openssl.pfx", "rsa-openssl-legacy.pfx"] {
        let path = fixture(name);
        let server = load_server_config(&pfx_config(path.to_str().unwrap(), Some("fixture-pass")))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let h2: &[u8] = b"h2";
        assert_eq!(
            handshake(server, rsa_cert.clone(), &[h2]).await,
            Some(b"h2".to_vec()),
            "{name}"
        );
    }
    let path = fixture("ec-openssl-nopass.pfx");
    let server = load_server_config(&pfx_config(path.to_str().unwrap(), None)).unwrap();
    assert_eq!(
        handshake(server, pem_cert(&fixture("ec-cert.pem")), &[]).await,
        None
    );
}

#[test]
fn wrong_pfx_passphrase_is_refused_without_echoing_it() {
    let dir = TempDir::new().unwrap();
    let g = generate();
    let pfx = write(
        &dir,
        "server.pfx",
        pfx_bytes(&g.key_der, &[&g.cert_der], PASSPHRASE),
    );
    for attempt in [Some(WRONG), None] {
        let e = load_err(&pfx_config(&pfx, attempt));
        assert!(matches!(e, TlsError::PfxPassphrase { .. }), "{e:?}");
        let (shown, debug) = (e.to_string(), format!("{e:?}"));
        assert!(
            shown.starts_with(&format!("proxy.tls.pfxFile {pfx} ")),
            "{shown}"
        );
        assert!(shown.contains("proxy.tls.passphrase"), "{shown}");
        for text in [&shown, &debug] {
            assert!(!text.contains(WRONG), "{text}");
            assert!(!text.contains(PASSPHRASE), "{text}");
        }
    }
    // The openssl fixtures too, including the legacy (no PBES2) one.
    for name in ["rsa-openssl.pfx", "rsa-openssl-legacy.pfx"] {
        let e = load_err(&pfx_config(fixture(name).to_str().unwrap(), Some(WRONG)));
        assert!(matches!(e, TlsError::PfxPassphrase { .. }), "{name}: {e:?}");
    }
}

#[test]
fn pfx_without_a_private_key_is_refused() {
    let dir = TempDir::new().unwrap();
    let g = generate();
    let mut store = KeyStore::new();
    store.add_entry(
        "ca",
        KeyStoreEntry::Certificate(Certificate::from_der(g.cert_der.as_ref()).unwrap()),
    );
    let bytes = store.writer(PASSPHRASE).write().unwrap();
    let pfx = write(&dir, "certonly.pfx", bytes);
    let e = load_err(&pfx_config(&pfx, Some(PASSPHRASE)));
    assert!(matches!(e, TlsError::PfxNoKey { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("proxy.tls.pfxFile {pfx} contains no private key with its certificate; export the PFX with the private key included")
    );
}

#[test]
fn pfx_whose_key_does_not_match_its_certificate_is_refused() {
    let dir = TempDir::new().unwrap();
    let (a, b) = (generate(), generate());
    let pfx = write(
        &dir,
        "mixed.pfx",
        pfx_bytes(&a.key_der, &[&b.cert_der], PASSPHRASE),
    );
    let e = load_err(&pfx_config(&pfx, Some(PASSPHRASE)));
    assert!(matches!(e, TlsError::PfxKeyMismatch { .. }), "{e:?}");
    assert!(e
        .to_string()
        .starts_with(&format!("proxy.tls.pfxFile {pfx} ")));
}

#[test]
fn non_pkcs12_file_is_refused() {
    let dir = TempDir::new().unwrap();
    let g = generate();
    // A PEM certificate given as pfxFile: a common mix-up.
    let pfx = write(&dir, "cert.pem", &g.cert_pem);
    let e = load_err(&pfx_config(&pfx, Some(PASSPHRASE)));
    assert!(matches!(e, TlsError::PfxInvalid { .. }), "{e:?}");
    assert!(e.to_string().starts_with(&format!(
        "proxy.tls.pfxFile {pfx} is not a usable PKCS#12 file"
    )));
    assert!(!e.to_string().contains(PASSPHRASE));
}

#[test]
fn missing_files_name_the_key_and_path() {
    let dir = TempDir::new().unwrap();
    let g = generate();
    let cert = write(&dir, "cert.pem", &g.cert_pem);
    let key = write(&dir, "key.pem", &g.key_pem);
    let gone = dir.path().join("nope.pem").to_string_lossy().into_owned();

    let e = load_err(&pem_config(&key, &gone));
    assert!(matches!(
        e,
        TlsError::Unreadable {
            key: "proxy.tls.certFile",
            ..
        }
    ));
    assert_eq!(
        e.to_string(),
        format!("proxy.tls.certFile {gone} could not be read (no such file); check the path and that this process may read it")
    );

    let e = load_err(&pem_config(&gone, &cert));
    assert!(e
        .to_string()
        .starts_with(&format!("proxy.tls.keyFile {gone} could not be read")));

    let e = load_err(&pfx_config(&gone, Some(PASSPHRASE)));
    assert!(e
        .to_string()
        .starts_with(&format!("proxy.tls.pfxFile {gone} could not be read")));
    assert!(!format!("{e:?}").contains(PASSPHRASE));
}

#[test]
fn unreadable_file_is_refused() {
    // A directory cannot be read as a file, even by root (unlike a chmod 000 file).
    let dir = TempDir::new().unwrap();
    let g = generate();
    let key = write(&dir, "key.pem", &g.key_pem);
    let as_dir = dir.path().to_string_lossy().into_owned();
    let e = load_err(&pem_config(&key, &as_dir));
    assert!(
        matches!(
            e,
            TlsError::Unreadable {
                key: "proxy.tls.certFile",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e
        .to_string()
        .starts_with(&format!("proxy.tls.certFile {as_dir} could not be read (")));
}

#[test]
fn cert_file_without_a_certificate_is_refused() {
    let dir = TempDir::new().unwrap();
    let g = generate();
    let key = write(&dir, "key.pem", &g.key_pem);
    // The key where the certificate should be, then a DER certificate, then an empty file.
    for (name, bytes) in [
        ("swapped.pem", g.key_pem.clone().into_bytes()),
        ("cert.der", g.cert_der.to_vec()),
        ("empty.pem", Vec::new()),
    ] {
        let cert = write(&dir, name, bytes);
        let e = load_err(&pem_config(&key, &cert));
        assert!(matches!(e, TlsError::NoCertificate { .. }), "{name}: {e:?}");
        assert_eq!(
            e.to_string(),
            format!("proxy.tls.certFile {cert} contains no PEM certificate; point it at the server certificate chain (leaf first)")
        );
    }
}

#[test]
fn malformed_pem_is_refused_without_echoing_its_lines() {
    let dir = TempDir::new().unwrap();
    let g = generate();
    let cert = write(&dir, "cert.pem", &g.cert_pem);
    // A key whose END line was cut off: the error must not quote the key's body.
    let cut: String = g.key_pem.lines().take(2).collect::<Vec<_>>().join("\n");
    let body_line = g.key_pem.lines().nth(1).unwrap().to_string();
    let key = write(&dir, "cut.pem", &cut);
    let e = load_err(&pem_config(&key, &cert));
    assert!(
        matches!(
            e,
            TlsError::MalformedPem {
                key: "proxy.tls.keyFile",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e
        .to_string()
        .starts_with(&format!("proxy.tls.keyFile {key} is not valid PEM")));
    assert!(!e.to_string().contains(&body_line));
    assert!(!format!("{e:?}").contains(&body_line));
}

#[test]
fn key_file_without_a_key_is_refused() {
    let dir = TempDir::new().unwrap();
    let g = generate();
    let cert = write(&dir, "cert.pem", &g.cert_pem);
    let e = load_err(&pem_config(&cert, &cert));
    assert!(matches!(e, TlsError::NoPrivateKey { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("proxy.tls.keyFile {cert} contains no PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC); point it at the certificate's private key")
    );
}

#[test]
fn encrypted_pem_key_is_refused_with_a_hint() {
    let dir = TempDir::new().unwrap();
    let g = generate();
    let cert = write(&dir, "cert.pem", &g.cert_pem);
    let key = write(
        &dir,
        "enc.pem",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIBvTBXBgkqhkiG9w0BBQ0wSjApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    let e = load_err(&pem_config(&key, &cert));
    assert!(matches!(e, TlsError::EncryptedPrivateKey { .. }), "{e:?}");
    assert!(e.to_string().contains("pfxFile with a passphrase"));
}

#[test]
fn key_that_does_not_match_the_certificate_is_refused() {
    let dir = TempDir::new().unwrap();
    let (a, b) = (generate(), generate());
    let key = write(&dir, "a-key.pem", &a.key_pem);
    let cert = write(&dir, "b-cert.pem", &b.cert_pem);
    let e = load_err(&pem_config(&key, &cert));
    assert!(matches!(e, TlsError::KeyMismatch { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("proxy.tls.keyFile {key} does not match the certificate in proxy.tls.certFile {cert}; use the private key that belongs to this certificate")
    );

    // RSA key against an EC certificate: a mismatch too, not a silent accept.
    let rsa = fixture("rsa-pkcs1-key.pem");
    let e = load_err(&pem_config(rsa.to_str().unwrap(), &cert));
    assert!(matches!(e, TlsError::KeyMismatch { .. }), "{e:?}");
}

#[test]
fn garbage_key_is_refused() {
    let dir = TempDir::new().unwrap();
    let g = generate();
    let cert = write(&dir, "cert.pem", &g.cert_pem);
    // Well-formed PEM framing around bytes that are no key at all.
    let key = write(
        &dir,
        "junk.pem",
        "-----BEGIN PRIVATE KEY-----\nAAECAwQFBgcICQoLDA0ODw==\n-----END PRIVATE KEY-----\n",
    );
    let e = load_err(&pem_config(&key, &cert));
    assert!(
        matches!(
            e,
            TlsError::UnsupportedKey {
                key: "proxy.tls.keyFile",
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().starts_with(&format!(
        "proxy.tls.keyFile {key} holds a private key that cannot be used"
    )));
}
