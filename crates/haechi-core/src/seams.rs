//! The seams: traits through which the pure pipeline reaches stateful collaborators
//! (keys, the token vault, the audit log). Implementations live in other crates
//! (`haechi-crypto`, `haechi-store`) or are supplied by a library user.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A failure reported by a provider. `code` is stable and machine-readable; `message` says what
/// went wrong and what to do. Neither may ever contain a payload value, token, key or credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub code: &'static str,
    pub message: String,
}

impl ProviderError {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        ProviderError {
            code,
            message: message.into(),
        }
    }
}

/// An AES-256-GCM envelope as the reference writes it (`v: 2`, AAD encoding `nfkc-json-v2`),
/// also able to carry a legacy `v: 1` envelope. Field order matches the reference's JSON so the
/// `[HAECHI_ENC:<base64url(JSON)>]` marker text has the same shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    #[serde(default = "legacy_version")]
    pub v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    pub iv: String,
    pub ct: String,
    pub tag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aad_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

fn legacy_version() -> u32 {
    1
}

impl Envelope {
    /// The envelope as `JSON.stringify` writes it, fields in the reference's order (v, alg, kid,
    /// iv, ct, tag, aadHash, aadEncoding, createdAt, expiresAt), absent ones left out.
    pub fn to_json_text(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("{\"v\":");
        out.push_str(&self.v.to_string());
        let mut field = |name: &str, value: Option<&str>| {
            if let Some(value) = value {
                out.push_str(",\"");
                out.push_str(name);
                out.push_str("\":");
                crate::js_json::push_string(&mut out, value);
            }
        };
        field("alg", self.alg.as_deref());
        field("kid", self.kid.as_deref());
        field("iv", Some(&self.iv));
        field("ct", Some(&self.ct));
        field("tag", Some(&self.tag));
        field("aadHash", self.aad_hash.as_deref());
        field("aadEncoding", self.aad_encoding.as_deref());
        field("createdAt", self.created_at.as_deref());
        field("expiresAt", self.expires_at.as_deref());
        out.push('}');
        out
    }

    /// `[HAECHI_ENC:<base64url(JSON)>]`: the text that replaces an encrypted value.
    pub fn to_marker(&self) -> String {
        use base64::Engine as _;
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.to_json_text());
        crate::markers::envelope(&body)
    }
}

/// Encryption and keyed hashing. Keys are loaded once by the implementation, never per call.
pub trait Crypto: Send + Sync {
    /// Encrypt `plaintext` bound to `aad` (any JSON value; canonicalized by the provider).
    /// `expires_at` (RFC 3339) is carried into the envelope and enforced on decrypt.
    fn encrypt(
        &self,
        plaintext: &str,
        aad: &Value,
        expires_at: Option<&str>,
    ) -> Result<Envelope, ProviderError>;

    /// Decrypt an envelope (v1 or v2) with the same `aad` it was made with.
    fn decrypt(&self, envelope: &Envelope, aad: &Value) -> Result<String, ProviderError>;

    /// Lowercase-hex HMAC-SHA256 of `data` under a key derived for `domain` (never the raw key).
    fn hmac_hex(&self, domain: &str, data: &[u8]) -> Result<String, ProviderError>;
}

/// One value to tokenize, with what the vault needs to bind and describe it.
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    pub plaintext: &'a str,
    pub detection_type: &'a str,
    /// The protect context (serialized as the reference does); bound into the record's AAD.
    pub context: &'a Value,
    /// The PII-safe path of the leaf (`key_<hash>...`), kept as record metadata.
    pub path: &'a str,
    pub rule_id: &'a str,
}

/// The token vault as protect sees it: turn values into opaque token ids (`tok_<type>_<hex>`).
pub trait Tokenizer: Send + Sync {
    /// Tokenize every request in one batch (one vault transaction); returns the token ids in order.
    fn tokenize(&self, requests: &[TokenRequest<'_>]) -> Result<Vec<String>, ProviderError>;

    /// Issue the ids and build the records of one batch without storing them yet, so the
    /// caller can commit them later (a gateway: alongside other requests' batches, without
    /// blocking its thread). By default the batch is stored at once.
    fn issue(&self, requests: &[TokenRequest<'_>]) -> Result<IssuedTokens, ProviderError> {
        Ok(IssuedTokens {
            tokens: self.tokenize(requests)?,
            pending: None,
        })
    }

    /// Whether [`Self::issue`] may wait on I/O (reading a database, opening a store). An async
    /// caller hands such a call to a thread that may block; one that only computes (ids,
    /// envelopes) it runs in place, which is much cheaper.
    fn issue_blocks(&self) -> bool {
        true
    }
}

/// The ids of a tokenized batch and, unless already stored, the records still to commit.
pub struct IssuedTokens {
    /// One id per request, in order.
    pub tokens: Vec<String>,
    /// `None` when the records are already stored.
    pub pending: Option<Box<dyn PendingTokens>>,
}

/// Receives the outcome of storing a batch of token records, exactly once.
pub type CommitDone = Box<dyn FnOnce(Result<(), ProviderError>) + Send>;

/// Token records issued but not stored. Their tokens must not leave the process before
/// [`PendingTokens::commit`] reports success: a token whose record is lost can never be revealed.
/// Dropping a batch uncommitted discards it.
pub trait PendingTokens: Send {
    /// Store every record of the batch (all or none), then call `done` — on this thread or on
    /// the store's writer thread — once they are durable, or with the reason they are not.
    fn commit(self: Box<Self>, done: CommitDone);

    /// Whether [`Self::commit`] writes on the calling thread (and so may block it on the disk);
    /// `false` when it only hands the batch to the store's own writer thread.
    fn commits_inline(&self) -> bool {
        true
    }
}

/// Commit `pending` and wait for the outcome.
pub fn commit_blocking(pending: Box<dyn PendingTokens>) -> Result<(), ProviderError> {
    let (sender, receiver) = std::sync::mpsc::sync_channel(1);
    pending.commit(Box::new(move |result| {
        let _ = sender.send(result);
    }));
    receiver.recv().unwrap_or_else(|_| Err(commit_abandoned()))
}

/// The error for a commit whose store went away without answering.
pub fn commit_abandoned() -> ProviderError {
    ProviderError::new(
        "haechi_token_vault_failed",
        "the token vault stopped before confirming the token records; nothing was forwarded",
    )
}

/// Where audit events go: one path for every event. Events arrive sanitized and rendered on
/// the caller's thread (a typed event's `prepare()`, or `PreparedEvent::from_map` for any other
/// JSON object); the sink chains them (with the math in [`crate::audit`]) and returns once the
/// event is appended under its durability policy. An error means the event is not in the log.
pub trait AuditSink: Send + Sync {
    fn record(&self, event: crate::audit::PreparedEvent) -> Result<(), ProviderError>;

    /// Record several events in order, as one unit where the sink can (one append). An error
    /// means the caller must treat none of them as recorded. By default, one by one.
    fn record_all(&self, events: Vec<crate::audit::PreparedEvent>) -> Result<(), ProviderError> {
        events.into_iter().try_for_each(|event| self.record(event))
    }

    /// Hand the event over without waiting: `done` gets the outcome once the event is appended
    /// (or failed), on whichever thread appends it — for async callers, which await a channel
    /// instead of blocking a thread. A sink that cannot take the event now answers at once.
    /// By default the event is recorded on this thread.
    fn submit(&self, event: crate::audit::PreparedEvent, done: AuditDone) {
        done(self.record(event));
    }

    /// Whether events can be recorded now (readiness): by default, yes.
    fn ready(&self) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Whether [`Self::record_all`] returns without waiting for the disk (no sync per append),
    /// so that a thread which must not block for long (an async runtime's) may append. By
    /// default, no.
    fn appends_without_sync(&self) -> bool {
        false
    }

    /// The store behind this sink that async callers may append their own batches to, on their
    /// own thread, instead of handing every event to [`Self::submit`]: offered by a writer
    /// thread whose store [appends without a sync](Self::appends_without_sync), where a
    /// hand-off per event costs more than the append itself. By default, none.
    fn direct_store(&self) -> Option<std::sync::Arc<dyn AuditSink>> {
        None
    }
}

/// Receives the outcome of appending one audit event, exactly once.
pub type AuditDone = Box<dyn FnOnce(Result<(), ProviderError>) + Send>;
