//! [`Gateway::from_config`]: the gateway a config describes, with every part it needs.

use std::sync::Arc;

use haechi_core::config::Config;
use haechi_core::protect::{Collaborators, Protector};
use haechi_core::seams::{AuditSink, Crypto, Tokenizer};
use haechi_store::audit::{check_writable, AuditWriter, WriterOptions};
use haechi_store::vault::TokenGovernance;

use super::config::apply_policy_bundle;
use super::parts::{log_notice, open_audit, open_keys, open_vault, spawn_vault_writer};
use super::{AssemblyError, LazyVault, Notice, ReleaseKeysOnExit};
use crate::gateway::{Detokenizer, Gateway, GatewayParts, OffloadedTokenizer};

/// A gateway built from a config, and what outlives serving: dropping `guard` (after the
/// server drained) appends every queued audit event and gives back the unused part of the
/// key's nonce reservation.
pub struct AssembledGateway {
    pub gateway: Gateway,
    pub guard: AssemblyGuard,
}

/// Flushes the audit writer, then releases the key budget, when dropped.
pub struct AssemblyGuard {
    audit: Arc<AuditWriter>,
    _keys: ReleaseKeysOnExit,
}

impl Drop for AssemblyGuard {
    fn drop(&mut self) {
        // Everything queued reaches the log before the keys are let go.
        self.audit.shutdown();
    }
}

impl Gateway {
    /// Assemble the gateway `config` describes: its signed policy bundle verified (never a
    /// fallback to the inline policy), the key file, the audit log behind one group-commit
    /// writer (refusing a log whose last line cannot be chained to), the token vault behind
    /// its writer, and auth. Notices (key budget warnings, a vault import) go to the log.
    pub fn from_config(config: Config) -> Result<AssembledGateway, AssemblyError> {
        Gateway::from_config_with(config, log_notice)
    }

    /// [`Gateway::from_config`], reporting notices through `notice`.
    pub fn from_config_with(
        mut config: Config,
        notice: Notice,
    ) -> Result<AssembledGateway, AssemblyError> {
        apply_policy_bundle(&mut config)?;
        // Refuse an invalid config before anything is opened or created on disk.
        haechi_core::protect::check_config(&config)
            .map_err(|error| AssemblyError::Config(format!("invalid config: {error}")))?;
        let keys = open_keys(&config, notice)?;
        // Declared before everything that shares the provider, so it is released last.
        let release = ReleaseKeysOnExit(Arc::clone(&keys));
        let crypto: Arc<dyn Crypto> = keys.clone();

        let sink = open_audit(&config)?;
        // A log that cannot take another record (a torn last line) would fail every request:
        // refuse to start and say how to repair it.
        sink.head().map_err(|error| {
            AssemblyError::File(format!("cannot start the gateway: {}", error.message))
        })?;
        let writer = Arc::new(
            AuditWriter::spawn(sink as Arc<dyn AuditSink>, WriterOptions::default()).map_err(
                |error| {
                    AssemblyError::Provider(format!(
                        "cannot start the audit writer thread: {error}"
                    ))
                },
            )?,
        );
        let audit: Arc<dyn AuditSink> = writer.clone();

        // The vault opens at startup when responses are detokenized (the gateway needs its
        // governance), otherwise on the first tokenized value. Tokens are stored through one
        // group-commit writer: concurrent requests share a transaction.
        let (tokenizer, detokenizer): (Arc<dyn Tokenizer>, Option<Arc<dyn Detokenizer>>) =
            if config.token_vault.detokenize_responses {
                let vault = Arc::new(open_vault(&config, keys.clone(), notice)?);
                let governance = TokenGovernance::new(
                    vault.clone(),
                    config.token_vault.reveal_policy,
                    audit.clone(),
                );
                let writer = spawn_vault_writer(vault, &config)?;
                (Arc::new(writer), Some(Arc::new(governance)))
            } else {
                let vault = LazyVault::new(&config, keys.clone(), notice).with_group_commit();
                (Arc::new(vault), None)
            };
        let collaborators = Collaborators {
            audit,
            crypto: Some(crypto.clone()),
            tokenizer: Some(Arc::new(OffloadedTokenizer(tokenizer))),
        };
        let protector = Protector::new(&config, collaborators)
            .map_err(|error| AssemblyError::Config(format!("invalid config: {error}")))?;
        let audit_path = std::path::PathBuf::from(&config.audit.path);
        let gateway = Gateway::new(GatewayParts {
            config,
            protector: Arc::new(protector),
            crypto,
            auth: None,
            rate_limiter: None,
            detokenizer,
            readiness: Some(Arc::new(move || check_writable(&audit_path).is_ok())),
        })?;
        Ok(AssembledGateway {
            gateway,
            guard: AssemblyGuard {
                audit: writer,
                _keys: release,
            },
        })
    }
}
