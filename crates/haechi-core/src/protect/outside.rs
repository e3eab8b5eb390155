//! Values that travel beside the JSON body — a request's path segments, query parameters and
//! forwarded header values. They go through the same detector and policy as the body's leaves,
//! in the same audit event, under a location the caller names (`$query.<name>`,
//! `$header.<name>`, `$path[<i>]`) instead of a hashed JSON path.

use crate::hash::short_hash;

/// One value outside the body, decoded (percent-decoding is the caller's job).
#[derive(Debug, Clone, Copy)]
pub struct OutsideValue<'a> {
    /// The PII-safe location written to the audit event (see [`location`]).
    pub location: &'a str,
    pub text: &'a str,
}

/// The audit location of a named value: `<scope>.<name>` when the name is a plain identifier,
/// else `<scope>.key_<shortHash(name)>` as the body's paths hash keys — a client-chosen name can
/// itself be personal data.
pub fn location(scope: &str, name: &str) -> String {
    let plain = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'));
    if plain {
        format!("{scope}.{name}")
    } else {
        format!("{scope}.key_{}", short_hash(name.as_bytes()))
    }
}
