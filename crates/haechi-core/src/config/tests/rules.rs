use super::*;
use serde_json::json;

#[test]
fn tls_shapes() {
    let ok = |v: Value| proxy_tls(&v, "proxy.tls").is_ok();
    assert!(ok(json!({"keyFile": "k.pem", "certFile": "c.pem"})));
    assert!(ok(json!({"pfxFile": "s.pfx"})));
    assert!(ok(json!({"pfxFile": "s.pfx", "passphrase": ""})));
    assert!(!ok(json!({})));
    assert!(!ok(json!({"keyFile": "k.pem"})));
    assert!(!ok(json!({"certFile": "c.pem"})));
    assert!(!ok(json!({"pfxFile": "s.pfx", "keyFile": "k.pem"})));
    assert!(!ok(
        json!({"keyFile": "k.pem", "certFile": "c.pem", "passphrase": "x"})
    ));
    assert!(!ok(json!({"keyFile": "", "certFile": "c.pem"})));
    assert!(!ok(json!({"key": "-----BEGIN"})));
    assert!(!ok(json!("k.pem")));
}

#[test]
fn passphrase_is_never_echoed() {
    for v in [
        json!({"keyFile": "k", "certFile": "c", "passphrase": "hunter2-secret"}),
        json!({"pfxFile": "p", "passphrase": 12345}),
    ] {
        let e = proxy_tls(&v, "proxy.tls").unwrap_err().to_string();
        assert!(!e.contains("hunter2") && !e.contains("12345"), "{e}");
    }
}

#[test]
fn forward_headers_dedupe_and_refuse() {
    let v = forward_headers(&json!(["x-trace", "x-trace", "x-b"]), "h").unwrap();
    assert_eq!(v, json!(["x-trace", "x-b"]));
    for bad in [
        json!(["X-Trace"]),
        json!(["cookie"]),
        json!([""]),
        json!([" x"]),
        json!(["a:b"]),
        json!([1]),
        json!("x"),
    ] {
        assert!(forward_headers(&bad, "h").is_err(), "{bad}");
    }
}

#[test]
fn allowlist_entries() {
    assert!(allowlist_entry(&json!("bob@example.com"), "a").is_ok());
    assert!(allowlist_entry(&json!({"path": "p"}), "a").is_ok());
    assert!(allowlist_entry(&json!({"value": "v", "path": "p"}), "a").is_ok());
    for bad in [
        json!(""),
        json!({}),
        json!({"value": ""}),
        json!({"value": 1}),
        json!({"other": "x"}),
        json!(3),
    ] {
        assert!(allowlist_entry(&bad, "a").is_err(), "{bad}");
    }
}

#[test]
fn flags_and_versions() {
    assert!(regex_flags(&json!("gi"), "f").is_ok());
    assert!(regex_flags(&json!(""), "f").is_ok());
    assert!(regex_flags(&json!("gg"), "f").is_err());
    assert!(regex_flags(&json!("x"), "f").is_err());
    assert_eq!(config_version(&json!(1.0), "v").unwrap(), json!(1));
    assert!(config_version(&json!(0), "v").is_err());
    let e = config_version(&json!(2), "configVersion").unwrap_err();
    assert_eq!(e.kind(), ConfigErrorKind::UnsupportedVersion);
}

#[test]
fn trust_anchor_shapes() {
    assert!(trust_anchors(&json!([{"keyId": "a", "publicKey": "PEM"}]), "t").is_ok());
    assert!(trust_anchors(&json!({"a": "PEM"}), "t").is_ok());
    for bad in [
        json!([]),
        json!({}),
        json!([{"keyId": ""}]),
        json!([{"keyId": "a"}]),
        json!({"a": null}),
        json!("x"),
    ] {
        assert!(trust_anchors(&bad, "t").is_err(), "{bad}");
    }
}
