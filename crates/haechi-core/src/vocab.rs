//! The small shared words of the pipeline: direction, leaf kind, enforcement mode and action.
//! They are spelled on the wire exactly as the reference spells them.

use serde::{Deserialize, Serialize};

/// Which way a payload travels: to the model/tool (`request`) or back from it (`response`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    #[default]
    Request,
    Response,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Request => "request",
            Direction::Response => "response",
        }
    }
}

/// What a scanned leaf is: a string value, the text of a number value, or an object key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LeafKind {
    Value,
    Number,
    Key,
}

impl LeafKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LeafKind::Value => "value",
            LeafKind::Number => "number",
            LeafKind::Key => "key",
        }
    }
}

/// Enforcement mode. `dry-run` and `report-only` detect and audit only; `enforce` transforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Mode {
    #[serde(rename = "dry-run")]
    DryRun,
    #[serde(rename = "report-only")]
    ReportOnly,
    #[serde(rename = "enforce")]
    Enforce,
}

impl Mode {
    pub const ALL: [&'static str; 3] = ["dry-run", "report-only", "enforce"];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::DryRun => "dry-run",
            Mode::ReportOnly => "report-only",
            Mode::Enforce => "enforce",
        }
    }

    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "dry-run" => Some(Mode::DryRun),
            "report-only" => Some(Mode::ReportOnly),
            "enforce" => Some(Mode::Enforce),
            _ => None,
        }
    }

    pub fn enforces(self) -> bool {
        self == Mode::Enforce
    }
}

/// What to do with a detection, weakest to strongest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Allow,
    Redact,
    Mask,
    Tokenize,
    Encrypt,
    Block,
}

impl Action {
    pub const ALL: [&'static str; 6] = ["allow", "redact", "mask", "tokenize", "encrypt", "block"];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Redact => "redact",
            Action::Mask => "mask",
            Action::Tokenize => "tokenize",
            Action::Encrypt => "encrypt",
            Action::Block => "block",
        }
    }

    pub fn parse(text: &str) -> Option<Action> {
        match text {
            "allow" => Some(Action::Allow),
            "redact" => Some(Action::Redact),
            "mask" => Some(Action::Mask),
            "tokenize" => Some(Action::Tokenize),
            "encrypt" => Some(Action::Encrypt),
            "block" => Some(Action::Block),
            _ => None,
        }
    }

    /// The reference's strength scale: allow(0) < redact = mask(1) < tokenize = encrypt(2) < block(3).
    pub fn strength(self) -> u8 {
        match self {
            Action::Allow => 0,
            Action::Redact | Action::Mask => 1,
            Action::Tokenize | Action::Encrypt => 2,
            Action::Block => 3,
        }
    }
}
