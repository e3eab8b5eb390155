//! Configuration: the model ([`model`]), the reference defaults ([`defaults`]) and fail-closed
//! loading ([`load`]): unknown keys, wrong kinds and out-of-range values are refused with a
//! message naming the key path, what was found and what is allowed.

pub mod defaults;
pub mod model;

pub use defaults::{default_config, DEFAULT_CONFIG_PATH, DEFAULT_PROXY_PORT};
pub use model::*;
