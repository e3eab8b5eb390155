//! Rules that span keys, checked on the merged tree (file over defaults) so a default can
//! satisfy them: the anchor path, profile bindings and the signed auth plugin.

use serde_json::{Map, Value};

use super::error::{ConfigError, ConfigErrorKind};
use super::node::join;

pub(crate) fn check(merged: &Value) -> Result<(), ConfigError> {
    anchor(merged)?;
    profiles(merged)?;
    auth_plugin(merged)
}

fn at<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(root, |node, key| node.get(key))
}

fn str_at<'a>(root: &'a Value, path: &str) -> Option<&'a str> {
    at(root, path).and_then(Value::as_str)
}

fn anchor(merged: &Value) -> Result<(), ConfigError> {
    if str_at(merged, "audit.anchor.mode") == Some("file")
        && str_at(merged, "audit.anchor.path").is_none()
    {
        return Err(ConfigError::missing(
            "audit.anchor.path",
            "audit.anchor.mode \"file\" needs a path for the anchor stream, e.g. .haechi/audit.anchor.jsonl",
        ));
    }
    Ok(())
}

fn profiles(merged: &Value) -> Result<(), ConfigError> {
    let empty = Map::new();
    let declared = at(merged, "policy.profiles")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let binding = at(merged, "policy.profileBinding").and_then(Value::as_object);
    let Some(binding) = binding else {
        if declared.is_empty() {
            return Ok(());
        }
        return Err(ConfigError::missing(
            "policy.profileBinding",
            "policy.profiles is set, so add a profileBinding whose default names the strictest profile",
        ));
    };
    match binding.get("default").and_then(Value::as_str) {
        None => {
            return Err(ConfigError::missing(
                "policy.profileBinding.default",
                "name the profile used when no scope or label matches (the strictest one)",
            ))
        }
        Some(name) if !declared.contains_key(name) => {
            return Err(ConfigError::conflict(
                "policy.profileBinding.default",
                "names a profile that policy.profiles does not declare",
            ))
        }
        Some(_) => {}
    }
    for map in ["byScope", "byLabel"] {
        let Some(entries) = binding.get(map).and_then(Value::as_object) else {
            continue;
        };
        for (key, target) in entries {
            let known = target
                .as_str()
                .is_some_and(|name| declared.contains_key(name));
            if !known {
                return Err(ConfigError::conflict(
                    &join(&join("policy.profileBinding", map), key),
                    "maps to a profile that policy.profiles does not declare",
                ));
            }
        }
    }
    Ok(())
}

fn auth_plugin(merged: &Value) -> Result<(), ConfigError> {
    if str_at(merged, "auth.provider") != Some("plugin") {
        return Ok(());
    }
    if at(merged, "plugins.enabled") != Some(&Value::Bool(true)) {
        return Err(ConfigError::conflict(
            "plugins.enabled",
            "auth.provider is \"plugin\" but plugins are disabled; set plugins.enabled to true or choose another auth.provider",
        ));
    }
    let Some(plugin) = at(merged, "auth.plugin").and_then(Value::as_object) else {
        return Err(ConfigError::missing(
            "auth.plugin",
            "auth.provider \"plugin\" needs an auth.plugin object (manifestPath, trustAnchors, allowCapabilities, timeoutMs)",
        ));
    };
    for key in [
        "manifestPath",
        "trustAnchors",
        "allowCapabilities",
        "timeoutMs",
    ] {
        if !plugin.contains_key(key) {
            return Err(ConfigError::missing(
                &join("auth.plugin", key),
                "required when auth.provider is \"plugin\"",
            ));
        }
    }
    let reads_credentials = plugin
        .get("allowCapabilities")
        .and_then(Value::as_array)
        .is_some_and(|caps| caps.iter().any(|c| c == "readsCredentials"));
    if !reads_credentials {
        return Err(ConfigError::new(
            ConfigErrorKind::InvalidValue,
            "auth.plugin.allowCapabilities",
            None,
            "an auth plugin must be allowed readsCredentials; add it",
        ));
    }
    let isolation = plugin
        .get("isolation")
        .and_then(Value::as_str)
        .unwrap_or("worker");
    let heap = plugin
        .get("resourceLimits")
        .and_then(|limits| limits.get("maxOldGenerationSizeMb"));
    if isolation == "worker" && heap.is_none() {
        return Err(ConfigError::missing(
            "auth.plugin.resourceLimits.maxOldGenerationSizeMb",
            "isolation \"worker\" needs a heap bound in megabytes",
        ));
    }
    Ok(())
}
