//! The HTTP gateway behind `haechi proxy`.
//!
//! It owns everything between a client's socket and the one configured upstream: the listener
//! (plain or rustls), protocol adapters and route classification, who may call (auth, profiles,
//! model allowlist, rate limits), limits and backpressure, request and response protection
//! through the core [`haechi_core::protect::Protector`], the upstream client, observability
//! routes and metrics, and graceful drain. A request goes through phases (`handler.rs`), each
//! refusing with one [`GatewayError`]; [`assembly`] builds the whole gateway from a config
//! ([`Gateway::from_config`]) with the same fail-closed rules for the CLI and for embedders.
//!
//! It must never contact any host but `target.upstream`, never forward a request it could not
//! protect or audit, and never put a payload value, header value, token or credential in a log
//! line, metric label, audit event or error body.

pub mod adapters;
pub mod assembly;
pub mod audit;
pub mod auth;
mod body;
mod error;
mod gateway;
mod handler;
pub mod headers;
pub mod logging;
mod mcp;
pub mod metrics;
mod observability;
mod outside;
pub mod rate;
mod reply;
mod response;
mod scope;
pub mod server;
pub mod tls;
mod tokens;
mod upstream;

/// The README's Rust examples, compiled as doc tests so they keep matching the API.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeExamples;

pub use error::GatewayError;
pub use gateway::{
    run_blocking, Detokenizer, Gateway, GatewayConfigError, GatewayParts, OffloadedTokenizer,
    ReadinessProbe,
};
pub use observability::VERSION;
pub use server::{bind, BoundGateway, Drain, ListenOptions, ServeError};
pub use upstream::UpstreamConfigError;
