//! Strict JSON reading for the config file: a leading UTF-8 byte-order mark is skipped,
//! a duplicate key is an error (the last one would otherwise win silently), and the
//! common non-JSON habits (comments, single quotes, trailing commas) get a clear hint.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::error::{kind_of, safe_key, ConfigError, ConfigErrorKind};

/// Parse the config text into a JSON object tree.
pub(crate) fn parse_document(text: &str) -> Result<Map<String, Value>, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut de = serde_json::Deserializer::from_str(text);
    let value = StrictValue
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|err| syntax_error(text, &err))?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(ConfigError::new(
            ConfigErrorKind::Syntax,
            "",
            None,
            format!(
                "the config must be a JSON object {{ ... }} at the top level, found {}; \
                 start from the file `haechi init` writes",
                kind_of(&other)
            ),
        )),
    }
}

fn syntax_error(text: &str, err: &serde_json::Error) -> ConfigError {
    // serde_json's syntax messages are fixed phrases (plus our own duplicate-key text),
    // never a slice of the input; drop its position suffix and add ours.
    let full = err.to_string();
    let reason = match full.rfind(" at line ") {
        Some(cut) => &full[..cut],
        None => full.as_str(),
    };
    let hint = hint_at(text, err.line(), err.column());
    let message = if err.line() == 0 {
        format!("config is not valid JSON: {reason}{hint}")
    } else {
        format!(
            "config is not valid JSON: {reason} at line {} column {}{hint}",
            err.line(),
            err.column()
        )
    };
    ConfigError::new(ConfigErrorKind::Syntax, "", None, message)
}

/// A hint for the usual reasons a hand-edited file is not JSON.
fn hint_at(text: &str, line: usize, column: usize) -> &'static str {
    let rest = line
        .checked_sub(1)
        .and_then(|index| text.lines().nth(index))
        .map(|l| {
            let start = column.saturating_sub(1);
            l.char_indices()
                .find(|(i, _)| *i >= start)
                .map_or("", |(i, _)| &l[i..])
        })
        .unwrap_or("");
    if rest.starts_with("//") || rest.starts_with("/*") || rest.starts_with('#') {
        "; comments are not allowed in JSON, remove them"
    } else if rest.starts_with('\'') {
        "; JSON strings and keys need double quotes"
    } else {
        ""
    }
}

/// Builds a `serde_json::Value` like serde_json does, but refuses duplicate object keys.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate key \"{}\" (each key may appear once per object)",
                    safe_key(&key)
                )));
            }
            let value = map.next_value_seed(StrictValue)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "tests/parse.rs"]
mod tests;
