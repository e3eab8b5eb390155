use super::*;

#[test]
fn every_command_has_help_and_unknown_topics_do_not() {
    for name in known_commands() {
        let text = help_text(Some(name)).unwrap();
        assert!(text.contains(&format!("haechi {name}")));
    }
    assert!(help_text(Some("nope")).is_none());
    assert!(help_text(None).unwrap().contains("protect"));
}
