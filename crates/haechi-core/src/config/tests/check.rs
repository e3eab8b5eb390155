use super::*;
use serde_json::json;

const NON_BLANK_LIST: Node = Node::List {
    item: &Node::Text,
    min_len: 1,
};

#[test]
fn integers_accept_whole_floats_and_refuse_fractions() {
    let node = Node::Int { min: 1, max: 10 };
    assert_eq!(check(&node, &json!(3.0), "x").unwrap(), json!(3));
    assert!(check(&node, &json!(1.5), "x").is_err());
    assert!(check(&node, &json!(-1), "x").is_err());
    assert!(check(&node, &json!(11), "x").is_err());
    let e = check(&node, &json!("3"), "x").unwrap_err();
    assert_eq!(e.kind(), ConfigErrorKind::WrongKind);
}

#[test]
fn list_messages_read_naturally() {
    let e = check(&NON_BLANK_LIST, &json!([]), "mcp.allowedMethods").unwrap_err();
    assert_eq!(
        e.to_string(),
        "mcp.allowedMethods: found an empty array; expected a non-empty array of non-empty strings"
    );
    let e = check(&NON_BLANK_LIST, &json!(["ok", 3]), "m").unwrap_err();
    assert_eq!(e.location(), "m[1]");
}

#[test]
fn typo_hints_prefer_siblings() {
    assert_eq!(
        closest("mdoe", ["mode", "presets"].into_iter()),
        Some("mode")
    );
    assert_eq!(closest("zzzz", ["mode"].into_iter()), None);
}

#[test]
fn or_null_kind_errors_mention_null() {
    let node = Node::OrNull(&Node::Int { min: 0, max: 5 }, NullMeans::Unset);
    let e = check(&node, &json!("soon"), "limits.requestTimeoutMs").unwrap_err();
    assert!(
        e.to_string()
            .contains("expected null or an integer from 0 to 5"),
        "{e}"
    );
}
