//! The bundled presets, as the reference ships them.

use crate::vocab::Action::{self, Block, Mask, Redact, Tokenize};

/// A bundled action set. Presets merge in the order they are listed.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub name: &'static str,
    pub default_action: Option<Action>,
    pub actions: &'static [(&'static str, Action)],
    /// `local-only`: marks transfer as non-external (metadata only).
    pub local_only: bool,
}

const PRESETS: &[Preset] = &[
    Preset {
        name: "llm-redact",
        default_action: Some(Redact),
        actions: &[("email", Redact), ("phone", Mask)],
        local_only: false,
    },
    Preset {
        name: "korean-pii",
        default_action: None,
        actions: &[("kr_rrn", Block), ("phone", Mask), ("email", Redact)],
        local_only: false,
    },
    Preset {
        name: "secrets-only",
        default_action: None,
        actions: &[("api_key", Block), ("secret", Block)],
        local_only: false,
    },
    Preset {
        name: "strict-block",
        default_action: Some(Block),
        actions: &[],
        local_only: false,
    },
    Preset {
        name: "local-only",
        default_action: None,
        actions: &[],
        local_only: true,
    },
    Preset {
        name: "mcp-basic",
        default_action: Some(Redact),
        actions: &[("api_key", Block), ("secret", Block), ("kr_rrn", Block)],
        local_only: false,
    },
    Preset {
        name: "local-inference",
        default_action: Some(Redact),
        actions: &[
            ("email", Tokenize),
            ("phone", Mask),
            ("api_key", Block),
            ("secret", Block),
            ("kr_rrn", Block),
        ],
        local_only: false,
    },
];

/// Every preset name, in the reference's order.
pub const PRESET_NAMES: [&str; 7] = [
    "llm-redact",
    "korean-pii",
    "secrets-only",
    "strict-block",
    "local-only",
    "mcp-basic",
    "local-inference",
];

pub fn preset(name: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|preset| preset.name == name)
}
