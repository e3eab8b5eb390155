//! Shape checks a table cannot express: TLS material, allowlist entries, URLs, header
//! names, regex flags, trust anchors and the configVersion gate. Each returns the
//! normalized value. None of them echoes a string the operator wrote unless it is a short
//! fixed-vocabulary name (a header name, regex flags).

use serde_json::{Map, Value};

use super::error::{describe_choice, describe_number, safe_key, ConfigError, ConfigErrorKind};
use super::model::CURRENT_CONFIG_VERSION;
use super::node::{integer, join};
use super::target::is_forbidden_forward_header;

pub(crate) fn config_version(value: &Value, path: &str) -> Result<Value, ConfigError> {
    let version = integer(value, path, "a positive integer")?;
    if version == 0 {
        return Err(ConfigError::invalid(
            path,
            describe_number(value),
            "expected a positive integer",
        ));
    }
    if version > CURRENT_CONFIG_VERSION {
        return Err(ConfigError::new(
            ConfigErrorKind::UnsupportedVersion,
            path,
            Some(describe_number(value)),
            format!(
                "this build of Haechi supports configVersion up to {CURRENT_CONFIG_VERSION}; \
                 upgrade Haechi to read this file (or lower configVersion only after checking \
                 the file uses nothing newer)"
            ),
        ));
    }
    Ok(Value::Number(version.into()))
}

/// A lowercase, de-duplicated list of extra header names to forward.
pub(crate) fn forward_headers(value: &Value, path: &str) -> Result<Value, ConfigError> {
    let Value::Array(items) = value else {
        return Err(ConfigError::wrong_kind(
            path,
            value,
            "expected an array of lowercase header names",
        ));
    };
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let Value::String(name) = item else {
            return Err(ConfigError::wrong_kind(
                &at,
                item,
                "expected a lowercase header name",
            ));
        };
        if name.trim().is_empty() {
            return Err(ConfigError::invalid(
                &at,
                "an empty string",
                "expected a lowercase header name",
            ));
        }
        if !name.bytes().all(is_token_byte) {
            return Err(ConfigError::invalid(
                &at,
                "a string that is not a header name",
                "expected a header name: letters, digits and !#$%&'*+-.^_`|~ only, no spaces or colons",
            ));
        }
        if name.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ConfigError::invalid(
                &at,
                describe_choice(name),
                format!(
                    "expected a lowercase header name (write \"{}\")",
                    name.to_ascii_lowercase()
                ),
            ));
        }
        if is_forbidden_forward_header(name) {
            return Err(ConfigError::invalid(
                &at,
                describe_choice(name),
                "this header is never forwarded (client credentials, content framing and \
                 hop-by-hop headers are always dropped); remove it",
            ));
        }
        if !out.iter().any(|seen| seen == item) {
            out.push(item.clone());
        }
    }
    Ok(Value::Array(out))
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `proxy.tls`: `{ keyFile, certFile }` or `{ pfxFile, passphrase? }` (file paths; the
/// gateway reads them). The passphrase is never echoed.
pub(crate) fn proxy_tls(value: &Value, path: &str) -> Result<Value, ConfigError> {
    const SHAPE: &str =
        "expected null, { \"keyFile\", \"certFile\" } or { \"pfxFile\", \"passphrase\"? }";
    let Value::Object(map) = value else {
        return Err(ConfigError::wrong_kind(path, value, SHAPE));
    };
    for key in map.keys() {
        let known = matches!(
            key.as_str(),
            "keyFile" | "certFile" | "pfxFile" | "passphrase"
        );
        if known {
            continue;
        }
        let hint = match key.as_str() {
            "key" | "cert" | "pfx" => format!(
                "proxy.tls takes file paths, not inline material; did you mean {}?",
                join(path, &format!("{key}File"))
            ),
            _ => format!("allowed keys here: keyFile, certFile, pfxFile, passphrase ({SHAPE})"),
        };
        return Err(ConfigError::new(
            ConfigErrorKind::UnknownKey,
            join(path, &safe_key(key)),
            None,
            hint,
        ));
    }
    let mut out = Map::new();
    for key in ["keyFile", "certFile", "pfxFile"] {
        if let Some(v) = map.get(key) {
            let at = join(path, key);
            match v {
                Value::String(s) if !s.trim().is_empty() => {
                    out.insert(key.to_string(), v.clone());
                }
                Value::String(_) => {
                    return Err(ConfigError::invalid(
                        &at,
                        "an empty string",
                        "expected a file path",
                    ))
                }
                other => {
                    return Err(ConfigError::wrong_kind(
                        &at,
                        other,
                        "expected a file path string",
                    ))
                }
            }
        }
    }
    let has = |k: &str| out.contains_key(k);
    if has("pfxFile") && (has("keyFile") || has("certFile")) {
        return Err(ConfigError::conflict(
            path,
            "use either keyFile + certFile or pfxFile, not both",
        ));
    }
    if has("keyFile") != has("certFile") {
        let missing = if has("keyFile") {
            "certFile"
        } else {
            "keyFile"
        };
        return Err(ConfigError::missing(
            &join(path, missing),
            "keyFile and certFile must be set together",
        ));
    }
    if !has("pfxFile") && !has("keyFile") {
        return Err(ConfigError::missing(
            path,
            "proxy.tls needs usable material: set keyFile + certFile, or pfxFile (or use null for no TLS)",
        ));
    }
    if let Some(passphrase) = map.get("passphrase") {
        let at = join(path, "passphrase");
        if !passphrase.is_string() {
            return Err(ConfigError::wrong_kind(
                &at,
                passphrase,
                "expected a string",
            ));
        }
        if !has("pfxFile") {
            return Err(ConfigError::conflict(
                &at,
                "passphrase applies only to pfxFile; remove it or switch to pfxFile",
            ));
        }
        out.insert("passphrase".to_string(), passphrase.clone());
    }
    Ok(Value::Object(out))
}

/// `filters.allowlist` entry: a non-empty string, or `{ value?, path? }` with at least one.
pub(crate) fn allowlist_entry(value: &Value, path: &str) -> Result<Value, ConfigError> {
    const SHAPE: &str = "expected a non-empty string or { \"value\"?, \"path\"? }";
    match value {
        Value::String(s) if s.trim().is_empty() => {
            Err(ConfigError::invalid(path, "an empty string", SHAPE))
        }
        Value::String(_) => Ok(value.clone()),
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, v) in map {
                if key != "value" && key != "path" {
                    return Err(ConfigError::new(
                        ConfigErrorKind::UnknownKey,
                        join(path, &safe_key(key)),
                        None,
                        "allowed keys here: value, path",
                    ));
                }
                let at = join(path, key);
                match v {
                    Value::String(s) if !s.trim().is_empty() => {
                        out.insert(key.clone(), v.clone());
                    }
                    Value::String(_) => {
                        return Err(ConfigError::invalid(
                            &at,
                            "an empty string",
                            "expected a non-empty string",
                        ))
                    }
                    other => {
                        return Err(ConfigError::wrong_kind(
                            &at,
                            other,
                            "expected a non-empty string",
                        ))
                    }
                }
            }
            if out.is_empty() {
                return Err(ConfigError::missing(
                    path,
                    "an allowlist object needs \"value\", \"path\" or both",
                ));
            }
            Ok(Value::Object(out))
        }
        other => Err(ConfigError::wrong_kind(path, other, SHAPE)),
    }
}

/// `filters.customRules[].flags`: JavaScript regex flags, each at most once.
pub(crate) fn regex_flags(value: &Value, path: &str) -> Result<Value, ConfigError> {
    const EXPECTED: &str = "expected regex flags from d g i m s u v y, each at most once";
    let Value::String(flags) = value else {
        return Err(ConfigError::wrong_kind(path, value, EXPECTED));
    };
    let mut seen = Vec::new();
    for c in flags.chars() {
        if !"dgimsuvy".contains(c) || seen.contains(&c) {
            return Err(ConfigError::invalid(path, describe_choice(flags), EXPECTED));
        }
        seen.push(c);
    }
    Ok(value.clone())
}

/// `auth.plugin.trustAnchors`: `[{ keyId, publicKey }]` or `{ keyId: publicKey }`, non-empty.
pub(crate) fn trust_anchors(value: &Value, path: &str) -> Result<Value, ConfigError> {
    const EXPECTED: &str =
        "expected a non-empty array of { \"keyId\", \"publicKey\" } or a non-empty { keyId: publicKey } object";
    match value {
        Value::Array(items) if items.is_empty() => {
            Err(ConfigError::invalid(path, "an empty array", EXPECTED))
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let at = format!("{path}[{i}]");
                let Value::Object(entry) = item else {
                    return Err(ConfigError::wrong_kind(
                        &at,
                        item,
                        "expected { \"keyId\", \"publicKey\" }",
                    ));
                };
                if let Some(key) = entry.keys().find(|k| *k != "keyId" && *k != "publicKey") {
                    return Err(ConfigError::new(
                        ConfigErrorKind::UnknownKey,
                        join(&at, &safe_key(key)),
                        None,
                        "allowed keys here: keyId, publicKey",
                    ));
                }
                match entry.get("keyId") {
                    Some(Value::String(s)) if !s.trim().is_empty() => {}
                    Some(Value::String(_)) => {
                        return Err(ConfigError::invalid(
                            &join(&at, "keyId"),
                            "an empty string",
                            "expected a key id",
                        ))
                    }
                    Some(other) => {
                        return Err(ConfigError::wrong_kind(
                            &join(&at, "keyId"),
                            other,
                            "expected a key id string",
                        ))
                    }
                    None => {
                        return Err(ConfigError::missing(
                            &join(&at, "keyId"),
                            "each trust anchor needs a keyId",
                        ))
                    }
                }
                public_key(entry.get("publicKey"), &join(&at, "publicKey"))?;
            }
            Ok(value.clone())
        }
        Value::Object(map) if map.is_empty() => {
            Err(ConfigError::invalid(path, "an empty object", EXPECTED))
        }
        Value::Object(map) => {
            for (key_id, key) in map {
                if key_id.trim().is_empty() {
                    return Err(ConfigError::invalid(
                        path,
                        "an empty key",
                        "every key id must be non-empty",
                    ));
                }
                public_key(Some(key), &join(path, &safe_key(key_id)))?;
            }
            Ok(value.clone())
        }
        other => Err(ConfigError::wrong_kind(path, other, EXPECTED)),
    }
}

/// A public key: PEM text or a JWK object. Never echoed.
fn public_key(value: Option<&Value>, path: &str) -> Result<(), ConfigError> {
    const EXPECTED: &str = "expected a public key (PEM text or a JWK object)";
    match value {
        None => Err(ConfigError::missing(
            path,
            "each trust anchor needs a publicKey",
        )),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(ConfigError::invalid(path, "an empty string", EXPECTED))
        }
        Some(Value::Object(m)) if m.is_empty() => {
            Err(ConfigError::invalid(path, "an empty object", EXPECTED))
        }
        Some(Value::String(_) | Value::Object(_)) => Ok(()),
        Some(other) => Err(ConfigError::wrong_kind(path, other, EXPECTED)),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "tests/rules.rs"]
mod tests;
