use super::*;

#[test]
fn whole_doubles_print_as_integers_and_others_are_kept() {
    let value =
        haechi_core::audit::parse_js_json(br#"{"a":60.0,"b":[1.5,-0.0,7],"c":"9"}"#).unwrap();
    assert_eq!(
        serde_json::to_string(&js_integers(value)).unwrap(),
        r#"{"a":60,"b":[1.5,0,7],"c":"9"}"#
    );
}

#[test]
fn syntax_errors_name_the_position_only() {
    let error = parse_json("{\"a\": sk-live-secret}").unwrap_err();
    assert!(error.contains("line 1"));
    assert!(!error.contains("sk-live"));
}
