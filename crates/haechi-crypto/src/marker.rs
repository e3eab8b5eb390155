//! The `[HAECHI_ENC:<base64url(JSON.stringify(envelope))>]` text that replaces an encrypted
//! value in a payload. Pure functions: no keys involved.

use haechi_core::seams::Envelope;

use crate::encoding::b64url_strict;
use crate::error::CryptoError;

/// The envelope as `JSON.stringify` writes it ([`Envelope::to_json_text`]).
pub fn envelope_json(envelope: &Envelope) -> String {
    envelope.to_json_text()
}

/// `[HAECHI_ENC:<base64url(JSON)>]` for an envelope ([`Envelope::to_marker`]).
pub fn envelope_marker(envelope: &Envelope) -> String {
    envelope.to_marker()
}

/// Read an envelope back from a whole marker. The body must be strict unpadded base64url that
/// round-trips, decode to UTF-8 JSON and have the envelope's shape. Errors never quote the input.
pub fn parse_envelope_marker(marker: &str) -> Result<Envelope, CryptoError> {
    let body = haechi_core::markers::envelope_body(marker).ok_or(CryptoError::InvalidMarker {
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
#[path = "tests/marker.rs"]
mod tests;
