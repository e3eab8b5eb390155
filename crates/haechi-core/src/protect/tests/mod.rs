//! Walk-level tests against vectors computed with the reference implementation.

use super::walk::{path_text, walk, Leaf, LeafVisitor, Segment};
use super::ProtectError;
use crate::vocab::LeafKind;

#[derive(Default)]
struct Recorder {
    leaves: Vec<(LeafKind, String, String)>,
}

impl<'a> LeafVisitor<'a> for Recorder {
    fn leaf(&mut self, path: &[Segment<'a>], leaf: Leaf<'a>) -> Result<(), ProtectError> {
        self.leaves
            .push((leaf.kind, path_text(path), leaf.text.into_owned()));
        Ok(())
    }
}

fn record(input: &str) -> (String, Vec<(LeafKind, String, String)>) {
    let mut recorder = Recorder::default();
    let shape = walk(input, 256, &mut recorder).unwrap();
    (shape, recorder.leaves)
}

#[test]
fn paths_and_shape_hash_match_the_reference() {
    let input = r#"{"messages":[{"role":"user","content":"hi minji.kim@example.com"}],"n":4111111111111111,"t":true,"z":null,"키":"값","eé":[1,[2,{"x":"y"}]]}"#;
    let (shape, leaves) = record(input);
    assert_eq!(shape, "1a7e17c87de3");
    let expected = [
        (LeafKind::Key, "key_f5cccfb73751"),
        (LeafKind::Key, "key_f5cccfb73751[0].key_4b168d88dc87"),
        (LeafKind::Value, "key_f5cccfb73751[0].key_4b168d88dc87"),
        (LeafKind::Key, "key_f5cccfb73751[0].key_ed7002b439e9"),
        (LeafKind::Value, "key_f5cccfb73751[0].key_ed7002b439e9"),
        (LeafKind::Key, "key_1b16b1df538b"),
        (LeafKind::Number, "key_1b16b1df538b"),
        (LeafKind::Key, "key_e3b98a4da31a"),
        (LeafKind::Key, "key_594e519ae499"),
        (LeafKind::Key, "key_e37db65fd90d"),
        (LeafKind::Value, "key_e37db65fd90d"),
        (LeafKind::Key, "key_5b8ee27cf717"),
        (LeafKind::Number, "key_5b8ee27cf717[0]"),
        (LeafKind::Number, "key_5b8ee27cf717[1][0]"),
        (LeafKind::Key, "key_5b8ee27cf717[1][1].key_2d711642b726"),
        (LeafKind::Value, "key_5b8ee27cf717[1][1].key_2d711642b726"),
    ];
    let got: Vec<(LeafKind, &str)> = leaves.iter().map(|(k, p, _)| (*k, p.as_str())).collect();
    assert_eq!(got, expected);
    assert_eq!(leaves[4].2, "hi minji.kim@example.com");
    assert_eq!(leaves[6].2, "4111111111111111");
}

#[test]
fn escaped_keys_and_astral_strings_match_the_reference() {
    let (shape, leaves) = record(r#"{"a\"b":{"c\n":["😀x"]}}"#);
    assert_eq!(shape, "8098e32816a0");
    assert_eq!(leaves[0].2, "a\"b");
    assert_eq!(leaves[2].1, "key_39a012772dd5.key_a3a5e715f0cc[0]");
    let (shape, leaves) = record(r#""top""#);
    assert_eq!(shape, "132c59bce097");
    assert_eq!(
        leaves,
        vec![(LeafKind::Value, String::new(), "top".to_string())]
    );
}

#[test]
fn whitespace_does_not_change_paths_or_shape() {
    let compact = record(r#"{"a":[1,{"b":"c"}],"d":{}}"#);
    let spaced = record("{ \"a\" : [ 1 , { \"b\" : \"c\" } ] ,\n \"d\" : { } }");
    assert_eq!(compact, spaced);
}

#[test]
fn depth_limit_counts_containers_like_the_reference() {
    let mut recorder = Recorder::default();
    // Root object (depth 0) and one nested object (depth 1) are fine under maxDepth 2…
    assert!(walk(r#"{"a":{"b":"c"}}"#, 2, &mut recorder).is_ok());
    // …a third level is refused; leaves at the limit are still fine.
    assert_eq!(
        walk(r#"{"a":{"b":{"c":1}}}"#, 2, &mut recorder),
        Err(ProtectError::TooDeeplyNested { max_depth: 2 })
    );
    assert!(walk(r#"{"a":{"b":"leaf"}}"#, 2, &mut recorder).is_ok());
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(
        walk(&deep, 256, &mut recorder),
        Err(ProtectError::TooDeeplyNested { max_depth: 256 })
    );
}

#[test]
fn malformed_json_reports_line_and_column() {
    let mut recorder = Recorder::default();
    for bad in [
        "{\"a\":}",
        "[1,2",
        "{\"a\":1} x",
        "",
        "{'a':1}",
        "[\"\\ud800\"]",
    ] {
        match walk(bad, 256, &mut recorder) {
            Err(ProtectError::InvalidJson { line, .. }) => assert!(line >= 1, "{bad}"),
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
    match walk("{\n  \"a\": @\n}", 256, &mut recorder) {
        Err(ProtectError::InvalidJson { line, .. }) => assert_eq!(line, 2),
        other => panic!("{other:?}"),
    }
}
