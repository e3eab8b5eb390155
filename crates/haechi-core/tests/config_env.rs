//! The HAECHI_* environment overlay: five non-secret keys, env wins over the file, checked
//! like the file, errors name the variable, and no other variable is ever read.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::RefCell;
use std::collections::HashMap;

use haechi_core::config::{
    load_config_str, Config, ConfigError, ConfigErrorKind, LogFormat, ENV_OVERLAY_VARS,
};
use haechi_core::vocab::Mode;

fn with_env(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    load_config_str(text, &|name| map.get(name).cloned())
}

#[test]
fn valid_overlay_wins_over_the_file() {
    let file = r#"{ "proxy": { "port": 11016, "host": "127.0.0.1" }, "mode": "dry-run" }"#;
    let config = with_env(
        file,
        &[
            ("HAECHI_PROXY_PORT", "8080"),
            ("HAECHI_MODE", "enforce"),
            ("HAECHI_PROXY_HOST", "0.0.0.0"),
            ("HAECHI_UPSTREAM", "http://upstream.local:9000"),
            ("HAECHI_LOG_FORMAT", "json"),
        ],
    )
    .expect("valid overlay");
    assert_eq!(config.proxy.port, 8080);
    assert_eq!(config.mode, Mode::Enforce);
    assert_eq!(config.proxy.host, "0.0.0.0");
    assert_eq!(config.target.upstream, "http://upstream.local:9000");
    assert_eq!(config.logging.format, LogFormat::Json);
}

#[test]
fn overlay_fills_absent_or_null_sections() {
    let config = with_env(r#"{ "proxy": null }"#, &[("HAECHI_PROXY_PORT", "9000")]).unwrap();
    assert_eq!(config.proxy.port, 9000);
    assert_eq!(config.proxy.host, "127.0.0.1");
    let config = with_env("{}", &[("HAECHI_LOG_FORMAT", "json")]).unwrap();
    assert_eq!(config.logging.format, LogFormat::Json);
}

#[track_caller]
fn env_error(vars: &[(&str, &str)], var: &str) -> String {
    let e = with_env("{}", vars).expect_err("invalid env value must fail");
    assert_eq!(e.kind(), ConfigErrorKind::Env, "{e}");
    assert!(e.location().starts_with(var), "{e}");
    e.to_string()
}

#[test]
fn invalid_port_names_the_variable() {
    for bad in ["not-a-port", "70000", "", "80.5", "-1", "0x50"] {
        let m = env_error(&[("HAECHI_PROXY_PORT", bad)], "HAECHI_PROXY_PORT");
        assert!(m.contains("0 to 65535"), "{m}");
    }
}

#[test]
fn invalid_mode_names_the_variable() {
    let m = env_error(&[("HAECHI_MODE", "yolo")], "HAECHI_MODE");
    assert!(m.starts_with("HAECHI_MODE (overlays mode): "), "{m}");
    assert!(m.contains("dry-run | report-only | enforce"), "{m}");
}

#[test]
fn invalid_upstream_names_the_variable_without_echoing_it() {
    for bad in [
        "%%%not-a-url",
        "ftp://host",
        "http://",
        "http://user:s3cr3t@host",
    ] {
        let m = env_error(&[("HAECHI_UPSTREAM", bad)], "HAECHI_UPSTREAM");
        assert!(!m.contains("s3cr3t") && !m.contains("%%%"), "{m}");
    }
}

#[test]
fn invalid_host_and_log_format() {
    env_error(&[("HAECHI_PROXY_HOST", "  ")], "HAECHI_PROXY_HOST");
    env_error(&[("HAECHI_LOG_FORMAT", "yaml")], "HAECHI_LOG_FORMAT");
}

#[test]
fn a_bad_file_value_is_reported_at_its_key_even_with_env_set() {
    let e = with_env(
        r#"{ "proxy": { "port": "x" } }"#,
        &[("HAECHI_MODE", "enforce")],
    )
    .unwrap_err();
    assert_eq!(e.location(), "proxy.port");
    // The env value replaces a bad file value for the same key.
    let config = with_env(
        r#"{ "proxy": { "port": "x" } }"#,
        &[("HAECHI_PROXY_PORT", "81")],
    )
    .unwrap();
    assert_eq!(config.proxy.port, 81);
    // A section of the wrong kind is still reported as the file's error.
    let e = with_env(r#"{ "proxy": "x" }"#, &[("HAECHI_PROXY_PORT", "81")]).unwrap_err();
    assert_eq!(e.location(), "proxy");
}

#[test]
fn only_the_overlay_variables_are_read() {
    let asked = RefCell::new(Vec::<String>::new());
    let secret_env: HashMap<&str, &str> = HashMap::from([
        ("HAECHI_KEYS_KEYFILE", "/etc/secret.key"),
        ("HAECHI_KEY_FILE", "/etc/secret.key"),
        ("HAECHI_AUTH_TOKEN", "sk-live-SUPERSECRET"),
        ("HAECHI_AUTH_STORE", "/etc/auth.json"),
        ("HAECHI_KEYS_PROVIDER", "external"),
        ("HAECHI_PROXY_TLS_PASSPHRASE", "pw"),
    ]);
    let config = load_config_str("{}", &|name| {
        asked.borrow_mut().push(name.to_string());
        secret_env.get(name).map(|v| v.to_string())
    })
    .expect("defaults");
    let asked = asked.into_inner();
    assert_eq!(asked, ENV_OVERLAY_VARS.map(String::from).to_vec());
    assert_eq!(
        config.keys.provider,
        haechi_core::config::KeysProvider::Local
    );
    assert_eq!(config.keys.key_file, ".haechi/dev.keys.json");
    assert_eq!(config.auth.store, ".haechi/auth.json");
    assert!(config.proxy.tls.is_none());
}
