//! JSON text exactly as JavaScript's `JSON.stringify` writes it.
//!
//! The AAD hash, the envelope marker and the key file are compared byte for byte with what the
//! reference writes, so string escaping and number formatting follow ECMAScript rather than
//! serde_json's defaults (which differ for numbers such as `1e21`, `-0` or `2.0`).

use std::fmt::Write as _;

use serde_json::{Number, Value};

/// Append `text` as a JSON string literal: `"` and `\` escaped, the short escapes for
/// `\b \f \n \r \t`, other control characters as lowercase `\u00xx`, everything else verbatim.
pub(crate) fn push_string(out: &mut String, text: &str) {
    out.push('"');
    let mut run_start = 0;
    for (index, byte) in text.bytes().enumerate() {
        let escape: &str = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(&text[run_start..index]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{byte:04x}");
        } else {
            out.push_str(escape);
        }
        run_start = index + 1;
    }
    out.push_str(&text[run_start..]);
    out.push('"');
}

/// Append a JSON number the way JavaScript prints it: the value is a double (as `JSON.parse`
/// would make it), written with the shortest round-trip digits and ECMAScript's
/// `Number::toString` layout.
pub(crate) fn push_number(out: &mut String, number: &Number) {
    // Integers that a double holds exactly print as themselves; everything else goes through f64.
    const EXACT: u64 = 1 << 53;
    if let Some(n) = number.as_u64() {
        if n <= EXACT {
            let _ = write!(out, "{n}");
            return;
        }
    } else if let Some(n) = number.as_i64() {
        if n.unsigned_abs() <= EXACT {
            let _ = write!(out, "{n}");
            return;
        }
    }
    match number.as_f64() {
        Some(value) => push_f64(out, value),
        None => out.push_str("null"),
    }
}

/// ECMAScript `Number::toString(10)` for a finite double (`null` for NaN/∞, as JSON does).
pub(crate) fn push_f64(out: &mut String, value: f64) {
    if !value.is_finite() {
        out.push_str("null");
        return;
    }
    if value == 0.0 {
        out.push('0'); // covers -0, which JavaScript prints as "0"
        return;
    }
    if value < 0.0 {
        out.push('-');
    }
    // `{:e}` gives the shortest round-trip digits: "d[.ddd]e<exp>".
    let sci = format!("{:e}", value.abs());
    let Some((mantissa, exponent)) = sci.split_once('e') else {
        out.push_str(&sci);
        return;
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let Ok(exponent) = exponent.parse::<i64>() else {
        out.push_str(&sci);
        return;
    };
    let k = digits.len() as i64;
    let n = exponent + 1; // position of the decimal point relative to the digits
    if k <= n && n <= 21 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        let (int, frac) = digits.split_at(n as usize);
        out.push_str(int);
        out.push('.');
        out.push_str(frac);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(&digits);
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        let e = n - 1;
        let _ = write!(out, "e{}{}", if e >= 0 { '+' } else { '-' }, e.abs());
    }
}

/// `JSON.stringify(value)` (compact).
pub(crate) fn push_compact(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => push_number(out, n),
        Value::String(s) => push_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_compact(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_string(out, key);
                out.push(':');
                push_compact(out, item);
            }
            out.push('}');
        }
    }
}

/// `JSON.stringify(value, null, 2)` followed by a newline: the key file's on-disk layout.
pub(crate) fn to_pretty_with_newline(value: &Value) -> String {
    let mut out = String::new();
    push_pretty(&mut out, value, 0);
    out.push('\n');
    out
}

fn push_pretty(out: &mut String, value: &Value, depth: usize) {
    match value {
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_indent(out, depth + 1);
                push_pretty(out, item, depth + 1);
            }
            newline_indent(out, depth);
            out.push(']');
        }
        Value::Object(map) if !map.is_empty() => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_indent(out, depth + 1);
                push_string(out, key);
                out.push_str(": ");
                push_pretty(out, item, depth + 1);
            }
            newline_indent(out, depth);
            out.push('}');
        }
        other => push_compact(out, other),
    }
}

fn newline_indent(out: &mut String, depth: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', depth * 2));
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn compact(value: &Value) -> String {
        let mut out = String::new();
        push_compact(&mut out, value);
        out
    }

    fn number(text: &str) -> String {
        let value: Value = serde_json::from_str(text).unwrap();
        compact(&value)
    }

    // Expected strings are what node v20 prints for JSON.stringify(JSON.parse(text)).
    #[test]
    fn numbers_follow_ecmascript_layout() {
        let cases = [
            ("1", "1"),
            ("1.5", "1.5"),
            ("2.0", "2"),
            ("1e21", "1e+21"),
            ("1E20", "100000000000000000000"),
            ("1e-7", "1e-7"),
            ("0.000001", "0.000001"),
            ("-0", "0"),
            ("-0.0", "0"),
            ("12345678901234567890", "12345678901234567000"),
            ("123456789012345680000", "123456789012345680000"),
            ("5e-324", "5e-324"),
            ("1.7976931348623157e308", "1.7976931348623157e+308"),
            ("0.30000000000000004", "0.30000000000000004"),
            ("9007199254740993", "9007199254740992"),
            ("-9007199254740993", "-9007199254740992"),
            ("-42", "-42"),
            ("325e0", "325"),
            ("1.25e-5", "0.0000125"),
            ("-1.5e-7", "-1.5e-7"),
        ];
        for (input, expected) in cases {
            assert_eq!(number(input), expected, "input {input}");
        }
    }

    #[test]
    fn strings_escape_like_json_stringify() {
        let mut out = String::new();
        push_string(
            &mut out,
            "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1f}\u{7f}\u{2028}é😀",
        );
        assert_eq!(
            out,
            "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\u{7f}\u{2028}é😀\""
        );
    }

    #[test]
    fn pretty_output_matches_two_space_json_stringify() {
        let value =
            json!({"version": 1, "keys": [{"kid": "a", "usage": 2}], "empty": [], "obj": {}});
        assert_eq!(
            to_pretty_with_newline(&value),
            "{\n  \"version\": 1,\n  \"keys\": [\n    {\n      \"kid\": \"a\",\n      \"usage\": 2\n    }\n  ],\n  \"empty\": [],\n  \"obj\": {}\n}\n"
        );
    }
}
