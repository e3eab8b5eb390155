//! Test helpers: a fake crypto provider and child-process plumbing.
#![allow(dead_code)]

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

use haechi_core::audit::canonical_json;
use haechi_core::hash::sha256_hex;
use haechi_core::seams::{Crypto, Envelope, ProviderError};
use ring::hmac;
use serde_json::Value;

/// A stand-in for the real AES-GCM provider: XOR "encryption", an AAD-bound SHA-256 tag and a
/// real HMAC-SHA256 keyed by the domain.
#[derive(Debug, Default)]
pub(crate) struct FakeCrypto {
    counter: AtomicU64,
}

const PAD: u8 = 0x5a;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn tag(iv: &str, ct: &str, aad: &Value) -> String {
    sha256_hex(format!("{iv}|{ct}|{}", canonical_json(aad)).as_bytes())[..32].to_owned()
}

impl Crypto for FakeCrypto {
    fn encrypt(
        &self,
        plaintext: &str,
        aad: &Value,
        expires_at: Option<&str>,
    ) -> Result<Envelope, ProviderError> {
        let iv = format!("{:024x}", self.counter.fetch_add(1, Ordering::Relaxed));
        let ct = hex(&plaintext.bytes().map(|b| b ^ PAD).collect::<Vec<_>>());
        Ok(Envelope {
            v: 2,
            alg: Some("FAKE-XOR".into()),
            kid: Some("test".into()),
            tag: tag(&iv, &ct, aad),
            iv,
            ct,
            aad_hash: None,
            aad_encoding: Some("nfkc-json-v2".into()),
            created_at: None,
            expires_at: expires_at.map(str::to_owned),
        })
    }

    fn decrypt(&self, envelope: &Envelope, aad: &Value) -> Result<String, ProviderError> {
        if envelope.tag != tag(&envelope.iv, &envelope.ct, aad) {
            return Err(ProviderError::new("fake_auth", "authentication failed"));
        }
        let bytes = unhex(&envelope.ct).ok_or(ProviderError::new("fake_ct", "bad ciphertext"))?;
        String::from_utf8(bytes.into_iter().map(|b| b ^ PAD).collect())
            .map_err(|_| ProviderError::new("fake_utf8", "bad plaintext"))
    }

    fn hmac_hex(&self, domain: &str, data: &[u8]) -> Result<String, ProviderError> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, domain.as_bytes());
        Ok(hex(hmac::sign(&key, data).as_ref()))
    }
}

/// Runs the named test of the current test binary in a child process with `env` set.
pub(crate) fn spawn_self(
    test_name: &str,
    env: &[(&str, String)],
) -> std::io::Result<std::process::Child> {
    let exe = std::env::current_exe()?;
    let mut command = Command::new(exe);
    command.args([test_name, "--exact", "--test-threads=1", "--nocapture"]);
    for (key, value) in env {
        command.env(key, value);
    }
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    command.spawn()
}

pub(crate) fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Unwraps a test-side `Result` with the failure in the panic message.
pub(crate) fn ok<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
    match result {
        Ok(value) => value,
        Err(error) => panic!("unexpected error: {error:?}"),
    }
}
