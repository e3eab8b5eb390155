//! The `haechi report` summary over parsed audit events.
//!
//! The first five fields are the reference's `readAuditSummary` output (`events`, `blocked`,
//! `detections`, `byType`, `byAction`); the rest are additive breakdowns by decision,
//! operation, protocol and mode. Counts read from events are only ever numbers and names.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::chain::integer;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditSummary {
    pub events: u64,
    pub blocked: u64,
    pub detections: u64,
    pub by_type: IndexMap<String, u64>,
    pub by_action: IndexMap<String, u64>,
    pub by_decision: IndexMap<String, u64>,
    pub by_operation: IndexMap<String, u64>,
    pub by_protocol: IndexMap<String, u64>,
    pub by_mode: IndexMap<String, u64>,
}

impl AuditSummary {
    /// Summarizes a sequence of parsed events.
    pub fn of<'a, I: IntoIterator<Item = &'a Value>>(events: I) -> AuditSummary {
        let mut summary = AuditSummary::default();
        for event in events {
            summary.add(event);
        }
        summary
    }

    /// Adds one parsed event (any JSON value; fields that are absent or mistyped count as 0).
    pub fn add(&mut self, event: &Value) {
        self.events += 1;
        if event.get("blocked").is_some_and(is_truthy) {
            self.blocked += 1;
        }
        let summary = event.get("summary");
        self.detections += summary
            .and_then(|s| s.get("detectionCount"))
            .and_then(integer)
            .unwrap_or(0);
        merge_counts(&mut self.by_type, summary.and_then(|s| s.get("byType")));
        merge_counts(&mut self.by_action, summary.and_then(|s| s.get("byAction")));
        count_name(&mut self.by_decision, event.get("decision"));
        count_name(&mut self.by_operation, event.get("operation"));
        count_name(&mut self.by_protocol, event.get("protocol"));
        count_name(&mut self.by_mode, event.get("mode"));
    }
}

fn merge_counts(target: &mut IndexMap<String, u64>, source: Option<&Value>) {
    let Some(Value::Object(source)) = source else {
        return;
    };
    for (key, count) in source {
        if let Some(count) = integer(count) {
            add_to(target, key, count);
        }
    }
}

fn count_name(target: &mut IndexMap<String, u64>, name: Option<&Value>) {
    if let Some(Value::String(name)) = name {
        add_to(target, name, 1);
    }
}

fn add_to(target: &mut IndexMap<String, u64>, key: &str, count: u64) {
    match target.get_mut(key) {
        Some(total) => *total = total.saturating_add(count),
        None => {
            target.insert(key.to_owned(), count);
        }
    }
}

fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summarizes_like_the_reference_plus_breakdowns() {
        let events = [
            json!({"protocol": "llm-http", "operation": "protect", "mode": "enforce", "blocked": true,
                   "summary": {"detectionCount": 2, "byType": {"secret": 1, "email": 1}, "byAction": {"block": 1, "mask": 1}}}),
            json!({"protocol": "token-vault", "operation": "token-vault:reveal", "mode": "n/a",
                   "blocked": false, "decision": "reveal_denied",
                   "summary": {"detectionCount": 0, "byType": {}, "byAction": {"reveal_denied": 1}}}),
            json!({"protocol": "llm-http", "operation": "protect", "mode": "enforce",
                   "summary": {"detectionCount": 1, "byType": {"email": 1}, "byAction": {"mask": 1}}}),
            json!({"unrelated": true}),
        ];
        let summary = AuditSummary::of(&events);
        let out = serde_json::to_value(&summary).unwrap_or(Value::Null);
        assert_eq!(
            out,
            json!({
                "events": 4, "blocked": 1, "detections": 3,
                "byType": {"secret": 1, "email": 2},
                "byAction": {"block": 1, "mask": 2, "reveal_denied": 1},
                "byDecision": {"reveal_denied": 1},
                "byOperation": {"protect": 2, "token-vault:reveal": 1},
                "byProtocol": {"llm-http": 2, "token-vault": 1},
                "byMode": {"enforce": 2, "n/a": 1}
            })
        );
        let keys: Vec<&String> = summary.by_type.keys().collect();
        assert_eq!(keys, ["secret", "email"]);
    }

    #[test]
    fn an_empty_log_summarizes_to_zeroes() {
        let out = serde_json::to_value(AuditSummary::default()).unwrap_or(Value::Null);
        assert_eq!(out["events"], 0);
        assert_eq!(out["byType"], json!({}));
    }
}
