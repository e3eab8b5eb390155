//! One JSON-RPC message as read off the wire. Its top-level members are kept as raw JSON text
//! in their order, so the members the filter does not touch are forwarded exactly as sent.

use indexmap::IndexMap;
use serde_json::value::RawValue;
use serde_json::Value;

/// What a line could not be read as. The texts never quote the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("JSON-RPC batch messages are not supported by the MCP stdio filter")]
    Batch,
    #[error("MCP message must be a JSON object")]
    NotObject,
    #[error("the message is not valid JSON (line {line}, column {column})")]
    InvalidJson { line: usize, column: usize },
    #[error("the message is not valid UTF-8")]
    NotUtf8,
}

impl MessageError {
    /// The reason code recorded in the audit event.
    pub fn reason(&self) -> &'static str {
        match self {
            MessageError::Batch => "batch_not_supported",
            MessageError::NotObject => "not_an_object",
            MessageError::InvalidJson { .. } => "invalid_json",
            MessageError::NotUtf8 => "not_utf8",
        }
    }
}

/// What a message is, by the members JSON-RPC 2.0 gives meaning to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Has `method` and `id`: the sender waits for an answer.
    Request,
    /// Has `method` and no `id`: nobody waits; a refused one is dropped without a reply.
    Notification,
    /// Has no `method`: the answer (`result` or `error`) to a request of the other side.
    Response,
}

#[derive(Debug, Clone)]
pub struct Message {
    members: IndexMap<String, Box<RawValue>>,
}

impl Message {
    /// Read one line. Duplicate keys keep the last value, as `JSON.parse` does.
    pub fn parse(line: &str) -> Result<Message, MessageError> {
        match line.trim_start().as_bytes().first() {
            Some(b'{') => {}
            Some(b'[') if serde_json::from_str::<&RawValue>(line).is_ok() => {
                return Err(MessageError::Batch)
            }
            _ => {
                return Err(match serde_json::from_str::<&RawValue>(line) {
                    Ok(_) => MessageError::NotObject,
                    Err(error) => invalid_json(&error),
                })
            }
        }
        serde_json::from_str(line)
            .map(|members| Message { members })
            .map_err(|error| invalid_json(&error))
    }

    pub fn kind(&self) -> Kind {
        match (self.has("method"), self.has("id")) {
            (true, true) => Kind::Request,
            (true, false) => Kind::Notification,
            (false, _) => Kind::Response,
        }
    }

    pub fn has(&self, member: &str) -> bool {
        self.members.contains_key(member)
    }

    pub fn get(&self, member: &str) -> Option<&RawValue> {
        self.members.get(member).map(AsRef::as_ref)
    }

    /// The `method` member: `None` when absent, `Some(Err(()))` when it is not a string.
    pub fn method(&self) -> Option<Result<String, ()>> {
        self.get("method")
            .map(|raw| serde_json::from_str::<String>(raw.get()).map_err(|_| ()))
    }

    /// Whether `jsonrpc` is the string `"2.0"`.
    pub fn is_jsonrpc_2(&self) -> bool {
        self.get("jsonrpc")
            .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
            .is_some_and(|version| version == "2.0")
    }

    /// The `id` to answer with: the request's own, or `null` when it has none.
    pub fn reply_id(&self) -> Box<RawValue> {
        match self.get("id") {
            Some(raw) => raw.to_owned(),
            None => null(),
        }
    }

    /// Replace a member's value (its position is kept).
    pub fn set(&mut self, member: &str, value: Box<RawValue>) {
        if let Some(slot) = self.members.get_mut(member) {
            *slot = value;
        }
    }

    /// The message as one line, without the newline.
    pub fn to_line(&self) -> String {
        // Raw members serialize as their own text; keys are re-escaped: this cannot fail.
        serde_json::to_string(&self.members).unwrap_or_else(|_| String::from("{}"))
    }
}

/// What the start of a message too long to read says about it: whether it is a request
/// (`method` or `params` seen) or a response (`result` or `error` seen), and its `id`. The id
/// counts only when another member follows it, so a value cut off by the bound is never
/// taken for the whole id. `None` when the head does not tell.
pub fn peek_envelope(head: &[u8]) -> Option<(Kind, Box<RawValue>)> {
    let value = jiter::JsonValue::parse_with_config(head, false, jiter::PartialMode::On).ok()?;
    let jiter::JsonValue::Object(members) = value else {
        return None;
    };
    let keys: Vec<&str> = members.iter().map(|(key, _)| key.as_ref()).collect();
    // The last `id` wins, as in `JSON.parse`.
    let at = keys.iter().rposition(|&key| key == "id")?;
    if at + 1 >= keys.len() {
        return None;
    }
    let id = match &members[at].1 {
        jiter::JsonValue::Int(n) => n.to_string(),
        jiter::JsonValue::Str(text) => serde_json::to_string(text.as_ref()).ok()?,
        jiter::JsonValue::Null => "null".to_owned(),
        _ => return None,
    };
    let kind = if keys.iter().any(|&key| key == "method" || key == "params") {
        Kind::Request
    } else if keys.iter().any(|&key| key == "result" || key == "error") {
        Kind::Response
    } else {
        return None;
    };
    Some((kind, RawValue::from_string(id).ok()?))
}

/// A JSON-RPC error answer, with its members in the reference's order.
pub fn error_line(id: &RawValue, code: i64, message: &str, data: &Value) -> String {
    #[derive(serde::Serialize)]
    struct Answer<'a> {
        jsonrpc: &'static str,
        error: ErrorBody<'a>,
        id: &'a RawValue,
    }
    #[derive(serde::Serialize)]
    struct ErrorBody<'a> {
        code: i64,
        message: &'a str,
        data: &'a Value,
    }
    let answer = Answer {
        jsonrpc: "2.0",
        error: ErrorBody {
            code,
            message,
            data,
        },
        id,
    };
    serde_json::to_string(&answer).unwrap_or_default()
}

pub fn null() -> Box<RawValue> {
    RawValue::NULL.to_owned()
}

fn invalid_json(error: &serde_json::Error) -> MessageError {
    MessageError::InvalidJson {
        line: error.line(),
        column: error.column(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_members_present() {
        let kind = |line: &str| Message::parse(line).map(|m| m.kind());
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#),
            Ok(Kind::Request)
        );
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            Ok(Kind::Notification)
        );
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#),
            Ok(Kind::Response)
        );
        // An explicit null id is still an id: the sender waits.
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#),
            Ok(Kind::Request)
        );
    }

    #[test]
    fn shapes_that_are_not_one_object_are_refused_without_quoting_the_line() {
        assert_eq!(Message::parse("[{}]").err(), Some(MessageError::Batch));
        assert_eq!(Message::parse("\"x\"").err(), Some(MessageError::NotObject));
        let error = Message::parse("not-json").err();
        assert!(matches!(error, Some(MessageError::InvalidJson { .. })));
        let error = Message::parse(r#"{"secret":"sk_live_4eC39HqLyjWDarjtT1zdp7dc""#).err();
        let text = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(text.contains("not valid JSON") && !text.contains("sk_live"));
    }

    #[test]
    fn untouched_members_keep_their_text_and_order() {
        let line =
            r#"{"jsonrpc":"2.0","id":7,"params":{"n":1.50,"s":"\u00e9"},"method":"tools/call"}"#;
        let mut message = Message::parse(line).map_err(|e| e.to_string());
        let Ok(message) = message.as_mut() else {
            panic!("parse failed: {message:?}");
        };
        assert_eq!(message.to_line(), line);
        message.set("params", null());
        assert_eq!(
            message.to_line(),
            r#"{"jsonrpc":"2.0","id":7,"params":null,"method":"tools/call"}"#
        );
    }

    #[test]
    fn method_and_version_are_read_as_strings() {
        let message = Message::parse(r#"{"jsonrpc":"2\u002e0","method":5}"#);
        let Ok(message) = message else {
            panic!("parse failed");
        };
        assert!(message.is_jsonrpc_2());
        assert_eq!(message.method(), Some(Err(())));
        assert_eq!(message.reply_id().get(), "null");
    }

    #[test]
    fn the_head_of_a_long_message_tells_its_id_and_kind() {
        let peek =
            |head: &str| peek_envelope(head.as_bytes()).map(|(k, id)| (k, id.get().to_owned()));
        assert_eq!(
            peek(r#"{"jsonrpc":"2.0","id":7,"result":{"content":[{"text":"xxxx"#),
            Some((Kind::Response, "7".to_owned()))
        );
        assert_eq!(
            peek(r#"{"jsonrpc":"2.0","id":"a\"b","method":"tools/call","params":{"x":"yy"#),
            Some((Kind::Request, r#""a\"b""#.to_owned()))
        );
        // An id at the cut may itself be cut: not trusted.
        assert_eq!(peek(r#"{"jsonrpc":"2.0","id":12345"#), None);
        assert_eq!(peek(r#"{"jsonrpc":"2.0","id":"abc"#), None);
        // No id before the cut, or not an object.
        assert_eq!(peek(r#"{"jsonrpc":"2.0","params":{"x":"yy"#), None);
        assert_eq!(peek("[1,2,"), None);
    }

    #[test]
    fn errors_are_written_in_the_reference_order() {
        let id = RawValue::from_string("\"a\"".into()).unwrap_or_else(|_| null());
        assert_eq!(
            error_line(
                &id,
                -32003,
                "haechi_mcp_method_not_allowed",
                &serde_json::json!({"method":"x"})
            ),
            r#"{"jsonrpc":"2.0","error":{"code":-32003,"message":"haechi_mcp_method_not_allowed","data":{"method":"x"}},"id":"a"}"#
        );
    }
}
