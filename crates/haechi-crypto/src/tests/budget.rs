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
fn zero_limit_or_window_is_refused() {
    assert!(NonceBudget {
        limit: 0,
        window: 1
    }
    .validate()
    .is_err());
    assert!(NonceBudget {
        limit: 1,
        window: 0
    }
    .validate()
    .is_err());
    assert_eq!(
        NonceBudget::default().warn_threshold(),
        NONCE_WARN_THRESHOLD
    );
}
