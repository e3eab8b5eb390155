//! Configuration: the model ([`model`]), the reference defaults ([`defaults`]) and
//! fail-closed loading ([`load_config_str`]): unknown keys, wrong kinds and out-of-range
//! values are refused with a one-line message naming the key path, what was found and what
//! is allowed.
//!
//! The schema is data (the private `schema` module): one table drives unknown-key
//! detection with "did you mean" hints, kind and range checks and the null-means-default
//! rules, and a few named checks (`rules`, `url`) cover the shapes a table cannot say.

mod check;
mod cross;
pub mod defaults;
mod error;
mod guide;
mod load;
pub mod model;
mod node;
mod overlay;
mod parse;
mod policy_section;
mod rules;
mod schema;
mod target;
mod url;

pub use defaults::{default_config, default_config_json, DEFAULT_CONFIG_PATH, DEFAULT_PROXY_PORT};
pub use error::{ConfigError, ConfigErrorKind};
pub use guide::CONFIG_GUIDE;
pub use load::load_config_str;
pub use model::*;
pub use node::MAX_SAFE_INTEGER;
pub use overlay::ENV_OVERLAY_VARS;
pub use policy_section::validate_policy_section;
pub use schema::{PLUGIN_CAPABILITIES, PRESET_NAMES, PRIVACY_PROFILES};
pub use target::{
    is_forbidden_forward_header, ADAPTER_NAMES, ALWAYS_DROPPED_REQUEST_HEADERS, TARGET_TYPES,
};
