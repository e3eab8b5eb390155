//! The MCP rules for one message, without I/O: what to check, what to protect, and which side
//! each resulting line goes to. The callers (the stdio filter, `mcp-wrap`, the HTTP target)
//! record the events, then send the lines.
//!
//! The rules, in order:
//! 1. `mcp.requireJsonRpc`: `jsonrpc` must be `"2.0"` (-32002 `haechi_mcp_invalid_jsonrpc`).
//! 2. A method sent by the client must be allowed (-32003 `haechi_mcp_method_not_allowed`).
//!    Lifecycle and discovery methods always pass ([`always_allowed`]); `mcp.allowedMethods`
//!    governs the data-bearing ones. The server's own requests are not client calls and skip it.
//! 3. `params` is protected in the request direction (`mcp.protectParams`); `result` and
//!    `error` in the response direction, injection heuristics on (`mcp.protectResults`).
//!    A block answers -32001 `haechi_policy_block` with the audit id and summary.
//!
//! A refused request is answered to its sender (who waits for that id), a refused response to
//! its receiver (who waits for it instead), a refused notification is dropped. A line that is
//! not one JSON object answers -32000 `haechi_mcp_stdio_error` (id `null`) to the client.
//! Every refusal is audited ([`McpEvent`]); every protection writes its protect event.

use std::sync::Arc;

use haechi_core::audit::{AuditIdentity, McpEvent, PreparedEvent};
use haechi_core::config::{Config, McpConfig};
use haechi_core::policy::CompiledPolicy;
use haechi_core::protect::{ProtectContext, ProtectError, ProtectOutcome, Protector};
use haechi_core::vocab::{Direction, Mode};
use serde_json::value::RawValue;
use serde_json::{json, Value};

use crate::lines::Frame;
use crate::message::{error_line, null, Kind, Message, MessageError};

pub const STDIO_ERROR: (i64, &str) = (-32000, "haechi_mcp_stdio_error");
pub const POLICY_BLOCK: (i64, &str) = (-32001, "haechi_policy_block");
pub const INVALID_JSONRPC: (i64, &str) = (-32002, "haechi_mcp_invalid_jsonrpc");
pub const METHOD_NOT_ALLOWED: (i64, &str) = (-32003, "haechi_mcp_method_not_allowed");

/// Methods every MCP session needs to start, stay alive and discover what a server offers.
/// They carry no user data of their own (their params and results are still protected), so
/// the allowlist does not govern them.
pub fn always_allowed(method: &str) -> bool {
    matches!(
        method,
        "initialize"
            | "server/discover"
            | "notifications/initialized"
            | "ping"
            | "notifications/cancelled"
            | "notifications/progress"
            | "logging/setLevel"
            | "completion/complete"
            // Polling a task started by a call the allowlist already admitted.
            | "tasks/get"
            | "tasks/result"
            | "tasks/cancel"
    ) || method.ends_with("/list")
}

/// The two ends of an MCP session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Client,
    Server,
}

impl Side {
    pub fn other(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }

    /// The audit operation of a refusal of a message this side sent.
    fn operation(self) -> &'static str {
        match self {
            Side::Client => "mcp:client-to-server",
            Side::Server => "mcp:server-to-client",
        }
    }
}

/// One line to write (without its newline) and the side it goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Send {
    pub to: Side,
    pub line: String,
}

/// What one message leads to.
#[derive(Debug)]
pub struct Outcome {
    /// Audit events to record, in order, before any line is sent.
    pub events: Vec<PreparedEvent>,
    /// The lines to send once the events are recorded.
    pub send: Vec<Send>,
    /// Who waits for an answer to this message, told when an event cannot be recorded:
    /// nothing unrecorded is forwarded, and the waiting side gets an error, not silence.
    pub waiting: Option<Waiting>,
}

/// The side waiting for an answer, and the id it waits for.
#[derive(Debug)]
pub struct Waiting {
    pub to: Side,
    pub id: Box<RawValue>,
}

impl Waiting {
    /// What to send instead of the outcome's lines when an event could not be recorded (built
    /// only then: the common case pays nothing for it).
    pub fn unrecorded_answer(&self) -> Send {
        let data = json!({
            "reason": "the audit log could not be written; the message was not forwarded"
        });
        Send {
            to: self.to,
            line: error_line(&self.id, STDIO_ERROR.0, STDIO_ERROR.1, &data),
        }
    }
}

/// A stderr line of a wrapped server after protection.
#[derive(Debug)]
pub struct StderrLine {
    /// The line to print, or `None` when it must be dropped (a block, or it could not be
    /// inspected).
    pub line: Option<String>,
    /// The protect event, when something was detected.
    pub event: Option<PreparedEvent>,
}

/// Whom a session's messages are protected for: the policy that applies (a profile's, behind
/// an authenticating gateway) and what the audit events say about the caller.
#[derive(Clone)]
pub struct Caller {
    pub policy: Arc<CompiledPolicy>,
    pub correlation_id: Option<String>,
    pub identity: Option<AuditIdentity>,
    pub profile: Option<String>,
}

pub struct McpFilter {
    protector: Arc<Protector>,
    settings: McpConfig,
    mode: Mode,
    protocol: String,
}

impl McpFilter {
    /// `protocol` names the transport in audit events (`mcp-stdio`, `mcp-http`).
    pub fn new(protector: Arc<Protector>, config: &Config, protocol: &str) -> McpFilter {
        McpFilter {
            protector,
            settings: config.mcp.clone(),
            mode: config.effective_mode(),
            protocol: protocol.to_owned(),
        }
    }

    /// The caller of a local session (stdio): the base policy, no identity.
    pub fn local_caller(&self) -> Caller {
        Caller {
            policy: Arc::clone(&self.protector.policies().base().policy),
            correlation_id: None,
            identity: None,
            profile: None,
        }
    }

    pub fn max_message_bytes(&self) -> usize {
        self.settings.max_message_bytes
    }

    /// One frame read from `from`.
    pub fn handle_frame(&self, frame: &Frame, from: Side, caller: &Caller) -> Outcome {
        match frame {
            Frame::Line(line) => self.handle_line(line, from, caller),
            Frame::Oversized { head, .. } => {
                let reason = format!(
                    "the message is longer than mcp.maxMessageBytes ({} bytes) and was discarded",
                    self.settings.max_message_bytes
                );
                let code = "exceeds_max_message_bytes";
                match crate::message::peek_envelope(head) {
                    // Whoever waits for this id gets the error instead of waiting forever.
                    Some((kind, id)) => Refusal {
                        filter: self,
                        caller,
                        id,
                        to: Some(match kind {
                            Kind::Request => from,
                            _ => from.other(),
                        }),
                        from,
                    }
                    .refuse(
                        Vec::new(),
                        STDIO_ERROR,
                        &json!({ "reason": reason }),
                        Some(("mcp_oversized", code, None)),
                    ),
                    None => self.unreadable(from, caller, code, &reason, "mcp_oversized"),
                }
            }
        }
    }

    /// One line (without its newline) read from `from`.
    pub fn handle_line(&self, line: &[u8], from: Side, caller: &Caller) -> Outcome {
        let parsed = std::str::from_utf8(line)
            .map_err(|_| MessageError::NotUtf8)
            .and_then(|text| Message::parse(text).map(|message| (text, message)));
        match parsed {
            Ok((text, message)) => self.handle_message(text, message, from, caller),
            Err(error) => self.unreadable(
                from,
                caller,
                error.reason(),
                &error.to_string(),
                "mcp_invalid_message",
            ),
        }
    }

    /// One parsed message; `original` is its text, forwarded as is when nothing changes.
    pub fn handle_message(
        &self,
        original: &str,
        message: Message,
        from: Side,
        caller: &Caller,
    ) -> Outcome {
        let refusal = Refusal {
            filter: self,
            caller,
            id: message.reply_id(),
            to: match message.kind() {
                Kind::Request => Some(from),
                Kind::Response => Some(from.other()),
                Kind::Notification => None,
            },
            from,
        };
        let method = message.method();
        match self.admit(&message, method.as_ref(), from, &refusal) {
            Some(refused) => refused,
            None => {
                let operation = match method {
                    Some(Ok(method)) => method,
                    _ => "params".to_owned(),
                };
                self.protect_members(original, message, &operation, from, caller, &refusal)
            }
        }
    }

    /// Rules 1 and 2: the JSON-RPC version and, for the client, the method allowlist.
    fn admit(
        &self,
        message: &Message,
        method: Option<&Result<String, ()>>,
        from: Side,
        refusal: &Refusal<'_>,
    ) -> Option<Outcome> {
        if self.settings.require_json_rpc && !message.is_jsonrpc_2() {
            return Some(refusal.refuse(
                Vec::new(),
                INVALID_JSONRPC,
                &json!({ "reason": "MCP messages must use JSON-RPC 2.0" }),
                Some(("mcp_invalid_jsonrpc", "not_jsonrpc_2", None)),
            ));
        }
        match method {
            Some(Err(())) => Some(refusal.refuse(
                Vec::new(),
                INVALID_JSONRPC,
                &json!({ "reason": "the JSON-RPC method must be a string" }),
                Some(("mcp_invalid_jsonrpc", "method_not_a_string", None)),
            )),
            Some(Ok(method)) if from == Side::Client && !self.allows(method) => {
                Some(refusal.refuse(
                    Vec::new(),
                    METHOD_NOT_ALLOWED,
                    &json!({ "method": method }),
                    Some((
                        "mcp_method_not_allowed",
                        "not_in_allowlist",
                        audit_method(method),
                    )),
                ))
            }
            _ => None,
        }
    }

    /// Rule 3: protect `params` (audited under `operation`), `result` and `error`, then
    /// forward (the original text when nothing changed).
    fn protect_members(
        &self,
        original: &str,
        mut message: Message,
        operation: &str,
        from: Side,
        caller: &Caller,
        refusal: &Refusal<'_>,
    ) -> Outcome {
        let settings = &self.settings;
        let members = [
            (
                "params",
                settings.protect_params,
                Direction::Request,
                operation,
            ),
            (
                "result",
                settings.protect_results,
                Direction::Response,
                "result",
            ),
            (
                "error",
                settings.protect_results,
                Direction::Response,
                "error",
            ),
        ];
        let mut events = Vec::new();
        let mut changed = false;
        for (member, enabled, direction, operation) in members {
            let Some(raw) = message.get(member).filter(|_| enabled) else {
                continue;
            };
            let (outcome, event) = match self.protect(raw.get(), operation, direction, caller) {
                Ok(protected) => protected,
                Err(error) => {
                    let data = json!({ "reason": error.to_string() });
                    let audit = Some(("mcp_invalid_message", error.code(), None));
                    return refusal.refuse(events, STDIO_ERROR, &data, audit);
                }
            };
            events.push(event);
            if outcome.blocked {
                let data = json!({ "auditId": outcome.audit_id, "summary": outcome.summary });
                return refusal.refuse(events, POLICY_BLOCK, &data, None);
            }
            match rewritten(&outcome, raw.get()) {
                Ok(None) => {}
                Ok(Some(text)) => {
                    message.set(member, text);
                    changed = true;
                }
                Err(()) => {
                    // Never forward the unprotected member instead.
                    let data = json!({ "reason": "the protected message could not be rebuilt" });
                    return refusal.refuse(events, STDIO_ERROR, &data, None);
                }
            }
        }

        let line = if changed {
            message.to_line()
        } else {
            original.trim_end_matches(['\r', '\n']).to_owned()
        };
        Outcome {
            events,
            send: vec![Send {
                to: from.other(),
                line,
            }],
            waiting: refusal.waiting(),
        }
    }

    /// Record an outcome's events through the protector's audit sink; the lines to send are
    /// the outcome's, or its `unrecorded` answer when an event could not be written.
    pub fn record(&self, outcome: Outcome) -> Vec<Send> {
        self.record_batch(vec![outcome])
    }

    /// [`Self::record`] for several outcomes at once: their events in one append, then their
    /// lines in order (or, when the append fails, every outcome's `unrecorded` answer).
    pub fn record_batch(&self, outcomes: Vec<Outcome>) -> Vec<Send> {
        let mut events = Vec::new();
        let mut send = Vec::new();
        let mut waiting = Vec::new();
        for outcome in outcomes {
            events.extend(outcome.events);
            send.extend(outcome.send);
            waiting.extend(outcome.waiting);
        }
        match self.protector.audit().record_all(events) {
            Ok(()) => send,
            Err(_) => waiting.iter().map(Waiting::unrecorded_answer).collect(),
        }
    }

    /// Record one event through the protector's audit sink.
    pub fn record_event(
        &self,
        event: PreparedEvent,
    ) -> Result<(), haechi_core::seams::ProviderError> {
        self.protector.audit().record(event)
    }

    /// One stderr line of a wrapped server, protected as response text.
    pub fn protect_stderr_line(&self, line: &str) -> StderrLine {
        let Ok(json) = serde_json::to_string(line) else {
            return StderrLine {
                line: None,
                event: None,
            };
        };
        match self.protect(&json, "stderr", Direction::Response, &self.local_caller()) {
            Ok((outcome, event)) => {
                let text = outcome
                    .output(&json)
                    .and_then(|text| serde_json::from_str::<String>(text).ok());
                let event = (outcome.summary.detection_count > 0).then_some(event);
                StderrLine { line: text, event }
            }
            Err(_) => StderrLine {
                line: None,
                event: None,
            },
        }
    }

    fn allows(&self, method: &str) -> bool {
        let allowed = &self.settings.allowed_methods;
        always_allowed(method) || allowed.iter().any(|m| m == "*" || m == method)
    }

    fn protect(
        &self,
        text: &str,
        operation: &str,
        direction: Direction,
        caller: &Caller,
    ) -> Result<(ProtectOutcome, PreparedEvent), ProtectError> {
        let mut context =
            ProtectContext::new(self.protocol.as_str(), operation, direction, self.mode);
        context.correlation_id.clone_from(&caller.correlation_id);
        context.identity.clone_from(&caller.identity);
        context.profile.clone_from(&caller.profile);
        self.protector
            .protect_unrecorded(text, &context, &caller.policy)
    }

    /// Input that is not one JSON-RPC object (a line, a stream event): -32000 to the client,
    /// id `null`, audited as `decision` with the reason code `code`.
    pub fn unreadable(
        &self,
        from: Side,
        caller: &Caller,
        code: &str,
        reason: &str,
        decision: &str,
    ) -> Outcome {
        let line = error_line(
            &null(),
            STDIO_ERROR.0,
            STDIO_ERROR.1,
            &json!({ "reason": reason }),
        );
        Outcome {
            events: vec![self.refusal_event(from, caller, decision, code, None)],
            send: vec![Send {
                to: Side::Client,
                line,
            }],
            waiting: Some(Waiting {
                to: Side::Client,
                id: null(),
            }),
        }
    }

    fn refusal_event(
        &self,
        from: Side,
        caller: &Caller,
        decision: &str,
        reason: &str,
        method: Option<&str>,
    ) -> PreparedEvent {
        McpEvent {
            id: uuid::Uuid::new_v4().to_string(),
            correlation_id: caller.correlation_id.clone(),
            timestamp: haechi_core::clock::iso_now(),
            protocol: self.protocol.clone(),
            operation: from.operation().to_owned(),
            mode: self.mode,
            identity: caller.identity.clone(),
            enforced: true,
            blocked: true,
            decision: decision.to_owned(),
            reason: reason.to_owned(),
            method: method.map(str::to_owned),
        }
        .prepare()
    }
}

/// How to refuse one message: the error goes to whoever waits for its id.
struct Refusal<'a> {
    filter: &'a McpFilter,
    caller: &'a Caller,
    id: Box<RawValue>,
    to: Option<Side>,
    from: Side,
}

impl Refusal<'_> {
    /// `audit` is `(decision, reason, method)` for a refusal that no protect event records.
    fn refuse(
        &self,
        mut events: Vec<PreparedEvent>,
        (code, name): (i64, &str),
        data: &Value,
        audit: Option<(&str, &str, Option<&str>)>,
    ) -> Outcome {
        if let Some((decision, reason, method)) = audit {
            events.push(self.filter.refusal_event(
                self.from,
                self.caller,
                decision,
                reason,
                method,
            ));
        }
        Outcome {
            events,
            send: self.answer(code, name, data),
            waiting: self.waiting(),
        }
    }

    fn waiting(&self) -> Option<Waiting> {
        self.to.map(|to| Waiting {
            to,
            id: self.id.clone(),
        })
    }

    fn answer(&self, code: i64, name: &str, data: &Value) -> Vec<Send> {
        self.to
            .map(|to| Send {
                to,
                line: error_line(&self.id, code, name, data),
            })
            .into_iter()
            .collect()
    }
}

/// The protected member text, when protection rewrote it; `Err` when the rewrite is not
/// valid JSON (the caller refuses rather than forward the original).
fn rewritten(outcome: &ProtectOutcome, original: &str) -> Result<Option<Box<RawValue>>, ()> {
    match outcome.output(original) {
        Some(text) if text != original => RawValue::from_string(text.to_owned())
            .map(Some)
            .map_err(|_| ()),
        _ => Ok(None),
    }
}

/// A method name fit for the audit log: a plain protocol name, never arbitrary text.
fn audit_method(method: &str) -> Option<&str> {
    let plain = method.len() <= 128
        && method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_.:-$".contains(&b));
    plain.then_some(method)
}
