//! Reading a stored record back exactly as JavaScript's `JSON.parse` would.
//!
//! `serde_json`'s default float parser can miss the nearest double by one unit for long
//! decimals (`0.30000000000000004`-style numbers a JavaScript writer prints), and one unit is
//! enough to change the canonical text and fail a valid record. The verifier therefore parses
//! with `jiter` (correctly rounded floats) and converts to a `serde_json::Value` with
//! JavaScript semantics: every number is a double, a duplicate key keeps its first position
//! and its last value.

use jiter::JsonValue;
use serde_json::{Map, Number, Value};

/// Parses one JSON text with `JSON.parse` semantics; `None` if it is not valid JSON.
pub fn parse_js_json(text: &[u8]) -> Option<Value> {
    JsonValue::parse(text, false)
        .ok()
        .map(|value| convert(&value))
}

fn convert(value: &JsonValue<'_>) -> Value {
    match value {
        JsonValue::Null => Value::Null,
        JsonValue::Bool(b) => Value::Bool(*b),
        JsonValue::Int(int) => Value::from(*int),
        // Integers beyond i64 are doubles in JavaScript (and Infinity, printed as null, when
        // beyond f64).
        JsonValue::BigInt(big) => float(big.to_string().parse::<f64>().unwrap_or(f64::INFINITY)),
        JsonValue::Float(f) => float(*f),
        JsonValue::Str(text) => Value::String(text.to_string()),
        JsonValue::Array(items) => Value::Array(items.iter().map(convert).collect()),
        JsonValue::Object(entries) => {
            let mut map = Map::with_capacity(entries.len());
            for (key, item) in entries.iter() {
                // `insert` on an existing key keeps its position and replaces the value.
                map.insert(key.to_string(), convert(item));
            }
            Value::Object(map)
        }
    }
}

fn float(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::canonical::{canonical_json, js_number, js_stringify};
    use proptest::prelude::*;

    #[test]
    fn duplicate_keys_keep_first_position_and_last_value() {
        let value = parse_js_json(br#"{"a":1,"b":2,"a":3}"#).unwrap_or(Value::Null);
        assert_eq!(js_stringify(&value), r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn big_and_out_of_range_numbers_become_doubles() {
        let value = parse_js_json(b"[18446744073709551617, 1e400, -0, 1.0]").unwrap_or(Value::Null);
        assert_eq!(canonical_json(&value), "[18446744073709552000,null,0,1]");
    }

    #[test]
    fn invalid_json_is_none() {
        for bad in [&b"{"[..], b"{\"a\":1} x", b"NaN", b"\xff"] {
            assert_eq!(parse_js_json(bad), None);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20000))]
        /// Every double we print reads back as the same double, so a stored record re-hashes
        /// to the hash it was written with.
        #[test]
        fn printed_numbers_read_back_exactly(bits in any::<u64>()) {
            let value = f64::from_bits(bits);
            prop_assume!(value.is_finite());
            let text = js_number(value);
            let parsed = parse_js_json(text.as_bytes()).and_then(|v| v.as_f64());
            prop_assert_eq!(parsed.map(f64::to_bits), Some((value + 0.0).to_bits()), "{}", text);
        }
    }
}
