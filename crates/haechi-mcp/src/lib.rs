//! MCP protection: the rules applied to every JSON-RPC message between an MCP client and a
//! tool server, and the two stdio front ends that apply them.
//!
//! - [`filter`] decides what happens to one message (no I/O): the JSON-RPC and allowlist
//!   checks, protection of `params`, `result` and `error`, and where each resulting line goes.
//! - [`stdio`] runs the filter over a newline-delimited stream (`haechi mcp-stdio`).
//! - [`wrap`] spawns a server and filters both directions of its stdio (`haechi mcp-wrap`).
//!
//! This crate never opens keys, vaults or logs itself: it is handed a ready
//! [`haechi_core::protect::Protector`]. It never writes a payload value to an error, a log line
//! or an audit event.

pub mod filter;
pub mod lines;
pub mod message;
pub mod stdio;
pub mod wrap;

pub use filter::{Caller, McpFilter, Outcome, Send, Side, Waiting};
