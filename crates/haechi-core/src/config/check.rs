//! The schema walker: checks a JSON tree against [`super::schema`] and returns it
//! normalized (integers written as `1.0` become `1`, keys whose `null` means "default" are
//! dropped), so the typed model can be deserialized from the result without surprises.

use serde_json::{Map, Value};

use super::error::{describe_choice, describe_number, safe_key, ConfigError, ConfigErrorKind};
use super::node::{integer, join, Field, Keys, Node, NullMeans, MAX_SAFE_INTEGER};
use super::schema::key_paths;

/// Check the keys of an object against `fields`.
pub(crate) fn check_fields(
    fields: &[Field],
    map: &Map<String, Value>,
    path: &str,
) -> Result<Map<String, Value>, ConfigError> {
    let mut out = Map::new();
    for (key, value) in map {
        let Some(field) = fields.iter().find(|f| f.name == key) else {
            return Err(unknown_key(fields, key, path));
        };
        if value.is_null() && null_means(&field.node) == Some(NullMeans::Default) {
            continue;
        }
        out.insert(key.clone(), check(&field.node, value, &join(path, key))?);
    }
    if let Some(absent) = fields
        .iter()
        .find(|f| f.required && !map.contains_key(f.name))
    {
        return Err(ConfigError::missing(
            &join(path, absent.name),
            format!("expected {}", expected(&absent.node)),
        ));
    }
    Ok(out)
}

fn null_means(node: &Node) -> Option<NullMeans> {
    match node {
        Node::OrNull(_, means) => Some(*means),
        Node::Section(_) => Some(NullMeans::Default),
        _ => None,
    }
}

/// Check one value against `node`; returns the normalized value.
pub(crate) fn check(node: &Node, value: &Value, path: &str) -> Result<Value, ConfigError> {
    match node {
        Node::Obj(fields) | Node::Section(fields) => match value {
            Value::Object(map) => Ok(Value::Object(check_fields(fields, map, path)?)),
            Value::Null if matches!(node, Node::Section(_)) => Ok(Value::Null),
            other => Err(kind_error(node, other, path)),
        },
        Node::Map { keys, value: item } => match value {
            Value::Object(map) => {
                let mut out = Map::new();
                for (key, entry) in map {
                    check_map_key(*keys, key, path)?;
                    out.insert(
                        key.clone(),
                        check(item, entry, &join(path, &safe_key(key)))?,
                    );
                }
                Ok(Value::Object(out))
            }
            other => Err(kind_error(node, other, path)),
        },
        Node::Text => match value {
            Value::String(s) if s.trim().is_empty() => Err(ConfigError::invalid(
                path,
                describe_choice(s),
                format!("expected {}", expected(node)),
            )),
            Value::String(_) => Ok(value.clone()),
            other => Err(kind_error(node, other, path)),
        },
        Node::OneOf(options) => match value {
            Value::String(s) if options.contains(&s.as_str()) => Ok(value.clone()),
            Value::String(s) => {
                let mut message = format!("expected {}", expected(node));
                if let Some(best) = closest(s, options.iter().copied()) {
                    message.push_str(&format!("; did you mean {best}?"));
                }
                Err(ConfigError::invalid(path, describe_choice(s), message))
            }
            other => Err(kind_error(node, other, path)),
        },
        Node::Bool => match value {
            Value::Bool(_) => Ok(value.clone()),
            other => Err(kind_error(node, other, path)),
        },
        Node::Int { min, max } => {
            let n = integer(value, path, &expected(node))?;
            if n < *min || n > *max {
                return Err(ConfigError::invalid(
                    path,
                    describe_number(value),
                    format!("expected {}", expected(node)),
                ));
            }
            Ok(Value::Number(n.into()))
        }
        Node::Num { min, max } => match value {
            Value::Number(n) => match n.as_f64() {
                Some(x) if x.is_finite() && x >= *min && x <= *max => Ok(value.clone()),
                _ => Err(ConfigError::invalid(
                    path,
                    describe_number(value),
                    format!("expected {}", expected(node)),
                )),
            },
            other => Err(kind_error(node, other, path)),
        },
        Node::List { item, min_len } => match value {
            Value::Array(items) => {
                if items.len() < *min_len {
                    return Err(ConfigError::invalid(
                        path,
                        "an empty array",
                        format!("expected {}", expected(node)),
                    ));
                }
                let checked = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| check(item, v, &format!("{path}[{i}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Value::Array(checked))
            }
            other => Err(kind_error(node, other, path)),
        },
        Node::OrNull(inner, _) => match value {
            Value::Null => Ok(Value::Null),
            other => check(inner, other, path).map_err(|e| {
                // A wrong kind here may also be null: say so.
                if e.kind() == ConfigErrorKind::WrongKind && e.location() == path {
                    kind_error(node, other, path)
                } else {
                    e
                }
            }),
        },
        Node::Custom { check, .. } => check(value, path),
    }
}

fn check_map_key(keys: Keys, key: &str, path: &str) -> Result<(), ConfigError> {
    if key.trim().is_empty() {
        return Err(ConfigError::invalid(
            path,
            "an empty key",
            "every key must be a non-empty name",
        ));
    }
    if keys == Keys::LabelPair {
        let ok = key
            .split_once('=')
            .is_some_and(|(k, v)| !k.trim().is_empty() && !v.trim().is_empty());
        if !ok {
            return Err(ConfigError::invalid(
                &join(path, &safe_key(key)),
                "a key without \"=\"",
                "label keys are written \"key=value\", e.g. \"tier=trusted\"",
            ));
        }
    }
    Ok(())
}

fn kind_error(node: &Node, value: &Value, path: &str) -> ConfigError {
    ConfigError::wrong_kind(path, value, format!("expected {}", expected(node)))
}

/// What a node accepts, in words.
pub(crate) fn expected(node: &Node) -> String {
    match node {
        Node::Obj(_) => "an object".into(),
        Node::Section(_) => "an object (or null for the defaults)".into(),
        Node::Map { value, .. } => format!("an object whose values are {}", expected(value)),
        Node::Text => "a non-empty string".into(),
        Node::OneOf(options) => format!("one of {}", options.join(" | ")),
        Node::Bool => "true or false".into(),
        Node::Int { min, max } => match (*min, *max) {
            (0, MAX_SAFE_INTEGER) => "a non-negative integer".into(),
            (1, MAX_SAFE_INTEGER) => "a positive integer".into(),
            (lo, hi) => format!("an integer from {lo} to {hi}"),
        },
        Node::Num { min, max } if *max >= MAX_SAFE_INTEGER as f64 => {
            format!("a number of at least {min}")
        }
        Node::Num { min, max } => format!("a number from {min} to {max}"),
        Node::List { item, min_len: 0 } => format!("an array of {}", items(item)),
        Node::List { item, .. } => format!("a non-empty array of {}", items(item)),
        Node::OrNull(inner, _) => format!("null or {}", expected(inner)),
        Node::Custom { expected, .. } => (*expected).into(),
    }
}

/// The items of a list, in words: "non-empty strings", "objects", ...
fn items(node: &Node) -> String {
    match node {
        Node::Text => "non-empty strings".into(),
        Node::OneOf(options) => format!("names from {}", options.join(" | ")),
        Node::Obj(_) | Node::Section(_) => "objects".into(),
        other => format!("items, each {}", expected(other)),
    }
}

fn unknown_key(fields: &[Field], key: &str, path: &str) -> ConfigError {
    let shown = join(path, &safe_key(key));
    let hint = if path.is_empty() && key == "$schema" {
        "Haechi does not read JSON Schema references; remove it".to_string()
    } else if key.starts_with("//") || key.starts_with('#') || key.eq_ignore_ascii_case("_comment")
    {
        "JSON has no comments and Haechi accepts no comment keys; remove it".to_string()
    } else if let Some(best) = closest(key, fields.iter().map(|f| f.name)) {
        format!("did you mean {}?", join(path, best))
    } else if let Some(elsewhere) = elsewhere(key, &shown) {
        format!("did you mean {elsewhere}?")
    } else {
        let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
        let place = if path.is_empty() {
            "at the top level"
        } else {
            "here"
        };
        format!("allowed keys {place}: {}", names.join(", "))
    };
    ConfigError::new(ConfigErrorKind::UnknownKey, shown, None, hint)
}

/// The closest allowed name, if one is close enough to be a likely typo.
fn closest<'a>(input: &str, options: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let lower = input.to_lowercase();
    let budget = (lower.chars().count() / 3).max(1);
    options
        .map(|option| {
            (
                strsim::damerau_levenshtein(&lower, &option.to_lowercase()),
                option,
            )
        })
        .filter(|(distance, _)| *distance <= budget)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, option)| option)
}

/// Where else in the schema a key of this name lives (a setting put in the wrong section).
fn elsewhere(key: &str, shown: &str) -> Option<String> {
    let matches: Vec<String> = key_paths()
        .into_iter()
        .filter(|p| {
            p != shown
                && p.rsplit('.')
                    .next()
                    .is_some_and(|last| last.eq_ignore_ascii_case(key))
        })
        .take(3)
        .collect();
    match matches.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        [init @ .., last] => Some(format!("{} or {last}", init.join(", "))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
#[path = "tests/check.rs"]
mod tests;
