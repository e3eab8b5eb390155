//! Reading a config file, with the `HAECHI_*` environment overlay and its signed policy bundle.

use std::fs;
use std::io;
use std::path::Path;

use haechi_core::config::{load_config_str, validate_policy_section, Config, PolicyConfig};
use haechi_crypto::{verify_policy_bundle, VerifiedBundle};

use super::AssemblyError;

/// Read and validate a config file (with the `HAECHI_*` environment overlay), then compile its
/// policy and custom rules so every semantic error surfaces at load, not at first use.
///
/// With `policy.bundlePath` the signed bundle is verified against `keys.keyFile` first and its
/// policy replaces the inline one (keeping the effective mode, `policy.mode ?? mode`); a bundle
/// that does not verify or whose policy is invalid refuses the whole config. There is no
/// fallback to the inline policy.
pub fn load_config(path: &Path) -> Result<Config, AssemblyError> {
    let mut config = load_config_without_bundle(path)?;
    apply_policy_bundle(&mut config).map_err(|error| {
        AssemblyError::Config(format!("policy.bundlePath in {}: {error}", path.display()))
    })?;
    haechi_core::protect::check_config(&config).map_err(|error| {
        AssemblyError::Config(format!("invalid config {}: {error}", path.display()))
    })?;
    Ok(config)
}

/// Replace the policy of a config that names `policy.bundlePath` with the bundle's, verified.
/// Applying it again (to a config [`load_config`] already loaded) changes nothing.
pub(crate) fn apply_policy_bundle(config: &mut Config) -> Result<(), AssemblyError> {
    let Some(bundle_path) = config.policy.bundle_path.clone() else {
        return Ok(());
    };
    let (_, mut policy) = load_verified_bundle(Path::new(&bundle_path), config)?;
    policy.mode = Some(config.effective_mode());
    policy.bundle_path = Some(bundle_path);
    config.policy = policy;
    Ok(())
}

/// Verify a policy bundle against the config's key file and check its policy as a `policy`
/// section. The policy's own `mode` is kept here; [`load_config`] replaces it.
pub fn load_verified_bundle(
    bundle_path: &Path,
    config: &Config,
) -> Result<(VerifiedBundle, PolicyConfig), AssemblyError> {
    let text = read_text_file(bundle_path, "policy bundle")?;
    let verified = verify_policy_bundle(&text, &config.keys.key_file).map_err(|error| {
        AssemblyError::Config(format!(
            "policy bundle {} refused: {error}",
            bundle_path.display()
        ))
    })?;
    let policy = check_bundle_policy(&verified.policy).map_err(|error| {
        AssemblyError::Config(format!(
            "policy bundle {} is signed but its policy is invalid: {error}; fix the policy and sign it again with `haechi policy-sign`",
            bundle_path.display()
        ))
    })?;
    Ok((verified, policy))
}

/// A bundled policy passes the same checks as an inline `policy` section, and may not point
/// at yet another bundle.
pub fn check_bundle_policy(policy: &serde_json::Value) -> Result<PolicyConfig, AssemblyError> {
    let checked = validate_policy_section(policy)
        .map_err(|error| AssemblyError::Config(error.to_string()))?;
    if checked.bundle_path.is_some() {
        return Err(AssemblyError::Config(
            "policy.bundlePath cannot be set inside a bundled policy; remove it".into(),
        ));
    }
    Ok(checked)
}

/// Read and validate a config file without loading `policy.bundlePath`: for the commands that
/// only need the key file to sign or verify bundles, so a broken bundle can still be replaced.
pub fn load_config_without_bundle(path: &Path) -> Result<Config, AssemblyError> {
    let text = read_text_file(path, "config file").map_err(|error| match error {
        AssemblyError::NotFound { what, path, .. } => AssemblyError::NotFound {
            what,
            path,
            hint: "run `haechi init` to create one or pass --config <path>",
        },
        other => other,
    })?;
    load_config_str(&text, &|name| std::env::var(name).ok()).map_err(|error| {
        AssemblyError::Config(format!("invalid config {}: {error}", path.display()))
    })
}

/// Read a UTF-8 text file, naming `what` it is in every error.
pub fn read_text_file(path: &Path, what: &'static str) -> Result<String, AssemblyError> {
    let bytes = fs::read(path).map_err(|error| match error.kind() {
        io::ErrorKind::NotFound => AssemblyError::NotFound {
            what,
            path: path.to_path_buf(),
            hint: "check the path",
        },
        io::ErrorKind::PermissionDenied => AssemblyError::File(format!(
            "cannot read {what} {}: permission denied; check its permissions",
            path.display()
        )),
        _ => AssemblyError::File(format!("cannot read {what} {}: {error}", path.display())),
    })?;
    String::from_utf8(bytes).map_err(|error| {
        AssemblyError::File(format!(
            "{what} {} is not UTF-8 text (invalid byte at offset {}); save it as UTF-8",
            path.display(),
            error.utf8_error().valid_up_to()
        ))
    })
}
