//! The environment overlay for container deploys: a fixed list of non-secret operational
//! keys. Each value is checked with the same schema node as the file key it replaces, and an
//! invalid value names the variable. No other variable is read; nothing secret (keys, auth
//! store, tokens, TLS material) can come from the environment.

use serde_json::{Map, Value};

use super::check::check;
use super::error::ConfigError;
use super::node::{join, Node};
use super::schema::{LOG_FORMAT, MODE, NON_BLANK, PORT, UPSTREAM};

struct Overlay {
    var: &'static str,
    /// Section of the file (`""` for a top-level key) and the key inside it.
    section: &'static str,
    key: &'static str,
    node: &'static Node,
}

/// The overlay variables, in the order they are applied.
pub const ENV_OVERLAY_VARS: [&str; 5] = [
    "HAECHI_PROXY_PORT",
    "HAECHI_PROXY_HOST",
    "HAECHI_UPSTREAM",
    "HAECHI_MODE",
    "HAECHI_LOG_FORMAT",
];

static OVERLAYS: [Overlay; 5] = [
    Overlay {
        var: "HAECHI_PROXY_PORT",
        section: "proxy",
        key: "port",
        node: &PORT,
    },
    Overlay {
        var: "HAECHI_PROXY_HOST",
        section: "proxy",
        key: "host",
        node: &NON_BLANK,
    },
    Overlay {
        var: "HAECHI_UPSTREAM",
        section: "target",
        key: "upstream",
        node: &UPSTREAM,
    },
    Overlay {
        var: "HAECHI_MODE",
        section: "",
        key: "mode",
        node: &MODE,
    },
    Overlay {
        var: "HAECHI_LOG_FORMAT",
        section: "logging",
        key: "format",
        node: &LOG_FORMAT,
    },
];

/// Apply the overlay to the parsed file; env values win over the file.
pub(crate) fn apply(
    doc: &mut Map<String, Value>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    for overlay in &OVERLAYS {
        let Some(raw) = env(overlay.var) else {
            continue;
        };
        let key_path = join(overlay.section, overlay.key);
        let value = if overlay.var == "HAECHI_PROXY_PORT" {
            port(&raw, overlay.var, &key_path)?
        } else {
            Value::String(raw)
        };
        let value =
            check(overlay.node, &value, &key_path).map_err(|e| e.in_env(overlay.var, &key_path))?;
        insert(doc, overlay.section, overlay.key, value);
    }
    Ok(())
}

/// A port from text: decimal digits only (surrounding spaces tolerated).
fn port(raw: &str, var: &str, key_path: &str) -> Result<Value, ConfigError> {
    let digits = raw.trim();
    match digits.parse::<u64>() {
        Ok(n) if digits.bytes().all(|b| b.is_ascii_digit()) => Ok(Value::Number(n.into())),
        _ => Err(ConfigError::invalid(
            key_path,
            if digits.is_empty() {
                "an empty value"
            } else {
                "a value that is not a decimal integer"
            },
            "expected an integer from 0 to 65535",
        )
        .in_env(var, key_path)),
    }
}

fn insert(doc: &mut Map<String, Value>, section: &str, key: &str, value: Value) {
    if section.is_empty() {
        doc.insert(key.to_string(), value);
        return;
    }
    match doc.get_mut(section) {
        Some(Value::Object(map)) => {
            map.insert(key.to_string(), value);
        }
        None | Some(Value::Null) => {
            let mut map = Map::new();
            map.insert(key.to_string(), value);
            doc.insert(section.to_string(), Value::Object(map));
        }
        // A section of the wrong kind: leave it for the schema check to report.
        Some(_) => {}
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn overlay_list_matches_table() {
        let vars: Vec<&str> = OVERLAYS.iter().map(|o| o.var).collect();
        assert_eq!(vars, ENV_OVERLAY_VARS);
    }

    #[test]
    fn port_parsing_is_decimal_only() {
        assert!(port(" 8080 ", "V", "proxy.port").is_ok());
        for bad in ["", "0x1F", "1e3", "8080.0", "-1", "+80", "eighty"] {
            assert!(port(bad, "V", "proxy.port").is_err(), "{bad}");
        }
    }
}
