//! Token ids: `tok_<type>_<hex>`, random or deterministic, exactly as the reference derives them.

use haechi_core::hash::sha256_hex;
use haechi_core::seams::Crypto;
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

/// `tok_<type>_<first 16 hex of SHA-256("<plaintext>:<32 random hex>")>`.
pub(crate) fn random_token(
    rng: &SystemRandom,
    detection_type: &str,
    plaintext: &str,
) -> Result<String, VaultError> {
    let mut salt = [0u8; 16];
    rng.fill(&mut salt).map_err(|_| {
        VaultError::Crypto(haechi_core::seams::ProviderError::new(
            "haechi_random_unavailable",
            "the operating system's random number generator failed; retry",
        ))
    })?;
    let salt_hex: String = salt.iter().map(|b| format!("{b:02x}")).collect();
    let digest = sha256_hex(format!("{plaintext}:{salt_hex}").as_bytes());
    Ok(format!("tok_{detection_type}_{}", &digest[..16]))
}
