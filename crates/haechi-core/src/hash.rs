//! Small hashing helpers shared by paths, audit events and the chain.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::digest::{digest, SHA256};

/// SHA-256 of `data` as lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex_prefix(digest(&SHA256, data).as_ref(), 64)
}

/// SHA-256 of `data` as unpadded base64url (the chain's and the envelope's `aadHash` encoding).
pub fn sha256_base64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(digest(&SHA256, data).as_ref())
}

/// The reference's `shortHash`: the first 12 hex characters of SHA-256.
/// Used for PII-safe path segments (`key_<hash>`) and the payload shape hash.
pub fn short_hash(data: &[u8]) -> String {
    hex_prefix(digest(&SHA256, data).as_ref(), 12)
}

/// The first `chars` lowercase hex characters of `bytes`.
pub fn hex_prefix(bytes: &[u8], chars: usize) -> String {
    let mut out = String::with_capacity(chars);
    for byte in bytes {
        if out.len() >= chars {
            break;
        }
        out.push(HEX[(byte >> 4) as usize] as char);
        out.push(HEX[(byte & 0x0f) as usize] as char);
    }
    out.truncate(chars);
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_hash_is_twelve_hex_of_sha256() {
        // sha256("messages") = 6e0dd5b0c0a7...; checked against `printf messages | sha256sum`.
        assert_eq!(short_hash(b"abc"), "ba7816bf8f01");
        assert_eq!(sha256_hex(b"abc").len(), 64);
        assert_eq!(
            sha256_base64url(b"abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }
}
