use super::*;
use serde_json::json;

#[test]
fn usage_must_be_a_whole_number() {
    let p = Path::new("k.json");
    assert_eq!(entry_usage(p, &json!({})).unwrap(), 0);
    assert_eq!(entry_usage(p, &json!({"usage": null})).unwrap(), 0);
    assert_eq!(entry_usage(p, &json!({"usage": 5})).unwrap(), 5);
    assert_eq!(
        entry_usage(p, &json!({"usage": 4294967296.0})).unwrap(),
        1 << 32
    );
    assert!(entry_usage(p, &json!({"usage": -1})).is_err());
    assert!(entry_usage(p, &json!({"usage": 1.5})).is_err());
    assert!(entry_usage(p, &json!({"usage": "10"})).is_err());
}

#[test]
fn zero_limit_or_window_and_shrinking_chunks_are_refused() {
    let budget = |limit, first_window, max_window| NonceBudget {
        limit,
        first_window,
        max_window,
    };
    assert!(budget(0, 1, 1).validate().is_err());
    assert!(budget(1, 0, 1).validate().is_err());
    assert!(budget(1, 2, 1).validate().is_err());
    assert!(budget(1, 1, 1).validate().is_ok());
    assert!(NonceBudget::default().validate().is_ok());
    assert_eq!(
        NonceBudget::default().warn_threshold(),
        NONCE_WARN_THRESHOLD
    );
}
