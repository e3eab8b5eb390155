//! What a request carries outside its JSON body — path segments, query parameters and forwarded
//! header values — collected for the same protection as the body, and written back with the
//! policy's replacements. Values are percent-decoded before detection (`+` stays `+`: RFC 3986
//! gives it no meaning in a query) and re-encoded when replaced; everything untouched is
//! forwarded byte-identical.
//!
//! Not scanned: the credential headers meant for the upstream (`authorization` when the gateway
//! does not consume it, `x-api-key`, `x-goog-api-key`, `api-key`) and Gemini's `key` query
//! parameter — they hold the caller's provider key by design.

use std::borrow::Cow;
use std::collections::HashMap;

use http::header::{HeaderMap, HeaderValue};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use haechi_core::protect::{OutsideLocation, OutsideValue};

/// Headers that carry the caller's upstream credential.
const UPSTREAM_CREDENTIAL_HEADERS: [&str; 4] =
    ["authorization", "x-api-key", "x-goog-api-key", "api-key"];

/// Kept as is when re-encoding a replaced value: RFC 3986 unreserved characters.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where a collected value lives in the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Place {
    /// The i-th non-empty path segment.
    Segment(usize),
    /// The name of the i-th query pair.
    QueryName(usize),
    /// The value of the i-th query pair.
    QueryValue(usize),
    /// The i-th forwarded header (in the forwarded map's iteration order).
    Header(usize),
}

/// One collected value, borrowed from the request unless decoding changed it.
#[derive(Debug)]
struct Entry<'a> {
    place: Place,
    /// The decoded query name or the header name (empty for a path segment).
    name: Cow<'a, str>,
    text: Cow<'a, str>,
}

/// The values of one request outside its body.
#[derive(Debug, Default)]
pub(crate) struct OutsideValues<'a> {
    entries: Vec<Entry<'a>>,
}

/// The request target and forwarded headers with the replacements written in.
#[derive(Debug, PartialEq)]
pub(crate) struct Rewritten {
    pub path_and_query: String,
    pub headers: HeaderMap,
}

impl<'a> OutsideValues<'a> {
    /// Collect from the normalized path (no query), the raw query and the headers that will be
    /// forwarded.
    pub(crate) fn collect(
        path: &'a str,
        query: Option<&'a str>,
        forwarded: &'a HeaderMap,
        gemini: bool,
    ) -> Self {
        let mut values = OutsideValues::default();
        for (index, segment) in path.split('/').filter(|s| !s.is_empty()).enumerate() {
            values.push(Place::Segment(index), Cow::Borrowed(""), decode(segment));
        }
        for (index, (name, value)) in query_pairs(query.unwrap_or("")).enumerate() {
            let name = decode(name);
            if gemini && name == "key" {
                continue;
            }
            values.push(Place::QueryName(index), name.clone(), name.clone());
            values.push(Place::QueryValue(index), name, decode(value.unwrap_or("")));
        }
        for (index, (name, value)) in forwarded.iter().enumerate() {
            if UPSTREAM_CREDENTIAL_HEADERS.contains(&name.as_str()) {
                continue;
            }
            let text = String::from_utf8_lossy(value.as_bytes());
            values.push(Place::Header(index), Cow::Borrowed(name.as_str()), text);
        }
        values
    }

    fn push(&mut self, place: Place, name: Cow<'a, str>, text: Cow<'a, str>) {
        if !text.is_empty() {
            self.entries.push(Entry { place, name, text });
        }
    }

    /// The values as the protector takes them.
    pub(crate) fn as_protect_input(&self) -> Vec<OutsideValue<'_>> {
        self.entries
            .iter()
            .map(|entry| {
                let name = entry.name.as_ref();
                let location = match entry.place {
                    Place::Segment(index) => OutsideLocation::PathSegment(index),
                    Place::QueryName(_) => OutsideLocation::QueryName(name),
                    Place::QueryValue(_) => OutsideLocation::QueryValue(name),
                    Place::Header(_) => OutsideLocation::Header(name),
                };
                OutsideValue {
                    location,
                    text: &entry.text,
                }
            })
            .collect()
    }

    /// Apply the protector's replacements (one per collected value, `None` = unchanged) to the
    /// path-and-query and the forwarded headers: `Some(None)` when nothing was replaced, `None`
    /// when a replaced header value cannot be a header value (the caller fails closed).
    pub(crate) fn apply(
        &self,
        replacements: &[Option<String>],
        path: &str,
        query: Option<&str>,
        forwarded: &HeaderMap,
    ) -> Option<Option<Rewritten>> {
        let replaced: HashMap<Place, &str> = self
            .entries
            .iter()
            .zip(replacements)
            .filter_map(|(entry, replacement)| Some((entry.place, replacement.as_deref()?)))
            .collect();
        if replaced.is_empty() {
            return Some(None);
        }
        let replaced = |place: Place| replaced.get(&place).copied();

        let mut new_path = String::with_capacity(path.len() + 32);
        let mut index = 0;
        for (position, segment) in path.split('/').enumerate() {
            if position > 0 {
                new_path.push('/');
            }
            if segment.is_empty() {
                continue;
            }
            match replaced(Place::Segment(index)) {
                Some(text) => new_path.extend(utf8_percent_encode(text, ENCODE)),
                None => new_path.push_str(segment),
            }
            index += 1;
        }

        if let Some(query) = query {
            new_path.push('?');
            for (index, (name, value)) in query_pairs(query).enumerate() {
                if index > 0 {
                    new_path.push('&');
                }
                match replaced(Place::QueryName(index)) {
                    Some(text) => new_path.extend(utf8_percent_encode(text, ENCODE)),
                    None => new_path.push_str(name),
                }
                if let Some(value) = value {
                    new_path.push('=');
                    match replaced(Place::QueryValue(index)) {
                        Some(text) => new_path.extend(utf8_percent_encode(text, ENCODE)),
                        None => new_path.push_str(value),
                    }
                }
            }
        }

        let mut headers = HeaderMap::with_capacity(forwarded.len());
        for (index, (name, value)) in forwarded.iter().enumerate() {
            let value = match replaced(Place::Header(index)) {
                Some(text) => HeaderValue::from_bytes(text.as_bytes()).ok()?,
                None => value.clone(),
            };
            headers.append(name.clone(), value);
        }
        Some(Some(Rewritten {
            path_and_query: new_path,
            headers,
        }))
    }
}

fn decode(raw: &str) -> Cow<'_, str> {
    percent_decode_str(raw).decode_utf8_lossy()
}

/// Every `&`-separated pair as name and optional value, empty ones included, so indices match
/// the raw query.
fn query_pairs(query: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    query.split('&').map(|pair| match pair.split_once('=') {
        Some((name, value)) => (name, Some(value)),
        None => (pair, None),
    })
}

#[cfg(test)]
#[path = "tests/outside.rs"]
mod tests;
