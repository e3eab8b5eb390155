//! The `[HAECHI_ENC:<base64url(JSON.stringify(envelope))>]` text that replaces an encrypted
//! value in a payload. Pure functions: no keys involved.

use haechi_core::seams::Envelope;

use crate::encoding::{b64url, b64url_strict};
use crate::error::CryptoError;
use haechi_core::js_json;

/// Opening of an envelope marker.
pub const ENVELOPE_MARKER_PREFIX: &str = "[HAECHI_ENC:";
/// Closing of an envelope marker.
pub const ENVELOPE_MARKER_SUFFIX: &str = "]";

/// The envelope as `JSON.stringify` writes it, fields in the reference's order
/// (v, alg, kid, iv, ct, tag, aadHash, aadEncoding, createdAt, expiresAt), absent ones left out.
pub fn envelope_json(envelope: &Envelope) -> String {
    let mut out = String::with_capacity(256);
    out.push_str("{\"v\":");
    out.push_str(&envelope.v.to_string());
    let mut field = |name: &str, value: Option<&str>| {
        if let Some(value) = value {
            out.push_str(",\"");
            out.push_str(name);
            out.push_str("\":");
            js_json::push_string(&mut out, value);
        }
    };
    field("alg", envelope.alg.as_deref());
    field("kid", envelope.kid.as_deref());
    field("iv", Some(&envelope.iv));
    field("ct", Some(&envelope.ct));
    field("tag", Some(&envelope.tag));
    field("aadHash", envelope.aad_hash.as_deref());
    field("aadEncoding", envelope.aad_encoding.as_deref());
    field("createdAt", envelope.created_at.as_deref());
    field("expiresAt", envelope.expires_at.as_deref());
    out.push('}');
    out
}

/// `[HAECHI_ENC:<base64url(JSON)>]` for an envelope.
pub fn envelope_marker(envelope: &Envelope) -> String {
    let body = b64url(envelope_json(envelope).as_bytes());
    let mut out = String::with_capacity(
        ENVELOPE_MARKER_PREFIX.len() + body.len() + ENVELOPE_MARKER_SUFFIX.len(),
    );
    out.push_str(ENVELOPE_MARKER_PREFIX);
    out.push_str(&body);
    out.push_str(ENVELOPE_MARKER_SUFFIX);
    out
}

/// Read an envelope back from a whole marker. The body must be strict unpadded base64url that
/// round-trips, decode to UTF-8 JSON and have the envelope's shape. Errors never quote the input.
pub fn parse_envelope_marker(marker: &str) -> Result<Envelope, CryptoError> {
    let body = marker
        .strip_prefix(ENVELOPE_MARKER_PREFIX)
        .and_then(|rest| rest.strip_suffix(ENVELOPE_MARKER_SUFFIX))
        .ok_or(CryptoError::InvalidMarker {
            reason: "it must look like [HAECHI_ENC:<base64url>]",
        })?;
    if body.is_empty() {
        return Err(CryptoError::InvalidMarker {
            reason: "the body is empty",
        });
    }
    let bytes = b64url_strict(body).ok_or(CryptoError::InvalidMarker {
        reason: "the body is not unpadded base64url",
    })?;
    serde_json::from_slice(&bytes).map_err(|_| CryptoError::InvalidMarker {
        reason: "the body is not an envelope JSON object",
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn sample() -> Envelope {
        Envelope {
            v: 2,
            alg: Some("AES-256-GCM".into()),
            kid: Some("local-1-abcdef".into()),
            iv: "aXY".into(),
            ct: "Y3Q".into(),
            tag: "dGFn".into(),
            aad_hash: Some("aGFzaA".into()),
            aad_encoding: Some("nfkc-json-v2".into()),
            created_at: Some("2026-01-01T00:00:00.000Z".into()),
            expires_at: None,
        }
    }

    #[test]
    fn json_matches_json_stringify_field_order() {
        assert_eq!(
            envelope_json(&sample()),
            r#"{"v":2,"alg":"AES-256-GCM","kid":"local-1-abcdef","iv":"aXY","ct":"Y3Q","tag":"dGFn","aadHash":"aGFzaA","aadEncoding":"nfkc-json-v2","createdAt":"2026-01-01T00:00:00.000Z"}"#
        );
    }

    #[test]
    fn marker_round_trips() {
        let marker = envelope_marker(&sample());
        assert!(marker.starts_with("[HAECHI_ENC:") && marker.ends_with(']'));
        assert_eq!(parse_envelope_marker(&marker).unwrap(), sample());
    }

    #[test]
    fn rejects_what_is_not_a_genuine_marker() {
        let secret = "sk-ant-api03-not-a-real-secret";
        for bad in [
            format!("[HAECHI_ENC:{secret}]"),
            "[HAECHI_ENC:]".to_owned(),
            "[TOKEN:abc]".to_owned(),
            format!("[HAECHI_ENC:{}=]", b64url(b"{}")),
            format!("[HAECHI_ENC:{}]", b64url(b"[1,2]")),
            format!("[HAECHI_ENC:{}]", b64url(&[0xff, 0xfe])),
            format!(
                "[HAECHI_ENC:{}",
                b64url(envelope_json(&sample()).as_bytes())
            ),
        ] {
            let err = parse_envelope_marker(&bad).unwrap_err();
            assert_eq!(err.code(), "haechi_crypto_invalid_marker");
            assert!(!err.to_string().contains(secret));
        }
    }
}
