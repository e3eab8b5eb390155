//! The vocabulary the config schema is written in: the kinds of node a key can hold, the
//! field record, and the small value checks every validator shares. The tables
//! ([`super::schema`]), the walker ([`super::check`]) and the named checks ([`super::rules`])
//! all build on this and on nothing of each other's but what flows downwards.

use serde_json::Value;

use super::error::{describe_number, ConfigError};

/// The largest integer a JavaScript number holds exactly; the reference cannot tell larger
/// integers apart, so neither do we accept them.
pub const MAX_SAFE_INTEGER: u64 = 9_007_199_254_740_991;

/// What `null` means where a key allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NullMeans {
    /// Same as leaving the key out: the default applies.
    Default,
    /// The setting is explicitly unset (`None` in the model).
    Unset,
}

/// What the keys of an open map must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keys {
    NonBlank,
    /// `"key=value"`, as identity labels are matched.
    LabelPair,
}

/// A custom check: validates `value` at `path` and returns its normalized form.
pub(crate) type CheckFn = fn(&Value, &str) -> Result<Value, ConfigError>;

pub(crate) enum Node {
    /// A closed object: every key must be one of `fields`.
    Obj(&'static [Field]),
    /// A top-level section: a closed object, or `null` for "all defaults".
    Section(&'static [Field]),
    /// An open object whose values all follow `value`.
    Map {
        keys: Keys,
        value: &'static Node,
    },
    /// A string with at least one non-whitespace character.
    Text,
    /// One string out of a fixed set.
    OneOf(&'static [&'static str]),
    Bool,
    /// An integer (JSON `1.0` counts, as JavaScript's `Number.isInteger` says) in `[min, max]`.
    Int {
        min: u64,
        max: u64,
    },
    /// A finite number in `[min, max]`.
    Num {
        min: f64,
        max: f64,
    },
    List {
        item: &'static Node,
        min_len: usize,
    },
    OrNull(&'static Node, NullMeans),
    Custom {
        check: CheckFn,
        expected: &'static str,
    },
}

pub(crate) struct Field {
    pub name: &'static str,
    pub node: Node,
    /// Must be present whenever its object is.
    pub required: bool,
}

/// `parent.child`, or `child` at the root.
pub(crate) fn join(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_string()
    } else {
        format!("{parent}.{child}")
    }
}

/// A whole, non-negative integer (`3` or `3.0`); anything else is refused with `expected`.
pub(crate) fn integer(value: &Value, path: &str, expected: &str) -> Result<u64, ConfigError> {
    let Value::Number(n) = value else {
        return Err(ConfigError::wrong_kind(
            path,
            value,
            format!("expected {expected}"),
        ));
    };
    if let Some(u) = n.as_u64() {
        return Ok(u);
    }
    let out_of_range =
        || ConfigError::invalid(path, describe_number(value), format!("expected {expected}"));
    if n.is_i64() {
        return Err(out_of_range());
    }
    match n.as_f64() {
        Some(x) if x.fract() == 0.0 && x >= 0.0 && x <= MAX_SAFE_INTEGER as f64 => Ok(x as u64),
        _ => Err(out_of_range()),
    }
}
