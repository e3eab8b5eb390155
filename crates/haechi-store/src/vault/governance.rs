//! Reveal and purge governance: `tokenVault.revealPolicy` gates manual reveal, and every
//! reveal, detokenize and purge decision becomes one audit event — token id, decision and
//! reason code, never a value.
//!
//! The events have the reference's shape (protocol `token-vault`, operations
//! `token-vault:reveal`, `token-vault:detokenize`, `token-vault:purge`,
//! `token-vault:purge-expired`), so `haechi report` and the reference's tools read them alike.

use std::fmt;
use std::sync::Arc;

use haechi_core::audit::{is_vault_token_id, VaultEvent};
use haechi_core::config::model::RevealPolicy;
use haechi_core::seams::AuditSink;
use serde::Serialize;
use serde_json::Value;

use super::error::VaultError;
use super::{Detokenized, Revealed, SqliteTokenVault, TokenMetadata};

/// The HMAC domain under which a `token` argument that is not a token id is audited.
pub const AUDIT_ID_DOMAIN: &str = "haechi:token-vault:audit-id:v1";
/// What stands for a non-token argument when no keyed digest can be made.
const REDACTED_NON_TOKEN: &str = "[REDACTED:non-token]";

const REVEAL: &str = "token-vault:reveal";
const DETOKENIZE: &str = "token-vault:detokenize";
const PURGE: &str = "token-vault:purge";
const PURGE_EXPIRED: &str = "token-vault:purge-expired";

/// The outcome of purging one token (the reference's `purge` result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Purged {
    pub token: String,
    /// Whether the token was in the vault.
    pub purged: bool,
    pub purged_at: String,
}

/// The outcome of purging every expired token (the reference's `purgeExpired` result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PurgedExpired {
    pub purged: u64,
    pub purged_at: String,
}

/// The vault behind its governance: what the CLI and the gateway call to reveal, restore
/// and purge tokens.
pub struct TokenGovernance {
    vault: Arc<SqliteTokenVault>,
    reveal_policy: RevealPolicy,
    audit: Arc<dyn AuditSink>,
}

impl fmt::Debug for TokenGovernance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenGovernance")
            .field("vault", &self.vault)
            .field("reveal_policy", &self.reveal_policy)
            .finish_non_exhaustive()
    }
}

/// One governance event before it is built.
struct Decision<'a> {
    operation: &'static str,
    decision: &'static str,
    token: Option<&'a str>,
    token_type: Option<&'a str>,
    reason: Option<String>,
    count: Option<u64>,
}

impl<'a> Decision<'a> {
    fn new(operation: &'static str, decision: &'static str) -> Self {
        Decision {
            operation,
            decision,
            token: None,
            token_type: None,
            reason: None,
            count: None,
        }
    }

    fn token(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }

    fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }
}

impl TokenGovernance {
    pub fn new(
        vault: Arc<SqliteTokenVault>,
        reveal_policy: RevealPolicy,
        audit: Arc<dyn AuditSink>,
    ) -> Self {
        TokenGovernance {
            vault,
            reveal_policy,
            audit,
        }
    }

    pub fn vault(&self) -> &Arc<SqliteTokenVault> {
        &self.vault
    }

    pub fn reveal_policy(&self) -> RevealPolicy {
        self.reveal_policy
    }

    /// Manual reveal under `tokenVault.revealPolicy`: refused (`reveal_denied`) when disabled;
    /// otherwise `reveal_allowed`, or `reveal_failed` with the reason code of the failure
    /// (`unknown_token`, `token_expired`, `decrypt_failed`, `reveal_error`). The plaintext is
    /// only returned once its `reveal_allowed` event is written.
    pub fn reveal(&self, token: &str) -> Result<Revealed, VaultError> {
        self.reveal_with_context(token, None)
    }

    /// [`Self::reveal`] with the AAD's `context` replaced (see
    /// [`SqliteTokenVault::reveal_with_context`]).
    pub fn reveal_with_context(
        &self,
        token: &str,
        context: Option<&Value>,
    ) -> Result<Revealed, VaultError> {
        if self.reveal_policy == RevealPolicy::Disabled {
            let refusal = VaultError::RevealDisabled;
            self.record(
                Decision::new(REVEAL, "reveal_denied")
                    .token(token)
                    .reason(refusal.reason_code()),
            )?;
            return Err(refusal);
        }
        match self.vault.reveal_with_context(token, context) {
            Ok(revealed) => {
                let allowed = Decision {
                    token_type: Some(&revealed.detection_type),
                    ..Decision::new(REVEAL, "reveal_allowed").token(token)
                };
                match self.record(allowed) {
                    Ok(()) => Ok(revealed),
                    Err(error) => {
                        // No audit trail, no plaintext. Best effort to log the failure too.
                        let _ = self.record(
                            Decision::new(REVEAL, "reveal_failed")
                                .token(token)
                                .reason("reveal_error"),
                        );
                        Err(error)
                    }
                }
            }
            Err(error) => {
                self.record(
                    Decision::new(REVEAL, "reveal_failed")
                        .token(token)
                        .reason(error.reason_code()),
                )?;
                Err(error)
            }
        }
    }

    /// Restores a request's tokens (not gated by the reveal policy: the caller limits it to
    /// the tokens that request issued). One event with the restored count.
    pub fn detokenize(&self, tokens: &[&str]) -> Result<Detokenized, VaultError> {
        let restored = self.vault.detokenize(tokens)?;
        let mut decision = Decision::new(DETOKENIZE, "detokenize");
        decision.count = Some(restored.values.len() as u64);
        if restored.skipped > 0 {
            decision = decision.reason(format!("{} tokens not restored", restored.skipped));
        }
        self.record(decision)?;
        Ok(restored)
    }

    /// Deletes one token (and prunes expired ones); audited as `purge` whether or not the
    /// token existed.
    pub fn purge(&self, token: &str) -> Result<Purged, VaultError> {
        let purged = self.vault.purge(token)?;
        self.record(Decision::new(PURGE, "purge").token(token))?;
        Ok(Purged {
            token: token.to_owned(),
            purged,
            purged_at: haechi_core::clock::iso_now(),
        })
    }

    /// Deletes every expired token; audited as `purge_expired` with the count.
    pub fn purge_expired(&self) -> Result<PurgedExpired, VaultError> {
        let purged = self.vault.purge_expired()?;
        let mut decision = Decision::new(PURGE_EXPIRED, "purge_expired");
        decision.count = Some(purged);
        self.record(decision)?;
        Ok(PurgedExpired {
            purged,
            purged_at: haechi_core::clock::iso_now(),
        })
    }

    /// Token metadata, never values (not audited, as in the reference).
    pub fn export_metadata(
        &self,
        type_filter: Option<&str>,
    ) -> Result<Vec<TokenMetadata>, VaultError> {
        self.vault.export_metadata(type_filter)
    }

    fn record(&self, decision: Decision<'_>) -> Result<(), VaultError> {
        let name = decision.decision;
        let event = self.event(decision).prepare();
        self.audit
            .record(event)
            .map_err(|source| VaultError::Audit {
                decision: name,
                source,
            })
    }

    fn event(&self, decision: Decision<'_>) -> VaultEvent {
        VaultEvent {
            id: uuid::Uuid::new_v4().to_string(),
            timestamp: haechi_core::clock::iso_now(),
            operation: decision.operation.to_owned(),
            blocked: decision.decision.ends_with("_denied"),
            decision: decision.decision.to_owned(),
            reason: decision.reason,
            token: decision.token.map(|token| self.audit_token(token)),
            token_type: decision.token_type.map(str::to_owned),
            count: decision.count,
            reveal_policy: reveal_policy_name(self.reveal_policy).to_owned(),
        }
    }

    /// A token id is recorded verbatim for correlation; anything else (a raw value passed by
    /// mistake) only as a keyed digest, so it can never reach the log.
    fn audit_token(&self, token: &str) -> String {
        if is_vault_token_id(token) {
            return token.to_owned();
        }
        match self
            .vault
            .crypto()
            .hmac_hex(AUDIT_ID_DOMAIN, token.as_bytes())
        {
            Ok(digest) if digest.len() >= 32 && digest.is_char_boundary(32) => {
                format!("nontoken_{}", &digest[..32])
            }
            _ => REDACTED_NON_TOKEN.to_owned(),
        }
    }
}

/// The token id in `text`: a `[TOKEN:tok_…]` marker as protect writes it, or the id itself.
pub fn token_id_from_marker(text: &str) -> &str {
    haechi_core::markers::token_id(text).unwrap_or(text)
}

/// `tokenVault.revealPolicy` as the config file spells it.
pub fn reveal_policy_name(policy: RevealPolicy) -> &'static str {
    match policy {
        RevealPolicy::Disabled => "disabled",
        RevealPolicy::LocalDev => "local-dev",
    }
}
