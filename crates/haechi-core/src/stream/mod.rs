//! Streamed answers, without I/O: the framing of server-sent events (SSE). Callers feed the
//! bytes as they arrive and get whole events back, so every event can be inspected before it
//! is relayed.

pub mod sse;
