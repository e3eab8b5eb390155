//! Building the pipeline a command needs from a config file: config, keys, audit log, vault.
//! Each failure says which file is at fault and what to do.

use std::fs;
use std::io;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use anyhow::{anyhow, bail, Context as _, Result};
use haechi_core::config::{load_config_str, validate_policy_section, Config, PolicyConfig};
use haechi_core::protect::{Collaborators, Protector};
use haechi_core::seams::{IssuedTokens, ProviderError, TokenRequest, Tokenizer};
use haechi_crypto::{verify_policy_bundle, LocalKeyProvider, VerifiedBundle};
use haechi_store::audit::{JsonlAuditSink, JsonlOptions};
use haechi_store::vault::{
    SqliteTokenVault, VaultSettings, VaultSync, VaultWriter, VaultWriterOptions,
};

/// Read and validate a config file (with the `HAECHI_*` environment overlay), then compile its
/// policy and custom rules so every semantic error surfaces at load, not at first use.
///
/// With `policy.bundlePath` the signed bundle is verified against `keys.keyFile` first and its
/// policy replaces the inline one (keeping the effective mode, `policy.mode ?? mode`); a bundle
/// that does not verify or whose policy is invalid refuses the whole config. There is no
/// fallback to the inline policy.
pub fn load_config(path: &Path) -> Result<Config> {
    let mut config = load_config_without_bundle(path)?;
    if let Some(bundle_path) = config.policy.bundle_path.clone() {
        let (_, mut policy) = load_verified_bundle(Path::new(&bundle_path), &config)
            .map_err(|error| anyhow!("policy.bundlePath in {}: {error:#}", path.display()))?;
        policy.mode = Some(config.effective_mode());
        policy.bundle_path = Some(bundle_path);
        config.policy = policy;
    }
    haechi_core::protect::check_config(&config)
        .map_err(|error| anyhow!("invalid config {}: {error}", path.display()))?;
    Ok(config)
}

/// Verify a policy bundle against the config's key file and check its policy as a `policy`
/// section. The policy's own `mode` is kept here; [`load_config`] replaces it.
pub fn load_verified_bundle(
    bundle_path: &Path,
    config: &Config,
) -> Result<(VerifiedBundle, PolicyConfig)> {
    let text = read_text_file(bundle_path, "policy bundle")?;
    let verified = verify_policy_bundle(&text, &config.keys.key_file)
        .map_err(|error| anyhow!("policy bundle {} refused: {error}", bundle_path.display()))?;
    let policy = check_bundle_policy(&verified.policy).map_err(|error| {
        anyhow!(
            "policy bundle {} is signed but its policy is invalid: {error}; fix the policy and sign it again with `haechi policy-sign`",
            bundle_path.display()
        )
    })?;
    Ok((verified, policy))
}

/// A bundled policy passes the same checks as an inline `policy` section, and may not point
/// at yet another bundle.
pub fn check_bundle_policy(policy: &serde_json::Value) -> Result<PolicyConfig> {
    let checked = validate_policy_section(policy).map_err(|error| anyhow!("{error}"))?;
    if checked.bundle_path.is_some() {
        bail!("policy.bundlePath cannot be set inside a bundled policy; remove it");
    }
    Ok(checked)
}

/// Read and validate a config file without loading `policy.bundlePath`: for the commands that
/// only need the key file to sign or verify bundles, so a broken bundle can still be replaced.
pub fn load_config_without_bundle(path: &Path) -> Result<Config> {
    let text = read_text_file(path, "config file").map_err(|error| {
        if is_not_found(&error) {
            anyhow!(
                "config file {} not found; run `haechi init` to create one or pass --config <path>",
                path.display()
            )
        } else {
            error
        }
    })?;
    load_config_str(&text, &|name| std::env::var(name).ok())
        .map_err(|error| anyhow!("invalid config {}: {error}", path.display()))
}

/// Read a UTF-8 text file, naming `what` it is in every error.
pub fn read_text_file(path: &Path, what: &str) -> Result<String> {
    let bytes = fs::read(path).map_err(|error| io_error(error, what, path))?;
    String::from_utf8(bytes).map_err(|error| {
        anyhow!(
            "{what} {} is not UTF-8 text (invalid byte at offset {}); save it as UTF-8",
            path.display(),
            error.utf8_error().valid_up_to()
        )
    })
}

fn io_error(error: io::Error, what: &str, path: &Path) -> anyhow::Error {
    match error.kind() {
        io::ErrorKind::NotFound => anyhow!(NotFound(format!(
            "{what} {} not found; check the path",
            path.display()
        ))),
        io::ErrorKind::PermissionDenied => anyhow!(
            "cannot read {what} {}: permission denied; check its permissions",
            path.display()
        ),
        _ => anyhow!("cannot read {what} {}: {error}", path.display()),
    }
}

#[derive(Debug)]
struct NotFound(String);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotFound {}

pub fn is_not_found(error: &anyhow::Error) -> bool {
    error.downcast_ref::<NotFound>().is_some()
}

/// Open the local key provider named by `keys.keyFile`.
pub fn open_keys(config: &Config) -> Result<Arc<LocalKeyProvider>> {
    if config.keys.provider != "local" {
        bail!(
            "keys.provider is {:?}: the haechi CLI only ships the local key provider; an external provider is injected by a program that embeds Haechi as a library",
            config.keys.provider
        );
    }
    // Key warnings (nonce budget at half, budget not persistable, no active key) go to stderr
    // as they happen, one line each, like the reference's process warnings.
    let provider = LocalKeyProvider::open(&config.keys.key_file)
        .map_err(|error| anyhow!("{error}"))?
        .with_warning_hook(print_key_warning);
    provider.take_warnings().iter().for_each(print_key_warning);
    Ok(Arc::new(provider))
}

fn print_key_warning(warning: &haechi_crypto::CryptoWarning) {
    eprintln!("haechi: warning [{}]: {}", warning.code, warning.message);
}

/// The JSONL audit log named by `audit.path` (fsync after every batch).
pub fn open_audit(config: &Config) -> Result<Arc<JsonlAuditSink>> {
    let options = JsonlOptions::from_config(&config.audit).map_err(|error| anyhow!("{error}"))?;
    let sink = JsonlAuditSink::new(&config.audit.path, options)
        .with_context(|| format!("cannot open audit log {}", config.audit.path))?;
    Ok(Arc::new(sink))
}

/// The protect pipeline wired to the local key file, the audit log and the vault.
pub fn build_protector(config: &Config, keys: Arc<LocalKeyProvider>) -> Result<Protector> {
    let audit = open_audit(config)?;
    let vault = LazyVault::new(config, Arc::clone(&keys));
    let collaborators = Collaborators {
        audit,
        crypto: Some(keys),
        tokenizer: Some(Arc::new(vault)),
    };
    Protector::new(config, collaborators).map_err(|error| anyhow!("invalid config: {error}"))
}

/// Records the nonces a command really used when it ends, by any path: gives back the unused
/// part of the key's nonce reservation, so the budget counts encryptions, not processes.
/// Explicit because a provider shared with threads that outlive the command would otherwise
/// give it back only when the last of them lets go (dropping the provider does it too).
/// `main` returns its exit code instead of calling `std::process::exit`, so this always runs
/// at a normal exit; a killed process loses at most its current small chunk.
pub struct ReleaseKeysOnExit(pub Arc<LocalKeyProvider>);

impl Drop for ReleaseKeysOnExit {
    fn drop(&mut self) {
        if let Err(error) = self.0.release_unused_budget() {
            eprintln!(
                "haechi: warning: the unused part of the nonce reservation was not given back ({error}); the key's budget over-counts by at most one chunk, which is safe"
            );
        }
    }
}

/// The vault of `tokenVault.path`: our SQLite database beside it, after importing the reference
/// JSON vault found there (once per version of that file), so its tokens keep working.
pub fn open_vault(config: &Config, keys: Arc<LocalKeyProvider>) -> Result<SqliteTokenVault> {
    if config.token_vault.provider != "local" {
        bail!(
            "tokenVault.provider is {:?}: the haechi CLI only ships the local token vault",
            config.token_vault.provider
        );
    }
    let (vault, report) = SqliteTokenVault::open_configured(
        Path::new(&config.token_vault.path),
        keys,
        VaultSettings::from_config(&config.token_vault),
    )
    .map_err(|error| anyhow!("{error}"))?;
    if let Some(report) = report.filter(|r| r.imported > 0) {
        eprintln!(
            "haechi: note: imported {} tokens from the reference vault {} into {}",
            report.imported,
            config.token_vault.path,
            vault.path().display()
        );
    }
    Ok(vault)
}

/// Opens the vault on first use, so commands that never tokenize create no database.
pub struct LazyVault {
    config: Config,
    keys: Arc<LocalKeyProvider>,
    group_commit: bool,
    vault: OnceLock<Result<Arc<dyn Tokenizer>, ProviderError>>,
}

impl LazyVault {
    pub fn new(config: &Config, keys: Arc<LocalKeyProvider>) -> Self {
        LazyVault {
            config: config.clone(),
            keys,
            group_commit: false,
            vault: OnceLock::new(),
        }
    }

    /// Store tokens through a [`VaultWriter`] once opened (the gateway: many requests at once).
    pub fn with_group_commit(mut self) -> Self {
        self.group_commit = true;
        self
    }

    fn get(&self) -> Result<&Arc<dyn Tokenizer>, ProviderError> {
        let vault = self.vault.get_or_init(|| {
            let vault = open_vault(&self.config, Arc::clone(&self.keys));
            let vault = match (vault, self.group_commit) {
                (Ok(vault), false) => Ok(Arc::new(vault) as Arc<dyn Tokenizer>),
                (Ok(vault), true) => spawn_vault_writer(Arc::new(vault), &self.config)
                    .map(|writer| Arc::new(writer) as Arc<dyn Tokenizer>),
                (Err(error), _) => Err(error),
            };
            vault.map_err(|error| {
                ProviderError::new("haechi_vault_unavailable", format!("{error:#}"))
            })
        });
        vault.as_ref().map_err(Clone::clone)
    }
}

/// The group-commit writer in front of `vault`, syncing as `audit.fsync` asks.
pub fn spawn_vault_writer(vault: Arc<SqliteTokenVault>, config: &Config) -> Result<VaultWriter> {
    let options = VaultWriterOptions {
        sync: VaultSync::from_config(&config.audit),
        ..VaultWriterOptions::default()
    };
    VaultWriter::spawn(vault, options)
        .map_err(|error| anyhow!("cannot start the token vault writer: {error}"))
}

impl Tokenizer for LazyVault {
    fn tokenize(&self, requests: &[TokenRequest<'_>]) -> Result<Vec<String>, ProviderError> {
        self.get()?.tokenize(requests)
    }

    fn issue(&self, requests: &[TokenRequest<'_>]) -> Result<IssuedTokens, ProviderError> {
        self.get()?.issue(requests)
    }

    /// Opening the vault blocks; once open, the vault decides.
    fn issue_blocks(&self) -> bool {
        match self.vault.get() {
            Some(Ok(vault)) => vault.issue_blocks(),
            _ => true,
        }
    }
}
