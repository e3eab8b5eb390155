//! Reading a request's top-level `model` and `stream` before it is protected: the gateway
//! decides the model allowlist and the streaming mode on them. Read with the same walk (same
//! depth bound, same JSON errors) as protection, and like `JSON.parse` the last duplicate wins.

use std::borrow::Cow;

use super::walk::{walk, Leaf, LeafVisitor, Segment};
use super::ProtectError;
use crate::vocab::LeafKind;

/// A top-level field as the gateway needs to see it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TopField<T> {
    #[default]
    Absent,
    Is(T),
    /// Present with another JSON type.
    Other,
}

/// The top-level request fields the gateway acts on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestFields {
    pub model: TopField<String>,
    pub stream: TopField<bool>,
}

/// Read `model` and `stream` from a JSON document (any JSON; non-objects have neither).
pub fn request_fields(text: &str, max_depth: usize) -> Result<RequestFields, ProtectError> {
    let mut reader = FieldReader::default();
    walk(text, max_depth, &mut reader)?;
    Ok(reader.fields)
}

#[derive(Default)]
struct FieldReader {
    fields: RequestFields,
}

fn top_key<'p>(path: &'p [Segment<'_>]) -> Option<&'p str> {
    match path {
        [Segment::Key(key)] => Some(key.as_ref()),
        _ => None,
    }
}

impl<'a> LeafVisitor<'a> for FieldReader {
    fn leaf(&mut self, path: &[Segment<'a>], leaf: Leaf<'a>) -> Result<(), ProtectError> {
        match (top_key(path), leaf.kind) {
            // A key opens the field; its value (if a string or bool) arrives next.
            (Some("model"), LeafKind::Key) => self.fields.model = TopField::Other,
            (Some("stream"), LeafKind::Key) => self.fields.stream = TopField::Other,
            (Some("model"), LeafKind::Value) => {
                self.fields.model = TopField::Is(match leaf.text {
                    Cow::Borrowed(text) => text.to_owned(),
                    Cow::Owned(text) => text,
                });
            }
            _ => {}
        }
        Ok(())
    }

    fn boolean(&mut self, path: &[Segment<'a>], value: bool) {
        if top_key(path) == Some("stream") {
            self.fields.stream = TopField::Is(value);
        }
    }
}
