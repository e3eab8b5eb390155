//! Who may call the gateway: the [`AuthProvider`] seam, the built-in bearer provider and its
//! token store, and the PII-safe [`GatewayIdentity`] a request runs as.
//!
//! Every failure denies (fail closed). A token, a token hash or a raw subject never reaches
//! an error message, a `Debug` rendering of an identity, or the audit log.

mod bearer;
mod error;
mod identity;
mod record;
mod store;

use std::future::Future;
use std::pin::Pin;

pub use bearer::BearerAuth;
pub use error::AuthError;
pub use identity::{
    bearer_identity, external_identity, ExternalClaims, GatewayIdentity, BEARER_ISSUER,
    BEARER_PROVIDER, IDENTITY_DOMAIN,
};
pub use record::{Labels, PublicRecord, StoreFile, TokenRecord, STORE_VERSION};
pub use store::{
    add_token, default_allowed_label_keys, list_tokens, revoke_token, validate_kind,
    validate_labels, validate_scopes, IssuedToken, NewToken, RevokeOutcome, TokenStore,
    DEFAULT_ALLOWED_LABEL_KEYS, IDENTITY_TYPES, MAX_LABEL_VALUE_LEN, TOKEN_DOMAIN, TOKEN_ID_PREFIX,
    TOKEN_PREFIX,
};

/// What [`AuthProvider::authenticate`] returns.
pub type AuthFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<GatewayIdentity>, AuthError>> + Send + 'a>>;

/// Supplied by library users for `auth.provider: "external"`; the built-in bearer store
/// implements it too.
pub trait AuthProvider: Send + Sync {
    /// `Ok(None)` = no or invalid credential (deny 401). `Err` = the provider failed (deny 401,
    /// reason `provider_error`).
    fn authenticate<'a>(&'a self, headers: &'a http::HeaderMap) -> AuthFuture<'a>;
}

/// Why a request was denied, as the audit log and metrics name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DenyReason {
    /// No `Authorization: Bearer …` header.
    NoToken,
    /// A bearer credential that matches no enabled token (unknown or revoked).
    InvalidToken,
    /// The provider failed (unreadable or corrupt store, key failure, external error).
    ProviderError,
}

impl DenyReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DenyReason::NoToken => "no_token",
            DenyReason::InvalidToken => "invalid_token",
            DenyReason::ProviderError => "provider_error",
        }
    }

    /// The reason for denying a request with these headers and this outcome, or `None` when an
    /// identity was found.
    pub fn of(
        headers: &http::HeaderMap,
        outcome: &Result<Option<GatewayIdentity>, AuthError>,
    ) -> Option<DenyReason> {
        match outcome {
            Ok(Some(_)) => None,
            Err(_) => Some(DenyReason::ProviderError),
            Ok(None) if has_bearer_header(headers) => Some(DenyReason::InvalidToken),
            Ok(None) => Some(DenyReason::NoToken),
        }
    }
}

/// Whether the request carries an `Authorization: Bearer <credential>` header (any case of
/// the scheme). Tells `no_token` from `invalid_token`.
pub fn has_bearer_header(headers: &http::HeaderMap) -> bool {
    bearer_credential(headers).is_some()
}

/// The credential of `Authorization: Bearer <credential>`: scheme matched without regard to
/// case, whitespace around the value and the credential trimmed. Works on bytes so a header
/// with non-ASCII bytes is still recognized as a (necessarily invalid) bearer credential.
fn bearer_credential(headers: &http::HeaderMap) -> Option<&[u8]> {
    const SCHEME: &[u8] = b"bearer";
    let value = headers
        .get(http::header::AUTHORIZATION)?
        .as_bytes()
        .trim_ascii();
    let (scheme, rest) = value.split_at_checked(SCHEME.len())?;
    if !scheme.eq_ignore_ascii_case(SCHEME) || !rest.first().is_some_and(u8::is_ascii_whitespace) {
        return None;
    }
    let credential = rest.trim_ascii();
    (!credential.is_empty()).then_some(credential)
}

/// The bearer token as text, or `None` without one. A credential that is not UTF-8 cannot be
/// any issued token: it yields `None` here, and [`has_bearer_header`] still reports it, so the
/// denial is `invalid_token`.
pub(crate) fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    bearer_credential(headers).and_then(|bytes| std::str::from_utf8(bytes).ok())
}

#[cfg(test)]
#[path = "tests/mod_tests.rs"]
mod tests;
