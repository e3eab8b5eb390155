//! Opening what a config names: the key file, the audit log, the token vault and the protect
//! pipeline over them.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use haechi_core::config::{Config, KeysProvider, TokenVaultProvider};
use haechi_core::protect::{Collaborators, Protector};
use haechi_core::seams::{IssuedTokens, ProviderError, TokenRequest, Tokenizer};
use haechi_crypto::{CryptoWarning, LocalKeyProvider};
use haechi_store::audit::{JsonlAuditSink, JsonlOptions};
use haechi_store::vault::{
    SqliteTokenVault, VaultSettings, VaultSync, VaultWriter, VaultWriterOptions,
};

use super::AssemblyError;

/// Where assembly reports what an operator should know as it happens (a key's nonce budget at
/// half, tokens imported from a reference vault): one line each. The CLI prints them to
/// stderr; [`log_notice`] sends them to the log.
pub type Notice = fn(&str);

/// The default [`Notice`]: a warning line in the gateway's log.
pub fn log_notice(line: &str) {
    tracing::warn!(event = "assembly_notice", notice = line);
}

/// Open the local key provider named by `keys.keyFile`.
pub fn open_keys(config: &Config, notice: Notice) -> Result<Arc<LocalKeyProvider>, AssemblyError> {
    match config.keys.provider {
        KeysProvider::Local => {}
        KeysProvider::External => {
            return Err(AssemblyError::Provider(
                "keys.provider is \"external\": the haechi CLI only ships the local key provider; an external provider is injected by a program that embeds Haechi as a library".into(),
            ))
        }
    }
    let warn = move |warning: &CryptoWarning| {
        notice(&format!(
            "haechi: warning [{}]: {}",
            warning.code, warning.message
        ));
    };
    let provider = LocalKeyProvider::open(&config.keys.key_file)
        .map_err(|error| AssemblyError::Provider(error.to_string()))?
        .with_warning_hook(warn);
    for warning in provider.take_warnings() {
        warn(&warning);
    }
    Ok(Arc::new(provider))
}

/// The JSONL audit log named by `audit.path`, synced as `audit.fsync` asks.
pub fn open_audit(config: &Config) -> Result<Arc<JsonlAuditSink>, AssemblyError> {
    let options = JsonlOptions::from_config(&config.audit)
        .map_err(|error| AssemblyError::Config(error.to_string()))?;
    let sink = JsonlAuditSink::new(&config.audit.path, options).map_err(|error| {
        AssemblyError::File(format!(
            "cannot open audit log {}: {error}",
            config.audit.path
        ))
    })?;
    Ok(Arc::new(sink))
}

/// The protect pipeline wired to the key file, the audit log and the vault (opened on first
/// use), for one-shot commands.
pub fn build_protector(
    config: &Config,
    keys: Arc<LocalKeyProvider>,
    notice: Notice,
) -> Result<Protector, AssemblyError> {
    let audit = open_audit(config)?;
    let vault = LazyVault::new(config, Arc::clone(&keys), notice);
    let collaborators = Collaborators {
        audit,
        crypto: Some(keys),
        tokenizer: Some(Arc::new(vault)),
    };
    Protector::new(config, collaborators)
        .map_err(|error| AssemblyError::Config(format!("invalid config: {error}")))
}

/// Records the nonces a process really used when it ends, by any path: gives back the unused
/// part of the key's nonce reservation, so the budget counts encryptions, not processes.
/// Explicit because a provider shared with threads that outlive the work would otherwise
/// give it back only when the last of them lets go (dropping the provider does it too).
pub struct ReleaseKeysOnExit(pub Arc<LocalKeyProvider>);

impl Drop for ReleaseKeysOnExit {
    fn drop(&mut self) {
        if let Err(error) = self.0.release_unused_budget() {
            // Never panic in a drop: a stderr that cannot be written (a full disk) loses the line.
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "haechi: warning: the unused part of the nonce reservation was not given back ({error}); the key's budget over-counts by at most one chunk, which is safe"
            );
        }
    }
}

/// The vault of `tokenVault.path`: our SQLite database beside it, after importing the reference
/// JSON vault found there (once per version of that file), so its tokens keep working.
pub fn open_vault(
    config: &Config,
    keys: Arc<LocalKeyProvider>,
    notice: Notice,
) -> Result<SqliteTokenVault, AssemblyError> {
    match config.token_vault.provider {
        TokenVaultProvider::Local => {}
    }
    let (vault, report) = SqliteTokenVault::open_configured(
        Path::new(&config.token_vault.path),
        keys,
        VaultSettings::from_config(&config.token_vault),
    )
    .map_err(|error| AssemblyError::Provider(error.to_string()))?;
    if let Some(report) = report.filter(|r| r.imported > 0) {
        notice(&format!(
            "haechi: note: imported {} tokens from the reference vault {} into {}",
            report.imported,
            config.token_vault.path,
            vault.path().display()
        ));
    }
    Ok(vault)
}

/// The group-commit writer in front of `vault`, syncing as `audit.fsync` asks.
pub fn spawn_vault_writer(
    vault: Arc<SqliteTokenVault>,
    config: &Config,
) -> Result<VaultWriter, AssemblyError> {
    let options = VaultWriterOptions {
        sync: VaultSync::from_config(&config.audit),
        ..VaultWriterOptions::default()
    };
    VaultWriter::spawn(vault, options).map_err(|error| {
        AssemblyError::Provider(format!("cannot start the token vault writer: {error}"))
    })
}

/// Opens the vault on first use, so work that never tokenizes creates no database.
pub struct LazyVault {
    config: Config,
    keys: Arc<LocalKeyProvider>,
    notice: Notice,
    group_commit: bool,
    vault: OnceLock<Result<Arc<dyn Tokenizer>, ProviderError>>,
}

impl LazyVault {
    pub fn new(config: &Config, keys: Arc<LocalKeyProvider>, notice: Notice) -> Self {
        LazyVault {
            config: config.clone(),
            keys,
            notice,
            group_commit: false,
            vault: OnceLock::new(),
        }
    }

    /// Store tokens through a [`VaultWriter`] once opened (a gateway: many requests at once).
    pub fn with_group_commit(mut self) -> Self {
        self.group_commit = true;
        self
    }

    fn get(&self) -> Result<&Arc<dyn Tokenizer>, ProviderError> {
        let vault = self.vault.get_or_init(|| {
            let vault = open_vault(&self.config, Arc::clone(&self.keys), self.notice);
            let vault = match (vault, self.group_commit) {
                (Ok(vault), false) => Ok(Arc::new(vault) as Arc<dyn Tokenizer>),
                (Ok(vault), true) => spawn_vault_writer(Arc::new(vault), &self.config)
                    .map(|writer| Arc::new(writer) as Arc<dyn Tokenizer>),
                (Err(error), _) => Err(error),
            };
            vault.map_err(|error| ProviderError::new("haechi_vault_unavailable", error.to_string()))
        });
        vault.as_ref().map_err(Clone::clone)
    }
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
