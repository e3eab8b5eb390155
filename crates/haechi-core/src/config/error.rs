//! The one error type of configuration loading.
//!
//! Every message is a single line that names where the problem is (a key path such as
//! `proxy.tls.keyFile`, or an environment variable), what was found and what is allowed.
//! What was found is described by its JSON kind; a value is echoed only when it is a number
//! in a numeric setting or a short string in a fixed-choice setting, so a secret that landed
//! in the wrong key is never printed.

use std::fmt;

use serde_json::Value;

/// What kind of problem a [`ConfigError`] reports. Stable: callers may match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The text is not JSON (syntax error, comment, duplicate key, ...).
    Syntax,
    /// A key that is not part of the schema.
    UnknownKey,
    /// A value of the wrong JSON kind (a string where a number belongs, ...).
    WrongKind,
    /// A value of the right kind that is not allowed (out of range, empty, unknown name).
    InvalidValue,
    /// A required key is missing.
    Missing,
    /// Settings that contradict each other or name something undeclared.
    Conflict,
    /// `configVersion` is newer than this build understands.
    UnsupportedVersion,
    /// A `HAECHI_*` environment overlay value is invalid.
    Env,
    /// The loader produced a tree the typed model rejected (a bug in Haechi, not the file).
    Internal,
}

impl ConfigErrorKind {
    /// A stable machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            ConfigErrorKind::Syntax => "haechi_config_syntax",
            ConfigErrorKind::UnknownKey => "haechi_config_unknown_key",
            ConfigErrorKind::WrongKind => "haechi_config_wrong_kind",
            ConfigErrorKind::InvalidValue => "haechi_config_invalid_value",
            ConfigErrorKind::Missing => "haechi_config_missing_key",
            ConfigErrorKind::Conflict => "haechi_config_conflict",
            ConfigErrorKind::UnsupportedVersion => "haechi_config_unsupported_version",
            ConfigErrorKind::Env => "haechi_config_env",
            ConfigErrorKind::Internal => "haechi_config_internal",
        }
    }
}

/// A configuration that cannot be used. `Display` is one line meant for an operator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    kind: ConfigErrorKind,
    location: String,
    found: Option<String>,
    expected: String,
}

impl ConfigError {
    pub(crate) fn new(
        kind: ConfigErrorKind,
        location: impl Into<String>,
        found: Option<String>,
        expected: impl Into<String>,
    ) -> ConfigError {
        ConfigError {
            kind,
            location: location.into(),
            found,
            expected: expected.into(),
        }
    }

    /// A value of the wrong JSON kind at `path`.
    pub(crate) fn wrong_kind(path: &str, value: &Value, expected: impl Into<String>) -> Self {
        ConfigError::new(
            ConfigErrorKind::WrongKind,
            path,
            Some(kind_of(value).to_string()),
            expected,
        )
    }

    /// A value of the right kind that is not allowed; `found` must already be value-safe.
    pub(crate) fn invalid(
        path: &str,
        found: impl Into<String>,
        expected: impl Into<String>,
    ) -> Self {
        ConfigError::new(
            ConfigErrorKind::InvalidValue,
            path,
            Some(found.into()),
            expected,
        )
    }

    pub(crate) fn missing(path: &str, expected: impl Into<String>) -> Self {
        ConfigError::new(ConfigErrorKind::Missing, path, None, expected)
    }

    pub(crate) fn conflict(path: &str, expected: impl Into<String>) -> Self {
        ConfigError::new(ConfigErrorKind::Conflict, path, None, expected)
    }

    /// Re-label an error found while checking an environment variable's value.
    pub(crate) fn in_env(mut self, var: &str, key: &str) -> Self {
        self.kind = ConfigErrorKind::Env;
        self.location = format!("{var} (overlays {key})");
        self
    }

    pub fn kind(&self) -> ConfigErrorKind {
        self.kind
    }

    /// Where the problem is: a key path (`proxy.port`), `HAECHI_PROXY_PORT (overlays proxy.port)`
    /// for the environment, or empty for the document as a whole.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// What was found, value-safe (`string`, `number 70000`, ...), when it helps.
    pub fn found(&self) -> Option<&str> {
        self.found.as_deref()
    }

    /// What is allowed, or what to do.
    pub fn expected(&self) -> &str {
        &self.expected
    }

    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            ConfigErrorKind::UnknownKey => {
                write!(f, "unknown key {}; {}", self.location, self.expected)
            }
            ConfigErrorKind::Missing => {
                write!(f, "missing key {}; {}", self.location, self.expected)
            }
            ConfigErrorKind::Syntax | ConfigErrorKind::Internal if self.location.is_empty() => {
                f.write_str(&self.expected)
            }
            _ => {
                let location = if self.location.is_empty() {
                    "config"
                } else {
                    &self.location
                };
                match &self.found {
                    Some(found) => write!(f, "{location}: found {found}; {}", self.expected),
                    None => write!(f, "{location}: {}", self.expected),
                }
            }
        }
    }
}

/// The JSON kind of a value, as the messages name it.
pub(super) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `string "yolo"` when the text looks like a mistyped name (short, name characters, few
/// digits), which is safe and useful to show for a fixed-choice setting; else just `string`.
/// Anything credential-shaped is described, never shown.
pub(crate) fn describe_choice(text: &str) -> String {
    let name_like = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | '*' | ':' | '='));
    let digits = text.chars().filter(char::is_ascii_digit).count();
    if text.trim().is_empty() {
        "an empty string".to_string()
    } else if name_like && text.len() <= 24 && digits <= 4 {
        format!("string \"{text}\"")
    } else {
        "string".to_string()
    }
}

/// `number 70000` (numbers in numeric settings are not secrets).
pub(crate) fn describe_number(value: &Value) -> String {
    match value {
        Value::Number(n) => format!("number {n}"),
        other => kind_of(other).to_string(),
    }
}

/// A key as it may appear in a message: short, printable, never a control character.
pub(crate) fn safe_key(key: &str) -> String {
    let mut out: String = key
        .chars()
        .take(64)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if key.chars().count() > 64 {
        out.push('…');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn display_is_one_line_with_location_found_and_expected() {
        let e = ConfigError::wrong_kind("proxy.port", &json!("80"), "expected an integer");
        assert_eq!(
            e.to_string(),
            "proxy.port: found string; expected an integer"
        );
        assert_eq!(e.kind(), ConfigErrorKind::WrongKind);
        assert!(!e.to_string().contains('\n'));
    }

    #[test]
    fn choice_description_hides_long_or_odd_strings() {
        assert_eq!(describe_choice("yolo"), "string \"yolo\"");
        assert_eq!(describe_choice(""), "an empty string");
        assert_eq!(
            describe_choice("sk-live-0123456789abcdef0123456789abcdef0123"),
            "string"
        );
        assert_eq!(describe_choice("a\"b"), "string");
        assert_eq!(describe_choice("hunter2 secret"), "string");
        assert_eq!(describe_choice("pw-20240101-x"), "string");
        assert_eq!(describe_choice("tools/call"), "string \"tools/call\"");
    }

    #[test]
    fn env_relabel_names_the_variable() {
        let e = ConfigError::invalid("proxy.port", "number 70000", "expected 0..65535")
            .in_env("HAECHI_PROXY_PORT", "proxy.port");
        assert_eq!(e.kind(), ConfigErrorKind::Env);
        assert!(e
            .to_string()
            .starts_with("HAECHI_PROXY_PORT (overlays proxy.port): "));
    }
}
