//! `LocalKeyProvider`: the reference's `haechi.crypto.local-aes-gcm` provider in Rust.
//!
//! Keys are read and checked once, in [`LocalKeyProvider::open`] (the same check as
//! [`check_key_file`](crate::check_key_file)); every call after that works from memory. The key
//! file is touched again only to reserve a nonce chunk, and at the end to give back its unused
//! part ([`LocalKeyProvider::release_unused_budget`], also run on drop).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock};

use haechi_core::hash::sha256_base64url;
use haechi_core::seams::{Crypto, Envelope, ProviderError};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use serde_json::Value;

use crate::aad::{canonical_aad_for_envelope, canonicalize_crypto_aad, CRYPTO_AAD_ENCODING_V2};
use crate::budget::{CryptoWarning, Meter, NonceBudget, NonceReservation};
use crate::check;
use crate::encoding::{b64_lenient, b64url, hex};
use crate::error::CryptoError;
use crate::keyfile::ALG;
use crate::timestamp::{normalize_expiry, now_iso, now_millis, parse_millis};

/// Domains whose derived HMAC keys are cached; real callers use a handful of fixed domains,
/// and the bound keeps a caller passing many distinct domains from growing memory.
const MAX_CACHED_DOMAINS: usize = 64;

type WarningHook = Box<dyn Fn(&CryptoWarning) + Send + Sync>;

/// The local key-file crypto provider (AES-256-GCM envelopes, domain-separated HMAC).
pub struct LocalKeyProvider {
    path: PathBuf,
    active_kid: String,
    keys: HashMap<String, LessSafeKey>,
    /// HMAC key over the raw active key; used only to derive per-domain keys.
    active_hmac: hmac::Key,
    derived: RwLock<HashMap<String, hmac::Key>>,
    rng: SystemRandom,
    meter: Meter,
    warnings: Mutex<Vec<CryptoWarning>>,
    hook: Option<WarningHook>,
}

impl fmt::Debug for LocalKeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kids: Vec<&str> = self.keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        f.debug_struct("LocalKeyProvider")
            .field("path", &self.path)
            .field("active_kid", &self.active_kid)
            .field("kids", &kids)
            .finish_non_exhaustive()
    }
}

impl LocalKeyProvider {
    /// Check and load the key file with the production nonce budget (2^32; chunks from 2^10
    /// doubling to 2^20). Refuses a missing, unreadable, malformed or group/world-accessible
    /// key file; a symlinked one is used (and written) at its target.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, CryptoError> {
        Self::open_with_budget(path, NonceBudget::default())
    }

    /// [`open`](Self::open) with an injected nonce budget (tests use small numbers).
    pub fn open_with_budget(
        path: impl AsRef<Path>,
        budget: NonceBudget,
    ) -> Result<Self, CryptoError> {
        let path = path.as_ref().to_path_buf();
        let budget = budget.validate()?;
        let opened = check::open(&path)?;
        let loaded = opened.keys;
        let mut keys = HashMap::with_capacity(loaded.keys.len());
        let mut active_hmac = None;
        for (kid, bytes) in &loaded.keys {
            let unbound =
                UnboundKey::new(&AES_256_GCM, &bytes.0).map_err(|_| CryptoError::BadKeyLength {
                    path: path.clone(),
                    kid: kid.clone(),
                })?;
            keys.insert(kid.clone(), LessSafeKey::new(unbound));
            if *kid == loaded.active_kid {
                active_hmac = Some(hmac::Key::new(hmac::HMAC_SHA256, &bytes.0));
            }
        }
        let active_hmac =
            active_hmac.ok_or_else(|| CryptoError::NoActiveKey { path: path.clone() })?;
        Ok(LocalKeyProvider {
            meter: Meter::new(path.clone(), loaded.active_kid.clone(), budget),
            path,
            active_kid: loaded.active_kid.clone(),
            keys,
            active_hmac,
            derived: RwLock::new(HashMap::new()),
            rng: SystemRandom::new(),
            warnings: Mutex::new(opened.warnings),
            hook: None,
        })
    }

    /// Send warnings to `hook` as they happen instead of queueing them for
    /// [`take_warnings`](Self::take_warnings). Warnings already queued stay queued.
    pub fn with_warning_hook(
        mut self,
        hook: impl Fn(&CryptoWarning) + Send + Sync + 'static,
    ) -> Self {
        self.hook = Some(Box::new(hook));
        self
    }

    /// Warnings raised so far (nonce budget at half, budget not persistable, no active key),
    /// oldest first; each is handed out once.
    pub fn take_warnings(&self) -> Vec<CryptoWarning> {
        std::mem::take(&mut *self.warnings.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Record actual use: give back the part of the nonce chunk this provider reserved but did
    /// not use, so the key file's count is what was really encrypted. Call it when a process is
    /// done encrypting (the CLI does at exit; dropping the provider does too). Returns how many
    /// invocations were given back; 0 when another process reserved after this one (its tail
    /// then stays charged, which is safe). The provider stays usable.
    pub fn release_unused_budget(&self) -> Result<u64, CryptoError> {
        self.meter.release()
    }

    /// The nonce chunk this provider holds now, if it has encrypted anything.
    pub fn nonce_reservation(&self) -> Option<NonceReservation> {
        self.meter.reservation()
    }

    /// The key file this provider was opened from.
    pub fn key_file(&self) -> &Path {
        &self.path
    }

    /// The kid new envelopes are made with.
    pub fn active_kid(&self) -> &str {
        &self.active_kid
    }

    /// Whether `kid` is one of the loaded keys (active or retired).
    pub fn has_kid(&self, kid: &str) -> bool {
        self.keys.contains_key(kid)
    }

    fn emit(&self, raised: Vec<CryptoWarning>) {
        if raised.is_empty() {
            return;
        }
        match &self.hook {
            Some(hook) => raised.iter().for_each(hook),
            None => self
                .warnings
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend(raised),
        }
    }

    /// Encrypt `plaintext` bound to `aad` into a v2 envelope. The AAD and expiry are checked
    /// before the nonce budget is charged, so a bad request spends nothing.
    pub fn encrypt_envelope(
        &self,
        plaintext: &str,
        aad: &Value,
        expires_at: Option<&str>,
    ) -> Result<Envelope, CryptoError> {
        let canonical = canonicalize_crypto_aad(aad)?;
        let expires_at = expires_at.map(normalize_expiry).transpose()?;
        let key = self
            .keys
            .get(&self.active_kid)
            .ok_or(CryptoError::UnknownKid { kid: None })?;
        let raised = self.meter.consume()?;
        self.emit(raised);

        let mut iv = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut iv)
            .map_err(|_| CryptoError::RandomFailed)?;
        let mut buffer = plaintext.as_bytes().to_vec();
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(iv),
                Aad::from(canonical.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| CryptoError::EncryptFailed)?;
        Ok(Envelope {
            v: 2,
            alg: Some(ALG.to_owned()),
            kid: Some(self.active_kid.clone()),
            iv: b64url(&iv),
            ct: b64url(&buffer),
            tag: b64url(tag.as_ref()),
            aad_hash: Some(sha256_base64url(canonical.as_bytes())),
            aad_encoding: Some(CRYPTO_AAD_ENCODING_V2.to_owned()),
            created_at: Some(now_iso()),
            expires_at,
        })
    }

    /// Decrypt a v1 or v2 envelope made with the same `aad`. Checks, in order: algorithm,
    /// expiry, key id, AAD encoding and hash, then the GCM tag.
    pub fn decrypt_envelope(
        &self,
        envelope: &Envelope,
        aad: &Value,
    ) -> Result<String, CryptoError> {
        if present(&envelope.alg).is_some_and(|alg| alg != ALG) {
            return Err(CryptoError::UnsupportedAlgorithm);
        }
        if let Some(expires_at) = present(&envelope.expires_at) {
            let expires_ms = parse_millis(expires_at)
                .ok_or(CryptoError::InvalidTimestamp { field: "expiresAt" })?;
            if now_millis() >= expires_ms {
                return Err(CryptoError::EnvelopeExpired);
            }
        }
        let key = match present(&envelope.kid) {
            Some(kid) => self.keys.get(kid).ok_or_else(|| CryptoError::UnknownKid {
                kid: printable_kid(kid),
            })?,
            None => self
                .keys
                .get(&self.active_kid)
                .ok_or(CryptoError::UnknownKid { kid: None })?,
        };
        let canonical = canonical_aad_for_envelope(envelope, aad)?;
        if let Some(expected) = present(&envelope.aad_hash) {
            let actual = sha256_base64url(canonical.as_bytes());
            if !constant_time_eq(expected.as_bytes(), actual.as_bytes()) {
                return Err(CryptoError::AadMismatch);
            }
        }
        let iv: [u8; NONCE_LEN] =
            b64_lenient(&envelope.iv)
                .try_into()
                .map_err(|_| CryptoError::MalformedEnvelope {
                    reason: "the iv must be 12 bytes",
                })?;
        let tag = b64_lenient(&envelope.tag);
        if tag.len() != AES_256_GCM.tag_len() {
            return Err(CryptoError::MalformedEnvelope {
                reason: "the tag must be 16 bytes",
            });
        }
        let mut buffer = b64_lenient(&envelope.ct);
        buffer.extend_from_slice(&tag);
        let plaintext = key
            .open_in_place(
                Nonce::assume_unique_for_key(iv),
                Aad::from(canonical.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| CryptoError::DecryptFailed)?;
        Ok(String::from_utf8_lossy(plaintext).into_owned())
    }

    /// `hex(HMAC-SHA256(HMAC-SHA256(activeKey, domain), data))`. The raw AES key is never an
    /// HMAC key itself; each domain gets its own derived key (cached).
    pub fn hmac(&self, domain: &str, data: &[u8]) -> Result<String, CryptoError> {
        if domain.is_empty() {
            return Err(CryptoError::HmacDomainRequired);
        }
        {
            let cache = self.derived.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(derived) = cache.get(domain) {
                return Ok(hex(hmac::sign(derived, data).as_ref()));
            }
        }
        let derived = hmac::Key::new(
            hmac::HMAC_SHA256,
            hmac::sign(&self.active_hmac, domain.as_bytes()).as_ref(),
        );
        let out = hex(hmac::sign(&derived, data).as_ref());
        let mut cache = self.derived.write().unwrap_or_else(PoisonError::into_inner);
        if cache.len() < MAX_CACHED_DOMAINS {
            cache.insert(domain.to_owned(), derived);
        }
        Ok(out)
    }
}

impl Crypto for LocalKeyProvider {
    fn encrypt(
        &self,
        plaintext: &str,
        aad: &Value,
        expires_at: Option<&str>,
    ) -> Result<Envelope, ProviderError> {
        Ok(self.encrypt_envelope(plaintext, aad, expires_at)?)
    }

    fn decrypt(&self, envelope: &Envelope, aad: &Value) -> Result<String, ProviderError> {
        Ok(self.decrypt_envelope(envelope, aad)?)
    }

    fn hmac_hex(&self, domain: &str, data: &[u8]) -> Result<String, ProviderError> {
        Ok(self.hmac(domain, data)?)
    }
}

/// JavaScript's truthiness for the optional string fields: absent and `""` both mean "not set".
fn present(field: &Option<String>) -> Option<&str> {
    field.as_deref().filter(|s| !s.is_empty())
}

/// An envelope's kid is echoed in an error only when it looks like a key id (short, plain
/// characters), so a crafted envelope cannot push arbitrary text into logs.
pub(crate) fn printable_kid(kid: &str) -> Option<String> {
    let plain = kid.len() <= 64
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'));
    plain.then(|| kid.to_owned())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // The hash is public, but comparing it in constant time costs nothing and removes a question.
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// The provider is shared across request threads.
const _: fn() = || {
    fn check<T: Send + Sync>() {}
    check::<LocalKeyProvider>();
};
