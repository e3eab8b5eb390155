//! JSON text exactly as the reference's JavaScript produces it: `JSON.stringify` (compact and
//! pretty) and the audit chain's `json-stable-v1` canonical form.
//!
//! Everything compared byte for byte with the reference — the chain's hashed text and stored
//! lines, envelope markers and AAD, the key file, policy bundles — is written here, never by
//! `serde_json`, which differs on numbers (`1.0`, `1e21`, `-0`, big integers). Canonical form:
//! object keys sorted by UTF-16 code units (JavaScript's default `Array.prototype.sort`), no
//! whitespace, JavaScript string escaping and number rendering.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

/// The canonicalization tag stored in every record's `auditIntegrity`.
pub const CANONICALIZATION: &str = "json-stable-v1";

/// The reference's `json-stable-v1` canonical text of `value`.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value, KeyOrder::Sorted);
    out
}

/// `JSON.stringify(value)`: keys in insertion order, JavaScript number and string rendering.
/// This is how a record's line is written so a JavaScript reader sees the same bytes.
pub fn js_stringify(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value, KeyOrder::Insertion);
    out
}

/// Orders two keys as JavaScript's default sort does: by UTF-16 code units, which differs from
/// Rust's byte (code point) order for characters above U+FFFF versus U+E000..=U+FFFF.
pub fn js_key_cmp(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// Append `"key":value` with the value in canonical form (for renderers that order members
/// themselves).
pub fn write_canonical_member(out: &mut String, key: &str, value: &Value) {
    push_string(out, key);
    out.push(':');
    write_value(out, value, KeyOrder::Sorted);
}

/// Append `JSON.stringify(map)`.
pub fn write_line_object(out: &mut String, map: &Map<String, Value>) {
    write_object(out, map, KeyOrder::Insertion);
}

#[derive(Clone, Copy)]
enum KeyOrder {
    Sorted,
    Insertion,
}

fn write_value(out: &mut String, value: &Value, order: KeyOrder) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => push_number(out, number),
        Value::String(text) => push_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(out, item, order);
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map, order),
    }
}

fn write_object(out: &mut String, map: &Map<String, Value>, order: KeyOrder) {
    out.push('{');
    let mut write_entry = |index: usize, key: &str, item: &Value| {
        if index > 0 {
            out.push(',');
        }
        push_string(out, key);
        out.push(':');
        write_value(out, item, order);
    };
    match order {
        KeyOrder::Insertion => {
            for (index, (key, item)) in map.iter().enumerate() {
                write_entry(index, key, item);
            }
        }
        KeyOrder::Sorted => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|(a, _), (b, _)| js_key_cmp(a, b));
            for (index, (key, item)) in entries.into_iter().enumerate() {
                write_entry(index, key, item);
            }
        }
    }
    out.push('}');
}

/// `JSON.stringify(value, null, 2)` followed by a newline: how the reference writes the key
/// file and policy bundles.
pub fn stringify_pretty_line(value: &Value) -> String {
    let mut out = String::new();
    write_pretty(&mut out, value, 0);
    out.push('\n');
    out
}

fn write_pretty(out: &mut String, value: &Value, depth: usize) {
    let indent = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', depth * 2));
    };
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                write_pretty(out, item, depth + 1);
            }
            indent(out, depth);
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            out.push('{');
            for (index, (key, item)) in map.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                indent(out, depth + 1);
                push_string(out, key);
                out.push_str(": ");
                write_pretty(out, item, depth + 1);
            }
            indent(out, depth);
            out.push('}');
        }
        other => write_value(out, other, KeyOrder::Insertion),
    }
}

/// Append a number as `JSON.stringify` prints it: the value is a double (as `JSON.parse` makes
/// it); integers a double holds exactly print as themselves.
pub fn push_number(out: &mut String, number: &Number) {
    const EXACT: u64 = 1 << 53;
    if let Some(n) = number.as_u64().filter(|n| *n <= EXACT) {
        out.push_str(itoa::Buffer::new().format(n));
    } else if let Some(n) = number.as_i64().filter(|n| n.unsigned_abs() <= EXACT) {
        out.push_str(itoa::Buffer::new().format(n));
    } else {
        match number.as_f64() {
            Some(float) => push_js_number(out, float),
            None => out.push_str("null"),
        }
    }
}

/// Append `text` as `JSON.stringify` writes a string. Rust strings cannot hold lone
/// surrogates, so the well-formed `\udXXX` escapes of modern JavaScript never arise here.
pub fn push_string(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    // Most strings need no escape at all: find the first byte that does before going byte by byte.
    let Some(first) = first_escape(text.as_bytes()) else {
        out.push_str(text);
        out.push('"');
        return;
    };
    out.push_str(&text[..first]);
    let mut start = first;
    for (index, byte) in text.bytes().enumerate().skip(first) {
        if !needs_escape(byte) {
            continue;
        }
        let escape: Option<&str> = match byte {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            0x08 => Some("\\b"),
            0x09 => Some("\\t"),
            0x0a => Some("\\n"),
            0x0c => Some("\\f"),
            0x0d => Some("\\r"),
            _ => None,
        };
        out.push_str(&text[start..index]);
        match escape {
            Some(short) => out.push_str(short),
            None => {
                out.push_str("\\u00");
                out.push(HEX[(byte >> 4) as usize] as char);
                out.push(HEX[(byte & 0x0f) as usize] as char);
            }
        }
        start = index + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

fn needs_escape(byte: u8) -> bool {
    byte < 0x20 || byte == b'"' || byte == b'\\'
}

/// The index of the first byte `JSON.stringify` escapes. Audit strings are mostly plain, so
/// eight bytes are tested at a time (bitwise, on a `u64`), then the chunk that has one is
/// searched byte by byte.
fn first_escape(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Whether a byte of `word` is zero (the classic test; exact as "any", which is all we need).
    let has_zero = |word: u64| word.wrapping_sub(ONES) & !word & HIGHS != 0;
    let mut offset = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_ne_bytes(word);
        // A byte below 0x20 has its top three bits clear.
        let control = has_zero(word & u64::from_ne_bytes([0xe0; 8]));
        let quote = has_zero(word ^ u64::from_ne_bytes([b'"'; 8]));
        let backslash = has_zero(word ^ u64::from_ne_bytes([b'\\'; 8]));
        if control || quote || backslash {
            break;
        }
        offset += 8;
    }
    bytes[offset..]
        .iter()
        .position(|&byte| needs_escape(byte))
        .map(|index| offset + index)
}

/// JavaScript's `Number::toString` (what `JSON.stringify` prints), for any `f64`.
pub fn js_number(value: f64) -> String {
    let mut out = String::new();
    push_js_number(&mut out, value);
    out
}

/// Append an `f64` as JavaScript prints it (`Number::prototype::toString`, by `ryu-js`).
pub fn push_js_number(out: &mut String, value: f64) {
    if !value.is_finite() {
        // JSON.stringify renders NaN and ±Infinity as null.
        out.push_str("null");
        return;
    }
    out.push_str(ryu_js::Buffer::new().format_finite(value));
}

#[cfg(test)]
#[path = "tests/js_json.rs"]
mod tests;
