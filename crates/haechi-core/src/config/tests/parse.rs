use super::*;

fn err(text: &str) -> String {
    match parse_document(text) {
        Ok(_) => panic!("expected an error for {text:?}"),
        Err(e) => {
            assert_eq!(e.kind(), ConfigErrorKind::Syntax);
            e.to_string()
        }
    }
}

#[test]
fn parses_an_object_and_skips_a_bom() {
    let map = parse_document("\u{feff}{\"mode\":\"enforce\"}").unwrap();
    assert_eq!(map["mode"], "enforce");
}

#[test]
fn rejects_duplicate_keys_with_position() {
    let message = err("{\n  \"mode\": \"enforce\",\n  \"mode\": \"dry-run\"\n}");
    assert!(message.contains("duplicate key \"mode\""), "{message}");
    assert!(message.contains("line 3"), "{message}");
}

#[test]
fn rejects_non_object_roots() {
    for text in ["[]", "null", "5", "\"x\""] {
        assert!(err(text).contains("JSON object"), "{text}");
    }
}

#[test]
fn hints_at_comments_and_quotes() {
    assert!(err("{\n // note\n \"mode\": \"enforce\"}").contains("comments are not allowed"));
    assert!(err("{'mode': 'enforce'}").contains("double quotes"));
    assert!(err("{\"mode\": \"enforce\",}").contains("trailing comma"));
}

#[test]
fn does_not_echo_input_in_syntax_errors() {
    let message = err("{\"keys\": sk-live-abcdef}");
    assert!(!message.contains("sk-live"), "{message}");
}
