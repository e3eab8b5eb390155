//! The caller a request was authenticated as. PII-safe by construction: the subject and
//! issuer appear only as keyed HMACs, never as the raw values a credential carried.

use haechi_core::audit::AuditIdentity;
use haechi_core::policy::Identity;
use haechi_core::seams::Crypto;

use super::error::AuthError;
use super::record::{Labels, TokenRecord};
use super::store::{validate_kind, validate_labels, validate_scopes};

/// The HMAC domain of an identity's subject and issuer hashes.
pub const IDENTITY_DOMAIN: &str = "haechi:identity:hash:v1";
/// The issuer every built-in bearer token has (hashed into `issuer_hash`).
pub const BEARER_ISSUER: &str = "bearer-local";
/// `provider` of a built-in bearer identity.
pub const BEARER_PROVIDER: &str = "bearer";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayIdentity {
    /// Stable and non-PII: a token id, or `<provider>:<first 16 hex of subject_hash>`.
    pub id: String,
    /// `user`, `service` or `agent`.
    pub kind: String,
    pub subject_hash: String,
    pub issuer_hash: String,
    pub provider: String,
    pub scopes: Vec<String>,
    pub labels: Vec<(String, String)>,
}

impl GatewayIdentity {
    /// The five fields an audit event records (scopes and labels never).
    pub fn audit(&self) -> AuditIdentity {
        AuditIdentity {
            id: self.id.clone(),
            kind: self.kind.clone(),
            subject_hash: self.subject_hash.clone(),
            issuer_hash: self.issuer_hash.clone(),
            provider: self.provider.clone(),
        }
    }

    /// What profile binding looks at.
    pub fn profile_identity(&self) -> Identity {
        Identity {
            scopes: self.scopes.clone(),
            labels: self.labels.clone(),
        }
    }
}

/// The identity of a bearer token's record (hashes computed with `crypto`).
pub fn bearer_identity(
    record: &TokenRecord,
    crypto: &dyn Crypto,
) -> Result<GatewayIdentity, AuthError> {
    Ok(GatewayIdentity {
        id: record.id.clone(),
        kind: record.kind.clone(),
        subject_hash: crypto.hmac_hex(IDENTITY_DOMAIN, record.id.as_bytes())?,
        issuer_hash: crypto.hmac_hex(IDENTITY_DOMAIN, BEARER_ISSUER.as_bytes())?,
        provider: BEARER_PROVIDER.to_owned(),
        scopes: record.scopes.clone(),
        labels: record.labels.as_pairs().to_vec(),
    })
}

/// The raw claims an external provider (JWT, OIDC, …) vouches for. They are hashed by
/// [`external_identity`]; none of the raw values reaches the identity.
#[derive(Debug, Clone)]
pub struct ExternalClaims<'a> {
    /// The provider's name, e.g. `jwt` (not secret: it prefixes the identity id).
    pub provider: &'a str,
    pub subject: &'a str,
    pub issuer: &'a str,
    /// `user`, `service` or `agent`.
    pub kind: &'a str,
    pub scopes: Vec<String>,
    pub labels: Labels,
    /// `auth.allowedLabelKeys`.
    pub allowed_label_keys: &'a [String],
}

/// Build a PII-safe identity from an external provider's claims: subject and issuer become
/// keyed HMACs, and the id is `<provider>:<first 16 hex of the subject hash>`. Fails (deny) on
/// an empty provider, subject or issuer, an unknown type, an empty scope or a disallowed label.
pub fn external_identity(
    claims: &ExternalClaims<'_>,
    crypto: &dyn Crypto,
) -> Result<GatewayIdentity, AuthError> {
    for (field, value) in [
        ("provider", claims.provider),
        ("subject", claims.subject),
        ("issuer", claims.issuer),
    ] {
        if value.is_empty() {
            return Err(AuthError::MissingIdentityField { field });
        }
    }
    validate_kind(claims.kind)?;
    validate_scopes(&claims.scopes)?;
    validate_labels(&claims.labels, claims.allowed_label_keys)?;

    let subject_hash = crypto.hmac_hex(IDENTITY_DOMAIN, claims.subject.as_bytes())?;
    let issuer_hash = crypto.hmac_hex(IDENTITY_DOMAIN, claims.issuer.as_bytes())?;
    let short: String = subject_hash.chars().take(16).collect();
    Ok(GatewayIdentity {
        id: format!("{}:{short}", claims.provider),
        kind: claims.kind.to_owned(),
        subject_hash,
        issuer_hash,
        provider: claims.provider.to_owned(),
        scopes: claims.scopes.clone(),
        labels: claims.labels.as_pairs().to_vec(),
    })
}
