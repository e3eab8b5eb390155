use super::*;

fn tls(key: Option<&str>, cert: Option<&str>, pfx: Option<&str>, pass: Option<&str>) -> TlsConfig {
    TlsConfig {
        key_file: key.map(str::to_string),
        cert_file: cert.map(str::to_string),
        pfx_file: pfx.map(str::to_string),
        passphrase: pass.map(str::to_string),
    }
}

fn err(config: &TlsConfig) -> TlsError {
    match load_server_config(config) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e,
    }
}

#[test]
fn loopback_names() {
    for host in [
        "localhost",
        "LOCALHOST",
        " localhost\n",
        "::1",
        "[::1]",
        "0:0:0:0:0:0:0:1",
        "127.0.0.1",
        "127.1.2.3",
        "127.255.255.254",
        // The rule checks shape, not octet range, like the reference.
        "127.999.0.1",
        "\t127.0.0.1 ",
    ] {
        assert!(is_loopback_host(host), "{host:?} should be loopback");
    }
}

#[test]
fn non_loopback_names() {
    for host in [
        "",
        "0.0.0.0",
        "::",
        "[::]",
        "128.0.0.1",
        "127.0.0",
        "127.0.0.1.5",
        "127.0.0.",
        "127..0.1",
        "127.0.0.1000",
        "127.0.0.a",
        "127.0.0.+1",
        "1127.0.0.1",
        "localhost.example.com",
        "mylocalhost",
        "::2",
        "0000:0:0:0:0:0:0:1",
        "127.0.0.1:8080",
        // Non-ASCII digits are not digits here.
        "127.0.0.\u{0661}",
    ] {
        assert!(!is_loopback_host(host), "{host:?} should not be loopback");
    }
}

#[test]
fn no_material_is_refused() {
    let e = err(&tls(None, None, None, None));
    assert!(matches!(e, TlsError::NoMaterial));
    assert!(e.to_string().contains("keyFile + certFile, or pfxFile"));
    // Blank paths count as unset.
    let e = err(&tls(Some("  "), Some(""), None, None));
    assert!(matches!(e, TlsError::NoMaterial));
}

#[test]
fn both_forms_are_refused() {
    let e = err(&tls(Some("k.pem"), Some("c.pem"), Some("x.pfx"), None));
    assert!(matches!(e, TlsError::BothForms));
    let e = err(&tls(Some("k.pem"), None, Some("x.pfx"), None));
    assert!(matches!(e, TlsError::BothForms));
    let e = err(&tls(None, Some("c.pem"), Some("x.pfx"), Some("pw")));
    assert!(matches!(e, TlsError::BothForms));
    assert!(e.to_string().contains("pfxFile and keyFile/certFile"));
}

#[test]
fn half_a_pem_pair_names_the_missing_key() {
    let e = err(&tls(Some("k.pem"), None, None, None));
    assert_eq!(
        e.to_string(),
        "proxy.tls.keyFile is set without proxy.tls.certFile; keyFile and certFile must be set together"
    );
    let e = err(&tls(None, Some("c.pem"), None, None));
    assert!(e
        .to_string()
        .starts_with("proxy.tls.certFile is set without proxy.tls.keyFile"));
}

#[test]
fn passphrase_with_pem_is_refused_without_echoing_it() {
    let e = err(&tls(
        Some("k.pem"),
        Some("c.pem"),
        None,
        Some("hunter2-secret"),
    ));
    assert!(matches!(e, TlsError::PassphraseWithoutPfx));
    assert!(e.to_string().contains("proxy.tls.passphrase"));
    assert!(!e.to_string().contains("hunter2"));
    assert!(!format!("{e:?}").contains("hunter2"));
}

#[test]
fn read_failure_reasons_are_plain() {
    assert_eq!(
        ReadFailure(io::ErrorKind::NotFound).to_string(),
        "no such file"
    );
    assert_eq!(
        ReadFailure(io::ErrorKind::PermissionDenied).to_string(),
        "permission denied"
    );
    assert_eq!(
        ReadFailure(io::ErrorKind::IsADirectory).to_string(),
        "it is a directory"
    );
}

#[test]
fn pem_reasons_never_echo_the_line() {
    let secret = b"-----BEGIN PRIVATE KEY SECRETSTUFF".to_vec();
    let reason = pem_reason(&pem::Error::IllegalSectionStart { line: secret });
    assert!(!reason.contains("SECRET"));
    let reason = pem_reason(&pem::Error::MissingSectionEnd {
        end_marker: b"SECRETSTUFF".to_vec(),
    });
    assert!(!reason.contains("SECRET"));
}

#[test]
fn encrypted_key_markers() {
    assert!(has_encrypted_key(
        b"junk\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"
    ));
    assert!(has_encrypted_key(
        b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n"
    ));
    assert!(!has_encrypted_key(b"-----BEGIN PRIVATE KEY-----\n"));
}

#[test]
fn alpn_prefers_h2() {
    assert_eq!(ALPN_PROTOCOLS, [b"h2".as_slice(), b"http/1.1".as_slice()]);
}
