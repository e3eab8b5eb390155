//! Token ids: `tok_<type>_<hex>`, random or deterministic, exactly as the reference derives them.

use haechi_core::hash::hex_prefix;
use haechi_core::seams::Crypto;
use ring::digest::{Context, SHA256};
use ring::rand::{SecureRandom, SystemRandom};

use super::error::VaultError;

/// The HMAC domain of deterministic token ids.
pub const DETERMINISTIC_DOMAIN: &str = "haechi:token-vault:deterministic:v1";

/// `tok_<type>_<first 32 hex of HMAC(domain, "<type>:<plaintext>")>`: equal values of one
/// type always get the same token.
pub(crate) fn deterministic_token(
    crypto: &dyn Crypto,
    detection_type: &str,
    plaintext: &str,
) -> Result<String, VaultError> {
    let data = format!("{detection_type}:{plaintext}");
    let digest = crypto
        .hmac_hex(DETERMINISTIC_DOMAIN, data.as_bytes())
        .map_err(VaultError::Crypto)?;
    let hex = digest.get(..32).filter(|hex| {
        hex.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    match hex {
        Some(hex) => Ok(format!("tok_{detection_type}_{hex}")),
        None => Err(VaultError::Crypto(haechi_core::seams::ProviderError::new(
            "haechi_crypto_bad_hmac",
            "the crypto provider's hmac did not return at least 32 lowercase hex characters",
        ))),
    }
}

/// Bytes of random salt behind one random token id.
pub(crate) const SALT_LEN: usize = 16;

/// Salts for `count` random token ids, drawn from the OS generator in one call (one system
/// call per batch rather than per value).
pub(crate) fn random_salts(rng: &SystemRandom, count: usize) -> Result<Vec<u8>, VaultError> {
    let mut salts = vec![0u8; count * SALT_LEN];
    rng.fill(&mut salts).map_err(|_| {
        VaultError::Crypto(haechi_core::seams::ProviderError::new(
            "haechi_random_unavailable",
            "the operating system's random number generator failed; retry",
        ))
    })?;
    Ok(salts)
}

/// `tok_<type>_<first 16 hex of SHA-256("<plaintext>:<32 hex of salt>")>`.
pub(crate) fn random_token(salt: &[u8], detection_type: &str, plaintext: &str) -> String {
    let salt_hex = hex_prefix(salt, salt.len() * 2);
    let mut context = Context::new(&SHA256);
    context.update(plaintext.as_bytes());
    context.update(b":");
    context.update(salt_hex.as_bytes());
    let digest = context.finish();
    let mut token = String::with_capacity(5 + detection_type.len() + 16);
    token.push_str("tok_");
    token.push_str(detection_type);
    token.push('_');
    token.push_str(&hex_prefix(digest.as_ref(), 16));
    token
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_are_the_reference_derivation() {
        let salt = [0xabu8; SALT_LEN];
        let salt_hex = "ab".repeat(SALT_LEN);
        let expected = haechi_core::hash::sha256_hex(format!("v@x.io:{salt_hex}").as_bytes());
        assert_eq!(
            random_token(&salt, "email", "v@x.io"),
            format!("tok_email_{}", &expected[..16])
        );
    }

    #[test]
    fn salts_come_in_one_draw_and_differ() {
        let salts = random_salts(&SystemRandom::new(), 3).unwrap_or_default();
        assert_eq!(salts.len(), 3 * SALT_LEN);
        assert_ne!(salts[..SALT_LEN], salts[SALT_LEN..2 * SALT_LEN]);
    }
}
