//! The JSON leaf walk. One pass over the raw bytes with `jiter`: every string value, number
//! value and object key is handed to a visitor with its decoded text, the byte span of its raw
//! token (so a transform can be spliced into the original bytes) and its path. The payload shape
//! hash is computed in the same pass. Depth is bounded without recursion.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

use jiter::{Jiter, JiterError, Peek};
use ring::digest::{Context, SHA256};

use super::ProtectError;
use crate::hash::short_hash;
use crate::vocab::LeafKind;

/// One step of a path: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    Key(Cow<'a, str>),
    Index(usize),
}

/// A scannable leaf.
#[derive(Debug, Clone)]
pub struct Leaf<'a> {
    pub kind: LeafKind,
    /// The decoded text (string content, key, or the number's exact text).
    pub text: Cow<'a, str>,
    /// The raw token in the input: with its quotes for strings and keys.
    pub span: Range<usize>,
    /// For keys: where the enclosing object starts (`{`), to find sibling keys on rename.
    pub object_start: Option<usize>,
}

/// Receives leaves in document order. `path` is the leaf's path (for a key: including the key).
pub trait LeafVisitor<'a> {
    fn leaf(&mut self, path: &[Segment<'a>], leaf: Leaf<'a>) -> Result<(), ProtectError>;

    /// A boolean value (not scannable; some callers read flags such as `stream`).
    fn boolean(&mut self, _path: &[Segment<'a>], _value: bool) {}
}

/// The reference's PII-safe path text: `key_<shortHash(key)>` segments joined by `.`, array
/// indices as `[i]` (e.g. `key_8a3...[0].key_9f1...`).
pub fn path_text(path: &[Segment<'_>]) -> String {
    PathHashes::default().text(path)
}

/// Path text with each distinct key hashed once per payload (deep or repetitive payloads repeat
/// the same keys many times).
#[derive(Default)]
pub struct PathHashes {
    hashes: HashMap<String, String>,
}

impl PathHashes {
    pub fn text(&mut self, path: &[Segment<'_>]) -> String {
        let mut out = String::with_capacity(path.len() * 17);
        for (position, segment) in path.iter().enumerate() {
            match segment {
                Segment::Index(index) => {
                    let _ = write!(out, "[{index}]");
                }
                Segment::Key(key) => {
                    if position > 0 {
                        out.push('.');
                    }
                    out.push_str("key_");
                    match self.hashes.get(key.as_ref()) {
                        Some(hash) => out.push_str(hash),
                        None => {
                            let hash = short_hash(key.as_bytes());
                            out.push_str(&hash);
                            self.hashes.insert(key.to_string(), hash);
                        }
                    }
                }
            }
        }
        out
    }
}

enum Frame {
    Object { start: usize, first: bool },
    Array { index: usize },
}

/// Walk `text` (already known to be UTF-8), calling `visitor` for every leaf. Returns the
/// payload shape hash (`shortHash(JSON.stringify(shapeOnly(payload)))` of the reference).
pub fn walk<'a>(
    text: &'a str,
    max_depth: usize,
    visitor: &mut impl LeafVisitor<'a>,
) -> Result<String, ProtectError> {
    let input = text.as_bytes();
    let mut jiter = Jiter::new(input);
    let mut shape = ShapeHasher::new();
    let mut path: Vec<Segment<'a>> = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    let json_error = |error: JiterError| invalid_json(input, error);

    let mut pending = Some(jiter.peek().map_err(json_error)?);
    loop {
        if let Some(peek) = pending.take() {
            match peek {
                Peek::Object | Peek::Array if path.len() >= max_depth => {
                    return Err(ProtectError::TooDeeplyNested { max_depth });
                }
                Peek::Object => {
                    let start = jiter.current_index();
                    shape.push(b"{");
                    frames.push(Frame::Object { start, first: true });
                    // An object is opened by reading its first key (or its closing brace).
                    match jiter.next_object_bytes().map_err(json_error)? {
                        Some(raw) => {
                            let key = key_leaf(text, raw, start, &mut shape, &mut frames)?;
                            path.push(Segment::Key(key.text.clone()));
                            visitor.leaf(&path, key)?;
                            pending = Some(jiter.peek().map_err(json_error)?);
                            continue;
                        }
                        None => {
                            frames.pop();
                            shape.push(b"}");
                        }
                    }
                }
                Peek::Array => {
                    shape.push(b"[");
                    match jiter.known_array().map_err(json_error)? {
                        Some(first) => {
                            frames.push(Frame::Array { index: 0 });
                            path.push(Segment::Index(0));
                            pending = Some(first);
                            continue;
                        }
                        None => shape.push(b"]"),
                    }
                }
                Peek::String => {
                    let raw = jiter.known_bytes().map_err(json_error)?;
                    let span = raw_span(input, raw);
                    let decoded = decode_string(text, span.clone())?;
                    shape.string_shape(&decoded);
                    visitor.leaf(
                        &path,
                        Leaf {
                            kind: LeafKind::Value,
                            text: decoded,
                            span,
                            object_start: None,
                        },
                    )?;
                }
                Peek::Null => {
                    jiter.known_null().map_err(json_error)?;
                    shape.push(br#"{"type":"null"}"#);
                }
                Peek::True | Peek::False => {
                    let value = jiter.known_bool(peek).map_err(json_error)?;
                    shape.push(br#"{"type":"boolean"}"#);
                    visitor.boolean(&path, value);
                }
                _ => {
                    let raw = jiter.next_number_bytes().map_err(json_error)?;
                    let start = offset_of(input, raw);
                    let span = start..start + raw.len();
                    shape.push(br#"{"type":"number"}"#);
                    visitor.leaf(
                        &path,
                        Leaf {
                            kind: LeafKind::Number,
                            text: Cow::Borrowed(&text[span.clone()]),
                            span,
                            object_start: None,
                        },
                    )?;
                }
            }
        }

        // A value just finished: advance its parent (closing as many containers as end here).
        loop {
            match frames.last_mut() {
                None => {
                    jiter.finish().map_err(json_error)?;
                    return Ok(shape.finish());
                }
                Some(Frame::Array { index }) => {
                    path.pop();
                    match jiter.array_step().map_err(json_error)? {
                        Some(next) => {
                            *index += 1;
                            shape.push(b",");
                            path.push(Segment::Index(*index));
                            pending = Some(next);
                            break;
                        }
                        None => {
                            frames.pop();
                            shape.push(b"]");
                        }
                    }
                }
                Some(Frame::Object { start, .. }) => {
                    let start = *start;
                    path.pop();
                    match jiter.next_key_bytes().map_err(json_error)? {
                        Some(raw) => {
                            let key = key_leaf(text, raw, start, &mut shape, &mut frames)?;
                            path.push(Segment::Key(key.text.clone()));
                            visitor.leaf(&path, key)?;
                            pending = Some(jiter.peek().map_err(json_error)?);
                            break;
                        }
                        None => {
                            frames.pop();
                            shape.push(b"}");
                        }
                    }
                }
            }
        }
    }
}

fn key_leaf<'a>(
    text: &'a str,
    raw: &[u8],
    object_start: usize,
    shape: &mut ShapeHasher,
    frames: &mut [Frame],
) -> Result<Leaf<'a>, ProtectError> {
    let span = raw_span(text.as_bytes(), raw);
    let decoded = decode_string(text, span.clone())?;
    if let Some(Frame::Object { first, .. }) = frames.last_mut() {
        if !*first {
            shape.push(b",");
        }
        *first = false;
    }
    shape.key(&text[span.start + 1..span.end - 1], &decoded);
    Ok(Leaf {
        kind: LeafKind::Key,
        text: decoded,
        span,
        object_start: Some(object_start),
    })
}

/// The span of a string token (quotes included) from jiter's raw content slice.
fn raw_span(input: &[u8], raw: &[u8]) -> Range<usize> {
    let start = offset_of(input, raw);
    start - 1..start + raw.len() + 1
}

fn offset_of(input: &[u8], inner: &[u8]) -> usize {
    inner.as_ptr() as usize - input.as_ptr() as usize
}

/// Decode a string token; borrowed when it has no escapes (the common case).
fn decode_string(text: &str, span: Range<usize>) -> Result<Cow<'_, str>, ProtectError> {
    let content = &text[span.start + 1..span.end - 1];
    if memchr::memchr(b'\\', content.as_bytes()).is_none() {
        return Ok(Cow::Borrowed(content));
    }
    serde_json::from_str::<String>(&text[span.clone()])
        .map(Cow::Owned)
        .map_err(|error| ProtectError::InvalidJson {
            line: error.line(),
            column: error.column(),
            reason: format!("invalid string escape at byte {}", span.start),
        })
}

pub(super) fn invalid_json(input: &[u8], error: JiterError) -> ProtectError {
    let position = jiter::LinePosition::find(input, error.index);
    ProtectError::InvalidJson {
        line: position.line,
        column: position.column,
        reason: error.error_type.to_string(),
    }
}

/// Streams `JSON.stringify(shapeOnly(payload))` into SHA-256 without building it.
struct ShapeHasher {
    context: Context,
    buffer: Vec<u8>,
}

impl ShapeHasher {
    fn new() -> Self {
        ShapeHasher {
            context: Context::new(&SHA256),
            buffer: Vec::with_capacity(4096),
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= 4096 {
            self.context.update(&self.buffer);
            self.buffer.clear();
        }
    }

    fn string_shape(&mut self, value: &str) {
        // JS string length counts UTF-16 code units.
        let length = if value.is_ascii() {
            value.len()
        } else {
            value.encode_utf16().count()
        };
        self.push(br#"{"type":"string","length":"#);
        self.push(itoa::Buffer::new().format(length).as_bytes());
        self.push(b"}");
    }

    /// A key as JSON.stringify writes it. Unescaped raw content is already in that form.
    fn key(&mut self, raw_content: &str, decoded: &str) {
        if raw_content.len() == decoded.len() {
            self.push(b"\"");
            self.push(raw_content.as_bytes());
            self.push(b"\":");
        } else {
            let quoted = serde_json::to_string(decoded).unwrap_or_default();
            self.push(quoted.as_bytes());
            self.push(b":");
        }
    }

    fn finish(mut self) -> String {
        self.context.update(&self.buffer);
        let digest = self.context.finish();
        crate::hash::hex_prefix(digest.as_ref(), 12)
    }
}
