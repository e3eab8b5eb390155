//! Reading a request's top-level `model` and `stream` before it is protected: the gateway
//! decides the model allowlist and the streaming mode on them. A skim: the document is checked
//! as protection checks it (same depth bound, same JSON errors) but nothing else is decoded,
//! hashed or tracked. Like `JSON.parse`, the last duplicate key wins.

use jiter::{Jiter, Peek};

use super::walk::invalid_json;
use super::ProtectError;

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

/// Which field the value being read belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wanted {
    Model,
    Stream,
    Neither,
}

/// Read `model` and `stream` from a JSON document (any JSON; non-objects have neither).
pub fn request_fields(text: &str, max_depth: usize) -> Result<RequestFields, ProtectError> {
    let input = text.as_bytes();
    let json_error = |error| invalid_json(input, error);
    let mut jiter = Jiter::new(input);
    let mut fields = RequestFields::default();
    // Open containers, innermost last: `true` for an object.
    let mut frames: Vec<bool> = Vec::new();
    let mut wanted = Wanted::Neither;
    let mut peek = jiter.peek().map_err(json_error)?;
    loop {
        let top_level = frames.len() == 1 && frames[0];
        let wanted_here = if top_level { wanted } else { Wanted::Neither };
        match peek {
            Peek::Object | Peek::Array if frames.len() >= max_depth => {
                return Err(ProtectError::TooDeeplyNested { max_depth });
            }
            Peek::Object | Peek::Array => {
                fields.set_other(wanted_here);
                let opened = if peek == Peek::Object {
                    match jiter.next_object_bytes().map_err(json_error)? {
                        Some(key) => {
                            frames.push(true);
                            wanted = wanted_key(key, frames.len() == 1)?;
                            peek = jiter.peek().map_err(json_error)?;
                            true
                        }
                        None => false,
                    }
                } else {
                    match jiter.known_array().map_err(json_error)? {
                        Some(first) => {
                            frames.push(false);
                            peek = first;
                            true
                        }
                        None => false,
                    }
                };
                if opened {
                    continue;
                }
            }
            Peek::String if wanted_here == Wanted::Model => {
                let model = jiter.known_str().map_err(json_error)?;
                fields.model = TopField::Is(model.to_owned());
            }
            Peek::True | Peek::False if wanted_here == Wanted::Stream => {
                fields.stream = TopField::Is(jiter.known_bool(peek).map_err(json_error)?);
            }
            _ => {
                fields.set_other(wanted_here);
                jiter.known_skip(peek).map_err(json_error)?;
            }
        }
        // A value ended: move on in the containers it closes.
        loop {
            match frames.last() {
                None => {
                    jiter.finish().map_err(json_error)?;
                    return Ok(fields);
                }
                Some(true) => {
                    if let Some(key) = jiter.next_key_bytes().map_err(json_error)? {
                        wanted = wanted_key(key, frames.len() == 1)?;
                        peek = jiter.peek().map_err(json_error)?;
                        break;
                    }
                }
                Some(false) => {
                    if let Some(next) = jiter.array_step().map_err(json_error)? {
                        peek = next;
                        break;
                    }
                }
            }
            frames.pop();
        }
    }
}

impl RequestFields {
    fn set_other(&mut self, wanted: Wanted) {
        match wanted {
            Wanted::Model => self.model = TopField::Other,
            Wanted::Stream => self.stream = TopField::Other,
            Wanted::Neither => {}
        }
    }
}

/// The field a key names (decoding escapes, as `JSON.parse` does); only top-level keys count.
fn wanted_key(raw: &[u8], top_level: bool) -> Result<Wanted, ProtectError> {
    if !top_level {
        return Ok(Wanted::Neither);
    }
    let decoded;
    let key: &[u8] = if memchr::memchr(b'\\', raw).is_none() {
        raw
    } else {
        let mut quoted = Vec::with_capacity(raw.len() + 2);
        quoted.push(b'"');
        quoted.extend_from_slice(raw);
        quoted.push(b'"');
        decoded = serde_json::from_slice::<String>(&quoted).map_err(|error| {
            ProtectError::InvalidJson {
                line: error.line(),
                column: error.column(),
                reason: "invalid string escape in a key".to_string(),
            }
        })?;
        decoded.as_bytes()
    };
    Ok(match key {
        b"model" => Wanted::Model,
        b"stream" => Wanted::Stream,
        _ => Wanted::Neither,
    })
}
