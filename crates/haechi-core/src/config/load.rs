//! Loading: parse → environment overlay → schema check → merge over the defaults →
//! cross-key rules → typed model. Every step fails closed with a [`ConfigError`].

use serde_json::Value;

use super::check::check_fields;
use super::defaults::default_config;
use super::error::{ConfigError, ConfigErrorKind};
use super::model::Config;
use super::parse::parse_document;
use super::schema::ROOT;
use super::{cross, overlay};

/// Parse, check and overlay a `haechi.config.json` text.
///
/// `env` returns the value of an environment variable; only the five `HAECHI_*` overlay
/// variables ([`super::ENV_OVERLAY_VARS`]) are ever asked for. A partial file is merged
/// over the defaults the way the reference merges it: per section, with `policy.actions`
/// and `audit.anchor` merged key by key.
pub fn load_config_str(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let mut doc = parse_document(text)?;
    overlay::apply(&mut doc, env)?;
    let checked = check_fields(ROOT, &doc, "")?;
    let mut merged = serde_json::to_value(default_config()).map_err(internal)?;
    merge(&mut merged, Value::Object(checked));
    cross::check(&merged)?;
    serde_json::from_value(merged).map_err(internal)
}

/// Objects merge key by key (recursively); anything else replaces. Given the defaults this
/// equals the reference's per-section spread: the only nested objects with non-empty
/// defaults are `policy.actions` and `audit.anchor`, which it merges too.
fn merge(base: &mut Value, patch: Value) {
    match (base, patch) {
        (Value::Object(base), Value::Object(patch)) => {
            for (key, value) in patch {
                match base.get_mut(&key) {
                    Some(slot) if slot.is_object() && value.is_object() => merge(slot, value),
                    _ => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, patch) => *base = patch,
    }
}

fn internal(err: serde_json::Error) -> ConfigError {
    // The checked tree should always fit the model; if not, say so without echoing data.
    let category = match err.classify() {
        serde_json::error::Category::Data => "a checked value did not fit the model",
        _ => "the defaults could not be represented",
    };
    ConfigError::new(
        ConfigErrorKind::Internal,
        "",
        None,
        format!("internal error while loading the config ({category}); please report this"),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_is_recursive_for_objects_and_replaces_others() {
        let mut base = json!({"a": {"x": 1, "y": 2}, "b": [1], "c": null});
        merge(&mut base, json!({"a": {"y": 3}, "b": [], "c": {"z": 1}}));
        assert_eq!(base, json!({"a": {"x": 1, "y": 3}, "b": [], "c": {"z": 1}}));
    }
}
