//! Shared by the config integration tests: load a JSON document and assert what happens.

#![allow(dead_code)] // each test file uses its own subset

use haechi_core::config::{load_config_str, Config, ConfigError, ConfigErrorKind};
use serde_json::Value;

pub(crate) fn load(doc: &Value) -> Result<Config, ConfigError> {
    load_config_str(&doc.to_string(), &|_| None)
}

/// Assert `doc` is refused at `location`; returns the message.
#[track_caller]
pub(crate) fn refused(doc: Value, location: &str) -> String {
    match load(&doc) {
        Ok(_) => panic!("accepted but should be refused at {location}: {doc}"),
        Err(e) => {
            assert_eq!(e.location(), location, "wrong location for {doc}: {e}");
            let text = e.to_string();
            assert!(!text.contains('\n'), "multi-line message: {text}");
            text
        }
    }
}

#[track_caller]
pub(crate) fn refused_as(doc: Value, location: &str, kind: ConfigErrorKind) -> String {
    let e = load(&doc).expect_err("should be refused");
    assert_eq!(e.location(), location, "{e}");
    assert_eq!(e.kind(), kind, "{e}");
    e.to_string()
}

#[track_caller]
pub(crate) fn accepted(doc: Value) -> Config {
    match load(&doc) {
        Ok(c) => c,
        Err(e) => panic!("refused {doc}: {e}"),
    }
}
