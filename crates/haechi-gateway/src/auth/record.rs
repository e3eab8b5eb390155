//! The token store's JSON shape, shared with the reference (JavaScript) Haechi:
//! `{"version":1,"tokens":[{id,tokenHash,type,scopes,labels,createdAt,disabled}]}`.
//!
//! Reading is as lenient as the reference where it is safe (missing `tokens`, `scopes` or
//! `labels`, a `disabled` that is merely truthy) and strict where a guess could let a caller in
//! or mislabel one (a non-string hash, id or label value). Fields we do not know are kept and
//! written back, so a newer writer's additions survive our edits.

use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

/// The only store version there is.
pub const STORE_VERSION: u64 = 1;

/// The whole store file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreFile {
    #[serde(default = "default_version", deserialize_with = "version_or_default")]
    pub version: Value,
    #[serde(default, deserialize_with = "null_as_default")]
    pub tokens: Vec<TokenRecord>,
}

impl Default for StoreFile {
    fn default() -> Self {
        StoreFile {
            version: default_version(),
            tokens: Vec::new(),
        }
    }
}

fn default_version() -> Value {
    Value::from(STORE_VERSION)
}

/// `parsed.version ?? 1`: null counts as absent.
fn version_or_default<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
    let value = Value::deserialize(deserializer)?;
    Ok(if value.is_null() {
        default_version()
    } else {
        value
    })
}

/// One issued token: its keyed hash and PII-safe metadata, never the token itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    pub id: String,
    pub token_hash: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, deserialize_with = "null_as_default")]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    #[serde(default, deserialize_with = "js_truthy")]
    pub disabled: bool,
    /// Fields this version does not know, written back unchanged.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl TokenRecord {
    /// What `haechi auth list` shows: no token, no hash.
    pub fn public(&self) -> PublicRecord {
        PublicRecord {
            id: self.id.clone(),
            kind: self.kind.clone(),
            scopes: self.scopes.clone(),
            labels: self.labels.clone(),
            created_at: self.created_at.clone(),
            disabled: self.disabled,
        }
    }
}

/// A token's metadata as it may be shown: never the token or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicRecord {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub scopes: Vec<String>,
    pub labels: Labels,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    pub disabled: bool,
}

/// Labels in insertion order, serialized as a JSON object of strings. A repeated key keeps its
/// first position and takes the last value, as assigning to a JavaScript object does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    pub fn new() -> Self {
        Labels(Vec::new())
    }

    /// Set `key` to `value`, replacing an earlier value in place.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let (key, value) = (key.into(), value.into());
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn as_pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Labels {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut labels = Labels::new();
        for (key, value) in iter {
            labels.insert(key, value);
        }
        labels
    }
}

impl Serialize for Labels {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de> Deserialize<'de> for Labels {
    /// `labels ?? {}`; a non-string value is refused (it cannot have come from a valid writer).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = Option::<Map<String, Value>>::deserialize(deserializer)?.unwrap_or_default();
        let mut labels = Labels::new();
        for (key, value) in map {
            match value {
                Value::String(value) => labels.insert(key, value),
                _ => return Err(D::Error::custom("a label value is not a string")),
            }
        }
        Ok(labels)
    }
}

/// `null` reads as the type's default, as the reference's `?? []` does.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// The reference disables a record when `disabled` is truthy; any truthy value must therefore
/// disable it here too, or a store edited by hand could revive a revoked token.
fn js_truthy<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Null => false,
        Value::Bool(flag) => flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0 && !n.is_nan()),
        Value::String(text) => !text.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    })
}
