//! Values that travel beside the JSON body — a request's path segments, query parameters and
//! forwarded header values. They go through the same detector and policy as the body's leaves,
//! in the same audit event, under a location (`$path[<i>]`, `$query.<name>`, `$header.<name>`)
//! instead of a hashed JSON path.

use crate::detect::Detector;
use crate::hash::short_hash;
use crate::vocab::{Direction, LeafKind};

/// Where a value outside the body was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutsideLocation<'a> {
    /// The i-th non-empty path segment: `$path[<i>]`.
    PathSegment(usize),
    /// The value of the query parameter with this (decoded) name: `$query.<name>`.
    QueryValue(&'a str),
    /// A query parameter's name itself: `$query.key_<shortHash(name)>`.
    QueryName(&'a str),
    /// A header value; the name is one the gateway chose to forward: `$header.<name>`.
    Header(&'a str),
}

/// One value outside the body, decoded (percent-decoding is the caller's job).
#[derive(Debug, Clone, Copy)]
pub struct OutsideValue<'a> {
    pub location: OutsideLocation<'a>,
    pub text: &'a str,
}

impl OutsideLocation<'_> {
    /// The PII-safe text written to the audit event. A client-chosen query name is written only
    /// when it is a short plain identifier in which nothing is detected; otherwise it is hashed
    /// as the body's keys are.
    pub fn render(&self, detector: &Detector) -> String {
        match *self {
            OutsideLocation::PathSegment(index) => format!("$path[{index}]"),
            OutsideLocation::Header(name) => format!("$header.{name}"),
            OutsideLocation::QueryName(name) => hashed(name),
            OutsideLocation::QueryValue(name) if is_plain(name, detector) => {
                format!("$query.{name}")
            }
            OutsideLocation::QueryValue(name) => hashed(name),
        }
    }
}

fn hashed(name: &str) -> String {
    format!("$query.key_{}", short_hash(name.as_bytes()))
}

fn is_plain(name: &str, detector: &Detector) -> bool {
    let identifier = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'));
    if !identifier {
        return false;
    }
    let mut findings = Vec::new();
    detector.scan(name, LeafKind::Key, Direction::Request, &mut findings);
    findings.is_empty()
}
