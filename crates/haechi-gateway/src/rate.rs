//! Per-identity rate limits.
