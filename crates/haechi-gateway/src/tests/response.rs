use super::*;

#[test]
fn restores_only_known_tokens_json_escaped() {
    let mut values = HashMap::new();
    values.insert("tok_email_1".to_string(), "a\"b@example.com".to_string());
    let text = r#"{"a":"hi [TOKEN:tok_email_1] and [TOKEN:tok_email_2]","[TOKEN:tok_email_1]":1}"#;
    let restored = restore_tokens(text, &values).unwrap();
    assert_eq!(
        restored,
        r#"{"a":"hi a\"b@example.com and [TOKEN:tok_email_2]","a\"b@example.com":1}"#
    );
    assert!(serde_json::from_str::<serde_json::Value>(&restored).is_ok());
}

#[test]
fn nothing_to_restore() {
    let mut values = HashMap::new();
    values.insert("tok_x".to_string(), "v".to_string());
    assert_eq!(restore_tokens(r#"{"a":"[TOKEN:tok_y]"}"#, &values), None);
    assert_eq!(
        restore_tokens(r#"{"a":"[TOKEN:unterminated"}"#, &values),
        None
    );
    assert_eq!(restore_tokens("{}", &HashMap::new()), None);
}
