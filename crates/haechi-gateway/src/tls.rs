//! TLS material for the listener: `proxy.tls` becomes a rustls [`ServerConfig`] at startup.
//!
//! Material is read once, before the listener binds, and anything unusable (a missing or
//! unreadable file, no certificate, no key, a key that does not belong to the certificate, a
//! wrong PFX passphrase) refuses to start rather than falling back to plain HTTP. Errors name
//! the config key and the file path, never the passphrase or any key bytes.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use haechi_core::config::TlsConfig;
use p12_keystore::{KeyStore, Pkcs12ImportPolicy};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::ServerConfig;
use rustls::sign::{CertifiedKey, SingleCertAndKey};

/// ALPN protocols the listener offers, in server preference order.
pub const ALPN_PROTOCOLS: [&[u8]; 2] = [b"h2", b"http/1.1"];

const KEY_FILE: &str = "proxy.tls.keyFile";
const CERT_FILE: &str = "proxy.tls.certFile";
const PFX_FILE: &str = "proxy.tls.pfxFile";

/// Why the configured TLS material cannot be used. Every message names the config key and
/// path and says what to do; none carries the passphrase or key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("proxy.tls sets no material; set keyFile + certFile, or pfxFile (or set proxy.tls to null to serve plain HTTP on loopback)")]
    NoMaterial,
    #[error("proxy.tls sets both pfxFile and keyFile/certFile; keep one form: keyFile + certFile, or pfxFile")]
    BothForms,
    #[error("{present} is set without {missing}; keyFile and certFile must be set together")]
    Incomplete {
        present: &'static str,
        missing: &'static str,
    },
    #[error("proxy.tls.passphrase applies only to pfxFile; remove it (encrypted PEM keys are not supported: decrypt the key or use a PFX)")]
    PassphraseWithoutPfx,
    #[error("{key} {} could not be read ({reason}); check the path and that this process may read it", path.display())]
    Unreadable {
        key: &'static str,
        path: PathBuf,
        reason: ReadFailure,
    },
    #[error("{key} {} is not valid PEM ({reason}); point it at a PEM file (convert DER with openssl)", path.display())]
    MalformedPem {
        key: &'static str,
        path: PathBuf,
        reason: &'static str,
    },
    #[error("{CERT_FILE} {} contains no PEM certificate; point it at the server certificate chain (leaf first)", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{KEY_FILE} {} contains no PEM private key (PKCS#8, PKCS#1 RSA or SEC1 EC); point it at the certificate's private key", path.display())]
    NoPrivateKey { path: PathBuf },
    #[error("{KEY_FILE} {} holds an encrypted private key, which is not supported; decrypt it (openssl pkey -in key.pem -out plain.pem) or use pfxFile with a passphrase", path.display())]
    EncryptedPrivateKey { path: PathBuf },
    #[error("{key} {} holds a private key that cannot be used for TLS (unsupported algorithm or corrupt); use an RSA (2048+), ECDSA P-256/P-384 or Ed25519 key", path.display())]
    UnsupportedKey { key: &'static str, path: PathBuf },
    #[error("{KEY_FILE} {} does not match the certificate in {CERT_FILE} {}; use the private key that belongs to this certificate", key_path.display(), cert_path.display())]
    KeyMismatch {
        key_path: PathBuf,
        cert_path: PathBuf,
    },
    #[error("{PFX_FILE} {} holds a private key that does not match its certificate; re-export the PFX from the matching key and certificate", path.display())]
    PfxKeyMismatch { path: PathBuf },
    #[error("{PFX_FILE} {} could not be opened with the configured passphrase; set proxy.tls.passphrase to the PFX export password", path.display())]
    PfxPassphrase { path: PathBuf },
    #[error("{PFX_FILE} {} is not a usable PKCS#12 file ({reason}); export the key and certificate chain as .pfx/.p12", path.display())]
    PfxInvalid { path: PathBuf, reason: &'static str },
    #[error("{PFX_FILE} {} contains no private key with its certificate; export the PFX with the private key included", path.display())]
    PfxNoKey { path: PathBuf },
    #[error("the TLS provider rejected the protocol settings; this is a bug in haechi, please report it")]
    Provider,
}

/// Why a file could not be read: the I/O error kind only, so the message stays short and holds
/// nothing the OS might echo back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadFailure(io::ErrorKind);

impl fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            io::ErrorKind::NotFound => f.write_str("no such file"),
            io::ErrorKind::PermissionDenied => f.write_str("permission denied"),
            io::ErrorKind::IsADirectory => f.write_str("it is a directory"),
            other => write!(f, "{other}"),
        }
    }
}

/// The two accepted shapes of `proxy.tls`.
enum Material<'a> {
    Pem { key: &'a Path, cert: &'a Path },
    Pfx { file: &'a Path, passphrase: &'a str },
}

/// Builds the listener's rustls configuration from `proxy.tls`: TLS 1.2 and 1.3 on the ring
/// provider, no client certificates, ALPN `h2` then `http/1.1`.
pub fn load_server_config(tls: &TlsConfig) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certified = match material(tls)? {
        Material::Pem { key, cert } => load_pem(key, cert, &provider)?,
        Material::Pfx { file, passphrase } => load_pfx(file, passphrase, &provider)?,
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| TlsError::Provider)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(certified)));
    config.alpn_protocols = ALPN_PROTOCOLS.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// Picks exactly one form; config validation already enforces this, but a hand-built
/// `TlsConfig` must fail closed too. A blank path counts as unset.
fn material(tls: &TlsConfig) -> Result<Material<'_>, TlsError> {
    fn set(v: &Option<String>) -> Option<&Path> {
        v.as_deref().filter(|s| !s.trim().is_empty()).map(Path::new)
    }
    let (key, cert, pfx) = (set(&tls.key_file), set(&tls.cert_file), set(&tls.pfx_file));
    match (key, cert, pfx) {
        (None, None, None) => Err(TlsError::NoMaterial),
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => Err(TlsError::BothForms),
        (None, None, Some(file)) => Ok(Material::Pfx {
            file,
            passphrase: tls.passphrase.as_deref().unwrap_or(""),
        }),
        _ if tls.passphrase.is_some() => Err(TlsError::PassphraseWithoutPfx),
        (Some(key), Some(cert), None) => Ok(Material::Pem { key, cert }),
        (Some(_), None, None) => Err(TlsError::Incomplete {
            present: KEY_FILE,
            missing: CERT_FILE,
        }),
        (None, Some(_), None) => Err(TlsError::Incomplete {
            present: CERT_FILE,
            missing: KEY_FILE,
        }),
    }
}

fn read(key: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Unreadable {
        key,
        path: path.to_path_buf(),
        reason: ReadFailure(e.kind()),
    })
}

/// Describes a PEM syntax error without echoing the offending line, which may be key material.
fn pem_reason(error: &pem::Error) -> &'static str {
    match error {
        pem::Error::MissingSectionEnd { .. } => "a section has no END line",
        pem::Error::IllegalSectionStart { .. } => "a BEGIN line is malformed",
        pem::Error::Base64Decode(_) => "a section is not valid base64",
        pem::Error::SectionTooLarge => "a section is too large",
        _ => "it could not be parsed",
    }
}

fn load_pem(
    key_path: &Path,
    cert_path: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let cert_bytes = read(CERT_FILE, cert_path)?;
    let key_bytes = read(KEY_FILE, key_path)?;

    let chain = CertificateDer::pem_slice_iter(&cert_bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::MalformedPem {
            key: CERT_FILE,
            path: cert_path.to_path_buf(),
            reason: pem_reason(&e),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert_path.to_path_buf(),
        });
    }

    let key = match PrivateKeyDer::from_pem_slice(&key_bytes) {
        Ok(key) => key,
        Err(pem::Error::NoItemsFound) => {
            return Err(if has_encrypted_key(&key_bytes) {
                TlsError::EncryptedPrivateKey {
                    path: key_path.to_path_buf(),
                }
            } else {
                TlsError::NoPrivateKey {
                    path: key_path.to_path_buf(),
                }
            })
        }
        Err(e) => {
            return Err(TlsError::MalformedPem {
                key: KEY_FILE,
                path: key_path.to_path_buf(),
                reason: pem_reason(&e),
            })
        }
    };

    certify(chain, key, provider).map_err(|e| match e {
        Certify::Unsupported => TlsError::UnsupportedKey {
            key: KEY_FILE,
            path: key_path.to_path_buf(),
        },
        Certify::Mismatch => TlsError::KeyMismatch {
            key_path: key_path.to_path_buf(),
            cert_path: cert_path.to_path_buf(),
        },
    })
}

fn has_encrypted_key(bytes: &[u8]) -> bool {
    const MARKERS: [&[u8]; 2] = [
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----",
        b"Proc-Type: 4,ENCRYPTED",
    ];
    MARKERS
        .iter()
        .any(|m| bytes.windows(m.len()).any(|w| w == *m))
}

fn load_pfx(
    path: &Path,
    passphrase: &str,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let bytes = read(PFX_FILE, path)?;
    let store = KeyStore::from_pkcs12(&bytes, passphrase, Pkcs12ImportPolicy::Strict)
        .map_err(|e| pfx_error(&e, path))?;
    // Strict import keeps only keys linked to their certificate, so a chain here always has
    // its leaf first.
    let (_, chain) = store
        .private_key_chain()
        .filter(|(_, chain)| !chain.certs().is_empty())
        .ok_or_else(|| TlsError::PfxNoKey {
            path: path.to_path_buf(),
        })?;
    let certs = chain
        .certs()
        .iter()
        .map(|c| CertificateDer::from(c.as_der().to_vec()))
        .collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()));
    certify(certs, key, provider).map_err(|e| match e {
        Certify::Unsupported => TlsError::UnsupportedKey {
            key: PFX_FILE,
            path: path.to_path_buf(),
        },
        Certify::Mismatch => TlsError::PfxKeyMismatch {
            path: path.to_path_buf(),
        },
    })
}

/// Maps a PKCS#12 failure to a fixed phrase: the library's own text is not needed and a
/// fixed phrase cannot leak anything.
fn pfx_error(error: &p12_keystore::error::Error, path: &Path) -> TlsError {
    use p12_keystore::error::Error as P12;
    let path = path.to_path_buf();
    match error {
        // A failed MAC check or a decryption that does not unpad both mean a wrong password.
        P12::MacError(_) | P12::UnpadError => TlsError::PfxPassphrase { path },
        P12::DerError(_) | P12::InvalidVersion | P12::UnsupportedContentType | P12::InvalidData => {
            TlsError::PfxInvalid {
                path,
                reason: "not PKCS#12 data",
            }
        }
        P12::UnsupportedEncryptionScheme | P12::UnsupportedMacAlgorithm | P12::Pkcs5Error(_) => {
            TlsError::PfxInvalid {
                path,
                reason: "unsupported encryption or MAC algorithm",
            }
        }
        P12::UnsupportedCertificateType | P12::X509Error(_) => TlsError::PfxInvalid {
            path,
            reason: "a certificate could not be parsed",
        },
        P12::InvalidPrivateKey => TlsError::PfxInvalid {
            path,
            reason: "the private key could not be parsed",
        },
        _ => TlsError::PfxInvalid {
            path,
            reason: "it could not be decoded",
        },
    }
}

enum Certify {
    Unsupported,
    Mismatch,
}

/// Loads the key with the provider and insists that it belongs to the leaf certificate; an
/// unknown answer counts as a mismatch so nothing unverified reaches the listener.
fn certify(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, Certify> {
    let signer = provider
        .key_provider
        .load_private_key(key)
        .map_err(|_| Certify::Unsupported)?;
    let certified = CertifiedKey::new(chain, signer);
    certified.keys_match().map_err(|_| Certify::Mismatch)?;
    Ok(certified)
}

/// Whether `host` names this machine's loopback interface: `localhost`, `::1` (bare,
/// bracketed or fully written out) or any `127.x.y.z` dotted quad of 1–3 digit parts.
/// Case-insensitive, surrounding whitespace ignored.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    if ["localhost", "::1", "[::1]", "0:0:0:0:0:0:0:1"]
        .iter()
        .any(|name| host.eq_ignore_ascii_case(name))
    {
        return true;
    }
    let Some(rest) = host.strip_prefix("127.") else {
        return false;
    };
    let mut parts = 0;
    for part in rest.split('.') {
        parts += 1;
        if parts > 3 || !(1..=3).contains(&part.len()) || !part.bytes().all(|b| b.is_ascii_digit())
        {
            return false;
        }
    }
    parts == 3
}

#[cfg(test)]
#[path = "tests/tls.rs"]
mod tests;
