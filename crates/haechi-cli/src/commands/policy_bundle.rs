//! `haechi policy-sign <policy.json> [--out]` and `haechi policy-verify <bundle>`: signed
//! policy bundles under the configured key file, in the reference's format and JSON output.

use std::io::Write as _;
use std::path::Path;

use anyhow::{anyhow, bail, Context as _, Result};
use haechi_crypto::PolicyBundleKeys;
use serde_json::{json, Number, Value};

use crate::output::write_json;
use crate::runtime::{
    check_bundle_policy, load_config_without_bundle, load_verified_bundle, read_text_file,
};

/// Sign a policy file with the active key and write the bundle to `out`.
pub(crate) fn sign(policy_path: Option<&Path>, config_path: &Path, out: &Path) -> Result<u8> {
    let Some(policy_path) = policy_path else {
        bail!("policy-sign requires a policy JSON file path: haechi policy-sign <policy.json> [--out policy.bundle.json]");
    };
    let config = load_config_without_bundle(config_path)?;
    let text = read_text_file(policy_path, "policy file")?;
    let policy = parse_json(&text)
        .map_err(|reason| anyhow!("policy file {} {reason}", policy_path.display()))?;
    // Refuse now what every loader would refuse later: a signed but unusable bundle helps no one.
    check_bundle_policy(&policy).map_err(|error| {
        anyhow!(
            "policy file {} is not a valid policy: {error:#}; fix it and sign again",
            policy_path.display()
        )
    })?;
    let keys = PolicyBundleKeys::open(&config.keys.key_file).map_err(|error| anyhow!("{error}"))?;
    let bundle = keys.sign(policy).map_err(|error| anyhow!("{error}"))?;
    write_file(out, &bundle.to_file_text())?;
    write_json(&json!({
        "ok": true,
        "command": "policy-sign",
        "outPath": out.display().to_string(),
        "kid": bundle.kid,
        "signedAt": bundle.signed_at,
    }))?;
    Ok(super::EXIT_OK)
}

/// Verify a bundle against the configured key file and print what it vouches for.
pub(crate) fn verify(bundle_path: Option<&Path>, config_path: &Path) -> Result<u8> {
    let Some(bundle_path) = bundle_path else {
        bail!("policy-verify requires a policy bundle JSON file path: haechi policy-verify <policy.bundle.json>");
    };
    let config = load_config_without_bundle(config_path)?;
    let (verified, _) = load_verified_bundle(bundle_path, &config)?;
    write_json(&json!({
        "ok": true,
        "command": "policy-verify",
        "bundlePath": bundle_path.display().to_string(),
        "result": {
            "valid": true,
            "kid": verified.kid,
            "signedAt": verified.signed_at,
            "policy": js_integers(verified.policy),
        },
    }))?;
    Ok(super::EXIT_OK)
}

/// `JSON.parse` semantics (what the signer's canonical text is computed from); on a syntax
/// error only the position is reported, never the text.
fn parse_json(text: &str) -> Result<Value, String> {
    if let Err(error) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err(format!(
            "is not valid JSON (line {}, column {}); fix the syntax",
            error.line(),
            error.column()
        ));
    }
    haechi_core::audit::parse_js_json(text.as_bytes())
        .ok_or_else(|| "is not valid JSON; fix the syntax".to_string())
}

/// Whole numbers read as doubles (`60.0`) are printed as JavaScript prints them (`60`).
fn js_integers(value: Value) -> Value {
    const SAFE: f64 = 9_007_199_254_740_991.0;
    match value {
        Value::Number(n) if n.is_f64() => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() <= SAFE => Value::Number(Number::from(f as i64)),
            _ => Value::Number(n),
        },
        Value::Array(items) => Value::Array(items.into_iter().map(js_integers).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, item)| (key, js_integers(item)))
                .collect(),
        ),
        other => other,
    }
}

/// Replace `path` atomically (temporary file in the same directory, then rename).
fn write_file(path: &Path, text: &str) -> Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let mut file = tempfile::NamedTempFile::new_in(directory).with_context(|| {
        format!(
            "cannot write the bundle {}: its directory {} is missing or not writable",
            path.display(),
            directory.display()
        )
    })?;
    // A bundle is not secret (it is signed, not encrypted): readable like any config file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .with_context(|| format!("cannot write the bundle {}", path.display()))?;
    }
    file.write_all(text.as_bytes())
        .and_then(|()| file.as_file().sync_all())
        .with_context(|| format!("cannot write the bundle {}", path.display()))?;
    file.persist(path).map_err(|error| {
        anyhow!(
            "cannot write the bundle {}: {}",
            path.display(),
            error.error
        )
    })?;
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "tests/policy_bundle.rs"]
mod tests;
