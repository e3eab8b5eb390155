//! # haechi-core
//!
//! The I/O-free heart of Haechi. This crate owns:
//!
//! - [`config`]: the `haechi.config.json` model, its defaults and fail-closed validation;
//! - [`detect`]: the built-in rule table, validators, Unicode folding and decode-and-rescan;
//! - [`policy`]: actions, their strength, presets, privacy profiles and named profiles;
//! - [`protect`]: the JSON leaf walk, PII-safe paths and the transforms;
//! - [`audit`]: the audit event schema, the sanitizer, canonical JSON and the chain math;
//! - [`stream`]: the framing of streamed answers (server-sent events).
//!
//! It must never touch the file system, the network or the clock's side effects beyond reading
//! the time: everything stateful (keys, the token vault, the audit file) is reached through the
//! traits in [`seams`], so every rule and decision here is unit-testable.

pub mod audit;
pub mod clock;
pub mod config;
pub mod detect;
pub mod hash;
pub mod js_json;
pub mod markers;
pub mod policy;
pub mod protect;
pub mod seams;
pub mod stream;
pub mod vocab;
