use super::*;
use serde_json::json;

fn parsed(text: &str) -> String {
    js_stringify(&serde_json::from_str::<Value>(text).unwrap())
}

// Expected strings are what node v20 prints for JSON.stringify(JSON.parse(text)).
#[test]
fn parsed_numbers_follow_ecmascript_layout() {
    let cases = [
        ("1", "1"),
        ("2.0", "2"),
        ("1e21", "1e+21"),
        ("1E20", "100000000000000000000"),
        ("-0", "0"),
        ("12345678901234567890", "12345678901234567000"),
        ("123456789012345680000", "123456789012345680000"),
        ("9007199254740993", "9007199254740992"),
        ("-9007199254740993", "-9007199254740992"),
        ("325e0", "325"),
        ("1.25e-5", "0.0000125"),
    ];
    for (input, expected) in cases {
        assert_eq!(parsed(input), expected, "input {input}");
    }
}

#[test]
fn pretty_output_matches_two_space_json_stringify() {
    let value = json!({"version": 1, "keys": [{"kid": "a", "usage": 2}], "empty": [], "obj": {}});
    assert_eq!(
        stringify_pretty_line(&value),
        "{\n  \"version\": 1,\n  \"keys\": [\n    {\n      \"kid\": \"a\",\n      \"usage\": 2\n    }\n  ],\n  \"empty\": [],\n  \"obj\": {}\n}\n"
    );
}

#[test]
fn numbers_render_like_javascript() {
    // Expected strings are what `String(x)` prints in Node 20.
    let cases: &[(f64, &str)] = &[
        (0.0, "0"),
        (-0.0, "0"),
        (1.0, "1"),
        (-1.5, "-1.5"),
        (0.1, "0.1"),
        (0.95, "0.95"),
        (100.0, "100"),
        (123456789.0, "123456789"),
        (1e21, "1e+21"),
        (1e20, "100000000000000000000"),
        (123e18, "123000000000000000000"),
        (1.5e21, "1.5e+21"),
        (1e-6, "0.000001"),
        (1e-7, "1e-7"),
        (1.25e-7, "1.25e-7"),
        (0.000123, "0.000123"),
        (5e-324, "5e-324"),
        (f64::MAX, "1.7976931348623157e+308"),
        (9007199254740993.0, "9007199254740992"),
        (0.1 + 0.2, "0.30000000000000004"),
        (f64::NAN, "null"),
        (f64::INFINITY, "null"),
    ];
    for (value, expected) in cases {
        assert_eq!(js_number(*value), *expected, "rendering {value:e}");
    }
}

#[test]
fn integers_from_serde_render_as_javascript_doubles() {
    let value: Value = serde_json::from_str("[18446744073709551615, -9223372036854775808, 1.0]")
        .unwrap_or(Value::Null);
    assert_eq!(
        canonical_json(&value),
        "[18446744073709552000,-9223372036854776000,1]"
    );
}

#[test]
fn strings_escape_like_json_stringify() {
    let value = json!("q\"b\\s/\u{8}\u{c}\n\r\t\u{0}\u{1f}\u{7f}\u{2028}한글😀");
    assert_eq!(
        canonical_json(&value),
        "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0000\\u001f\u{7f}\u{2028}한글😀\""
    );
}

#[test]
fn keys_sort_by_utf16_code_units() {
    // U+FF61 sorts after U+1F600 by code point but before it by UTF-16 (0xD83D < 0xFF61).
    let value =
        json!({"b": 1, "\u{ff61}": 2, "😀": 3, "a": {"z": [true, null], "A": false}, "B": "x"});
    assert_eq!(
        canonical_json(&value),
        "{\"B\":\"x\",\"a\":{\"A\":false,\"z\":[true,null]},\"b\":1,\"😀\":3,\"\u{ff61}\":2}"
    );
}

#[test]
fn stringify_keeps_insertion_order() {
    let value = json!({"z": 1, "a": [1.5, "x"], "m": {}});
    assert_eq!(js_stringify(&value), "{\"z\":1,\"a\":[1.5,\"x\"],\"m\":{}}");
}

#[test]
fn an_escaped_byte_is_found_wherever_it_falls_in_a_word() {
    // Every special byte at every position of strings spanning several eight-byte words (the
    // word-at-a-time search must not miss one at a word's edge or in the tail).
    for len in 1..=19 {
        for position in 0..len {
            for special in ['"', '\\', '\n', '\u{0}', '\u{1f}', 'é'] {
                let mut text: String = "abcdefghijklmnopqrs"[..len].to_owned();
                text.replace_range(position..=position, &special.to_string());
                let mut out = String::new();
                push_string(&mut out, &text);
                let expected = serde_json::to_string(&text).unwrap_or_default();
                assert_eq!(out, expected, "{text:?}");
            }
        }
    }
}
