//! The per-call protect context: what the caller says about this payload. It is recorded in
//! the audit event and bound into the AAD of encrypted values and vault records.

use serde_json::{Map, Value};

use crate::audit::AuditIdentity;
use crate::vocab::{Direction, Mode};

#[derive(Debug, Clone, PartialEq)]
pub struct ProtectContext {
    /// The target or protocol (`openai-compatible`, `mcp-stdio`, `llm-http`…); `custom` by default.
    pub protocol: String,
    /// What is being protected (`cli protect`, a route id…); `protect` by default.
    pub operation: String,
    pub direction: Direction,
    /// The effective enforcement mode for this call.
    pub mode: Mode,
    pub correlation_id: Option<String>,
    pub identity: Option<AuditIdentity>,
    pub profile: Option<String>,
}

impl ProtectContext {
    pub fn new(
        protocol: impl Into<String>,
        operation: impl Into<String>,
        direction: Direction,
        mode: Mode,
    ) -> Self {
        ProtectContext {
            protocol: protocol.into(),
            operation: operation.into(),
            direction,
            mode,
            correlation_id: None,
            identity: None,
            profile: None,
        }
    }

    /// The context object as the reference passes it to crypto and the vault: only the fields
    /// that are set, so an AAD made by either implementation for the same call is identical.
    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("protocol".into(), Value::String(self.protocol.clone()));
        map.insert("operation".into(), Value::String(self.operation.clone()));
        map.insert(
            "direction".into(),
            Value::String(self.direction.as_str().into()),
        );
        map.insert("mode".into(), Value::String(self.mode.as_str().into()));
        if let Some(id) = &self.correlation_id {
            map.insert("correlationId".into(), Value::String(id.clone()));
        }
        if let Some(identity) = &self.identity {
            map.insert(
                "identity".into(),
                serde_json::to_value(identity).unwrap_or(Value::Null),
            );
        }
        if let Some(profile) = &self.profile {
            map.insert("profile".into(), Value::String(profile.clone()));
        }
        Value::Object(map)
    }
}
