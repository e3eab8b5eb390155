//! The HTTP gateway behind `haechi proxy`.
//!
//! It owns everything between a client's socket and the one configured upstream: the listener
//! (plain or rustls), protocol adapters and route classification, who may call (auth, profiles,
//! model allowlist, rate limits), limits and backpressure, request and response protection
//! through the core [`haechi_core::protect::Protector`], the upstream client, observability
//! routes and metrics, and graceful drain.
//!
//! It must never contact any host but `target.upstream`, never forward a request it could not
//! protect, and never put a payload value, header value, token or credential in a log line,
//! metric label, audit event or error body.

pub mod auth;
pub mod metrics;
pub mod rate;
pub mod tls;
