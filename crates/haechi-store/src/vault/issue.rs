//! Issuing a batch: token ids, envelopes and the records' JSON texts, all built on the caller's
//! thread before the database is written. Storing them is [`super::write`]'s job (one
//! transaction); until it succeeds the tokens must not leave the process.

use std::collections::HashSet;

use haechi_core::js_json::{js_stringify, push_string};
use haechi_core::seams::{Crypto, TokenRequest};
use serde_json::{json, Value};

use super::error::VaultError;
use super::ids::{self, SALT_LEN};
use super::{SqliteTokenVault, Tokenized};

/// When a batch's records were made and when they expire: one clock reading per batch.
pub(crate) struct Stamp {
    pub now_ms: i64,
    pub created_at: String,
    pub expires_at: String,
    pub expires_ms: i64,
}

impl Stamp {
    fn now(retention_days: f64) -> Result<Stamp, VaultError> {
        let now_ms = haechi_core::clock::now_ms();
        let expires_ms = haechi_core::clock::add_days(now_ms, retention_days).ok_or(
            VaultError::InvalidSettings("retentionDays puts token expiry outside years 1970-9999"),
        )?;
        let created_at = haechi_core::clock::iso(now_ms).ok_or(VaultError::InvalidSettings(
            "the system clock is outside years 1970-9999",
        ))?;
        let expires_at = haechi_core::clock::iso(expires_ms).ok_or(VaultError::InvalidSettings(
            "retentionDays puts token expiry outside years 1970-9999",
        ))?;
        Ok(Stamp {
            now_ms,
            created_at,
            expires_at,
            expires_ms,
        })
    }
}

/// A record about to be inserted: the envelope made and every JSON column written exactly as
/// the reference's `JSON.stringify` writes it.
pub(crate) struct NewRecord {
    pub token: String,
    pub detection_type: String,
    pub metadata: String,
    pub envelope: String,
    pub aad: String,
}

/// One planned change to the `tokens` table.
pub(crate) enum Row {
    /// A new record. A deterministic id stored meanwhile by another writer keeps that record
    /// (it holds the same value) and gets its expiry refreshed instead.
    Insert {
        record: NewRecord,
        deterministic: bool,
    },
    /// A deterministic id that was already stored: refresh its expiry.
    Refresh { token: String },
}

/// One payload's token records, ready to store in one transaction.
pub(crate) struct PreparedBatch {
    pub stamp: Stamp,
    pub rows: Vec<Row>,
}

/// What issuing produced: the records to store and the answer for the caller.
pub(crate) struct Issued {
    pub batch: PreparedBatch,
    pub tokens: Vec<Tokenized>,
}

/// What one request's token needs written.
#[derive(Clone, Copy)]
enum Need {
    Insert {
        deterministic: bool,
    },
    Refresh,
    /// An equal deterministic value earlier in the batch writes the record.
    Nothing,
}

/// Envelopes dominate issuing: a batch with this many new records builds them on several
/// threads (one payload can carry hundreds of thousands of values).
const PARALLEL_FROM: usize = 4096;
const MAX_BUILD_THREADS: usize = 4;

impl SqliteTokenVault {
    /// Issue ids and build records for `requests`; nothing is written. The only database access
    /// is one read for deterministic ids already stored (their records are reused).
    pub(crate) fn prepare(&self, requests: &[TokenRequest<'_>]) -> Result<Issued, VaultError> {
        let stamp = Stamp::now(self.settings.retention_days)?;
        let planned = self.plan_ids(requests)?;
        let needs = self.needs(&planned, stamp.now_ms)?;
        let inserts: Vec<(&TokenRequest<'_>, &str)> = requests
            .iter()
            .zip(&planned)
            .zip(&needs)
            .filter(|(_, need)| matches!(need, Need::Insert { .. }))
            .map(|((request, (token, _)), _)| (request, token.as_str()))
            .collect();
        let mut records = self.build_records(&inserts, &stamp.expires_at)?.into_iter();

        let mut rows = Vec::with_capacity(records.len());
        let mut tokens = Vec::with_capacity(requests.len());
        for ((token, _), need) in planned.into_iter().zip(needs) {
            let reused = match need {
                Need::Insert { deterministic } => {
                    let record = records
                        .next()
                        .ok_or(VaultError::Internal("fewer records built than planned"))?;
                    rows.push(Row::Insert {
                        record,
                        deterministic,
                    });
                    false
                }
                Need::Refresh => {
                    rows.push(Row::Refresh {
                        token: token.clone(),
                    });
                    true
                }
                Need::Nothing => true,
            };
            tokens.push(Tokenized { token, reused });
        }
        Ok(Issued {
            batch: PreparedBatch { stamp, rows },
            tokens,
        })
    }

    /// Equal deterministic values share one record: only the first one in the batch writes it,
    /// and an id already stored (and live) only has its expiry refreshed.
    fn needs(&self, planned: &[(String, bool)], now_ms: i64) -> Result<Vec<Need>, VaultError> {
        let deterministic: Vec<&str> = planned
            .iter()
            .filter(|(_, deterministic)| *deterministic)
            .map(|(token, _)| token.as_str())
            .collect();
        let stored = if deterministic.is_empty() {
            HashSet::new()
        } else {
            self.live_tokens(&deterministic, now_ms)?
        };
        let mut seen: HashSet<&str> = HashSet::new();
        Ok(planned
            .iter()
            .map(|(token, deterministic)| match deterministic {
                false => Need::Insert {
                    deterministic: false,
                },
                true if !seen.insert(token) => Need::Nothing,
                true if stored.contains(token) => Need::Refresh,
                true => Need::Insert {
                    deterministic: true,
                },
            })
            .collect())
    }

    /// The records of `inserts`, in order; large batches on several threads.
    fn build_records(
        &self,
        inserts: &[(&TokenRequest<'_>, &str)],
        expires_at: &str,
    ) -> Result<Vec<NewRecord>, VaultError> {
        let threads = match inserts.len() {
            n if n < PARALLEL_FROM => 1,
            _ => std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .min(MAX_BUILD_THREADS),
        };
        if threads <= 1 {
            return self.build_chunk(inserts, expires_at);
        }
        let size = inserts.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let mut parts = inserts.chunks(size);
            let first = parts.next().unwrap_or_default();
            let spawned: Vec<_> = parts
                .map(|part| {
                    let handle = std::thread::Builder::new()
                        .name("haechi-vault-issue".into())
                        .spawn_scoped(scope, move || self.build_chunk(part, expires_at));
                    (part, handle)
                })
                .collect();
            let mut built = vec![self.build_chunk(first, expires_at)];
            // Join every thread before looking at any result.
            for (part, handle) in spawned {
                built.push(match handle {
                    Ok(handle) => handle.join().unwrap_or_else(|_| Err(builder_failed())),
                    // No thread to be had: build that part here.
                    Err(_) => self.build_chunk(part, expires_at),
                });
            }
            let mut records = Vec::with_capacity(inserts.len());
            for part in built {
                records.extend(part?);
            }
            Ok(records)
        })
    }

    fn build_chunk(
        &self,
        inserts: &[(&TokenRequest<'_>, &str)],
        expires_at: &str,
    ) -> Result<Vec<NewRecord>, VaultError> {
        let mut aad = BatchAad::default();
        inserts
            .iter()
            .map(|(request, token)| {
                NewRecord::build(self.crypto.as_ref(), request, token, expires_at, &mut aad)
            })
            .collect()
    }

    /// Each request's token id and whether it is deterministic. Random ids draw their salts
    /// from the OS in one call for the whole batch.
    fn plan_ids(&self, requests: &[TokenRequest<'_>]) -> Result<Vec<(String, bool)>, VaultError> {
        let random = requests
            .iter()
            .filter(|r| !self.settings.is_deterministic(r.detection_type))
            .count();
        let salts = ids::random_salts(&self.rng, random)?;
        let mut salts = salts.chunks_exact(SALT_LEN);
        requests
            .iter()
            .map(|request| {
                if self.settings.is_deterministic(request.detection_type) {
                    let token = ids::deterministic_token(
                        self.crypto.as_ref(),
                        request.detection_type,
                        request.plaintext,
                    )?;
                    return Ok((token, true));
                }
                let salt = salts.next().ok_or(VaultError::Internal(
                    "fewer random salts than random tokens",
                ))?;
                let token = ids::random_token(salt, request.detection_type, request.plaintext);
                Ok((token, false))
            })
            .collect()
    }
}

impl NewRecord {
    fn build<'a>(
        crypto: &dyn Crypto,
        request: &TokenRequest<'a>,
        token: &str,
        expires_at: &str,
        aad: &mut BatchAad<'a>,
    ) -> Result<NewRecord, VaultError> {
        let (aad_value, context_text) = aad.of(request.context, token, request.detection_type);
        let envelope = crypto
            .encrypt(request.plaintext, aad_value, Some(expires_at))
            .map_err(VaultError::Crypto)?;
        Ok(NewRecord {
            aad: aad_text(token, request.detection_type, context_text),
            metadata: metadata_text(request.path, request.rule_id),
            envelope: envelope.to_json_text(),
            detection_type: request.detection_type.to_owned(),
            token: token.to_owned(),
        })
    }
}

fn builder_failed() -> VaultError {
    VaultError::Internal("a record builder thread stopped")
}

/// `JSON.stringify({purpose: "token-vault", token, type, context})` with the context's text
/// rendered once per batch.
fn aad_text(token: &str, detection_type: &str, context_text: &str) -> String {
    let mut out = String::with_capacity(64 + token.len() + context_text.len());
    out.push_str("{\"purpose\":\"token-vault\",\"token\":");
    push_string(&mut out, token);
    out.push_str(",\"type\":");
    push_string(&mut out, detection_type);
    out.push_str(",\"context\":");
    out.push_str(context_text);
    out.push('}');
    out
}

/// `JSON.stringify({path, ruleId})`.
fn metadata_text(path: &str, rule_id: &str) -> String {
    let mut out = String::with_capacity(24 + path.len() + rule_id.len());
    out.push_str("{\"path\":");
    push_string(&mut out, path);
    out.push_str(",\"ruleId\":");
    push_string(&mut out, rule_id);
    out.push('}');
    out
}

/// A record's AAD (`{purpose, token, type, context}`) as a value for the crypto provider and
/// the context's JSON text. Both are made once while the batch's requests share one context
/// value; each record then only sets its token and type.
#[derive(Default)]
struct BatchAad<'a> {
    context: Option<&'a Value>,
    value: Value,
    context_text: String,
}

impl<'a> BatchAad<'a> {
    fn of(&mut self, context: &'a Value, token: &str, detection_type: &str) -> (&Value, &str) {
        if !self.context.is_some_and(|seen| std::ptr::eq(seen, context)) {
            self.value = json!({
                "purpose": "token-vault",
                "token": "",
                "type": "",
                "context": context,
            });
            self.context_text = js_stringify(context);
            self.context = Some(context);
        }
        if let Value::Object(map) = &mut self.value {
            for (key, text) in [("token", token), ("type", detection_type)] {
                if let Some(slot) = map.get_mut(key) {
                    *slot = Value::String(text.to_owned());
                }
            }
        }
        (&self.value, &self.context_text)
    }
}

#[cfg(test)]
#[path = "tests/issue.rs"]
mod tests;
