//! Token rows: building, storing and reading them back as the reference's records.

use std::path::Path;

use haechi_core::audit::js_stringify;
use haechi_core::seams::{Crypto, Envelope};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use serde_json::{Map, Value};

use super::error::VaultError;

/// Metadata keys that could carry a value; dropped on write and on export (the reference's
/// `sanitizeMetadata`).
const METADATA_FORBIDDEN: [&str; 3] = ["value", "plaintext", "payload"];

/// A stored token record.
#[derive(Clone, PartialEq)]
pub struct VaultRecord {
    pub token: String,
    pub detection_type: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub expires_ms: Option<i64>,
    pub metadata: Value,
    pub envelope: Value,
    pub aad: Value,
}

impl std::fmt::Debug for VaultRecord {
    // The AAD holds the protect context; keep it and the envelope out of debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultRecord")
            .field("detection_type", &self.detection_type)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl VaultRecord {
    /// Expired when `expiresAt` is strictly before `now` (a record without one never expires).
    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expires_ms.is_some_and(|expires| expires < now_ms)
    }

    /// The record as an entry of the reference's `token-vault.json` `tokens` map.
    pub fn to_reference_json(&self) -> Value {
        let mut out = Map::new();
        out.insert("type".into(), Value::String(self.detection_type.clone()));
        out.insert("createdAt".into(), Value::String(self.created_at.clone()));
        if let Some(expires_at) = &self.expires_at {
            out.insert("expiresAt".into(), Value::String(expires_at.clone()));
        }
        out.insert("metadata".into(), self.metadata.clone());
        out.insert("envelope".into(), self.envelope.clone());
        out.insert("aad".into(), self.aad.clone());
        Value::Object(out)
    }

    pub(crate) fn decrypt(
        &self,
        crypto: &dyn Crypto,
        context: Option<&Value>,
    ) -> Result<String, VaultError> {
        let envelope: Envelope = serde_json::from_value(self.envelope.clone())
            .map_err(|_| VaultError::Corrupt { what: "envelope" })?;
        let mut aad = self.aad.clone();
        if let (Some(context), Value::Object(map)) = (context, &mut aad) {
            map.insert("context".into(), context.clone());
        }
        crypto
            .decrypt(&envelope, &aad)
            .map_err(|_| VaultError::DecryptFailed)
    }
}

/// Metadata of one token, as `exportMetadata` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenMetadata {
    pub token: String,
    #[serde(rename = "type")]
    pub detection_type: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    pub metadata: Value,
}

pub(crate) fn exists(conn: &Connection, token: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM tokens WHERE token = ?1")?
        .query_row([token], |_| Ok(()))
        .optional()
        .map(|found| found.is_some())
}

/// Calls `each` with every one of `tokens` that is stored (one prepared statement).
pub(crate) fn for_each_stored<'t>(
    conn: &Connection,
    tokens: &[&'t str],
    mut each: impl FnMut(&'t str),
) -> rusqlite::Result<()> {
    let mut statement = conn.prepare_cached("SELECT 1 FROM tokens WHERE token = ?1")?;
    for token in tokens {
        if statement.exists([token])? {
            each(token);
        }
    }
    Ok(())
}

/// Calls `each` with every token expired at `now_ms` (through the expiry index).
pub(crate) fn for_each_expired(
    conn: &Connection,
    now_ms: i64,
    mut each: impl FnMut(&str),
) -> rusqlite::Result<()> {
    let mut statement = conn.prepare_cached(
        "SELECT token FROM tokens WHERE expires_ms IS NOT NULL AND expires_ms < ?1",
    )?;
    let mut rows = statement.query([now_ms])?;
    while let Some(row) = rows.next()? {
        each(row.get_ref(0)?.as_str()?);
    }
    Ok(())
}

/// Inserts a record read from elsewhere (an import); an existing token is kept.
pub(crate) fn insert_existing(conn: &Connection, record: &VaultRecord) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO tokens (token, type, created_at, expires_at, expires_ms, metadata, envelope, aad)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        record.token,
        record.detection_type,
        record.created_at,
        record.expires_at,
        record.expires_ms,
        js_stringify(&record.metadata),
        js_stringify(&record.envelope),
        js_stringify(&record.aad)
    ])
    .map(|changed| changed > 0)
}

pub(crate) fn delete(conn: &Connection, token: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("DELETE FROM tokens WHERE token = ?1")?
        .execute([token])
        .map(|changed| changed > 0)
}

pub(crate) fn prune_expired(conn: &Connection, now_ms: i64) -> rusqlite::Result<u64> {
    conn.prepare_cached("DELETE FROM tokens WHERE expires_ms IS NOT NULL AND expires_ms < ?1")?
        .execute([now_ms])
        .map(|changed| changed as u64)
}

pub(crate) fn load(
    conn: &Connection,
    path: &Path,
    token: &str,
) -> Result<Option<VaultRecord>, VaultError> {
    let row = conn
        .prepare_cached(
            "SELECT token, type, created_at, expires_at, expires_ms, metadata, envelope, aad
             FROM tokens WHERE token = ?1",
        )
        .and_then(|mut statement| statement.query_row([token], raw_row).optional())
        .map_err(|source| database(path, source))?;
    row.map(RawRow::into_record).transpose()
}

pub(crate) fn metadata(
    conn: &Connection,
    path: &Path,
    type_filter: Option<&str>,
) -> Result<Vec<TokenMetadata>, VaultError> {
    let mut statement = conn
        .prepare_cached(
            "SELECT token, type, created_at, expires_at, metadata FROM tokens
             WHERE ?1 IS NULL OR type = ?1 ORDER BY rowid",
        )
        .map_err(|source| database(path, source))?;
    let rows = statement
        .query_map([type_filter], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Option<String>>(3)?,
                row.get::<_, String>(4)?,
            ))
        })
        .map_err(|source| database(path, source))?;
    let mut out = Vec::new();
    for row in rows {
        let (token, detection_type, created_at, expires_at, metadata) =
            row.map_err(|source| database(path, source))?;
        out.push(TokenMetadata {
            token,
            detection_type,
            created_at,
            expires_at,
            metadata: sanitize_metadata(parse(&metadata, "metadata")?),
        });
    }
    Ok(out)
}

pub(crate) fn sanitize_metadata(metadata: Value) -> Value {
    match metadata {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(key, _)| !METADATA_FORBIDDEN.contains(&key.as_str()))
                .collect(),
        ),
        _ => Value::Object(Map::new()),
    }
}

struct RawRow {
    token: String,
    detection_type: String,
    created_at: String,
    expires_at: Option<String>,
    expires_ms: Option<i64>,
    metadata: String,
    envelope: String,
    aad: String,
}

fn raw_row(row: &Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        token: row.get(0)?,
        detection_type: row.get(1)?,
        created_at: row.get(2)?,
        expires_at: row.get(3)?,
        expires_ms: row.get(4)?,
        metadata: row.get(5)?,
        envelope: row.get(6)?,
        aad: row.get(7)?,
    })
}

impl RawRow {
    fn into_record(self) -> Result<VaultRecord, VaultError> {
        Ok(VaultRecord {
            token: self.token,
            detection_type: self.detection_type,
            created_at: self.created_at,
            expires_at: self.expires_at,
            expires_ms: self.expires_ms,
            metadata: parse(&self.metadata, "metadata")?,
            envelope: parse(&self.envelope, "envelope")?,
            aad: parse(&self.aad, "aad")?,
        })
    }
}

fn parse(text: &str, what: &'static str) -> Result<Value, VaultError> {
    serde_json::from_str(text).map_err(|_| VaultError::Corrupt { what })
}

fn database(path: &Path, source: rusqlite::Error) -> VaultError {
    VaultError::Database {
        action: "read",
        path: path.to_path_buf(),
        source,
    }
}
