use super::*;

#[test]
fn labels_split_at_the_first_equals_sign() {
    let labels = parse_labels(&["team=a=b".into(), "env=".into(), "team=c".into()]).unwrap();
    assert_eq!(
        labels.as_pairs(),
        &[
            ("team".to_string(), "c".to_string()),
            ("env".to_string(), String::new())
        ]
    );
    let error = parse_labels(&["team".into()]).unwrap_err().to_string();
    assert!(error.contains("expected key=value"), "{error}");
}
