mod common;

use std::fs;
use std::path::Path;
use std::sync::Arc;

use common::{assert_success, ok, spawn_self, FakeCrypto};
use haechi_core::seams::{Crypto, TokenRequest, Tokenizer};
use haechi_store::vault::{
    vault_db_path, SqliteTokenVault, VaultError, VaultSettings, DETERMINISTIC_DOMAIN,
};
use serde_json::{json, Value};

fn open(path: &Path, settings: VaultSettings) -> SqliteTokenVault {
    ok(SqliteTokenVault::open(
        path,
        Arc::new(FakeCrypto::default()),
        settings,
    ))
}

fn request<'a>(
    plaintext: &'a str,
    detection_type: &'a str,
    context: &'a Value,
) -> TokenRequest<'a> {
    TokenRequest {
        plaintext,
        detection_type,
        context,
        path: "key_0123456789ab",
        rule_id: "email",
    }
}

fn is_hex(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn the_database_sits_beside_the_reference_json_vault() {
    assert_eq!(
        vault_db_path(Path::new(".haechi/token-vault.json")),
        Path::new(".haechi/token-vault.sqlite3")
    );
    assert_eq!(
        vault_db_path(Path::new("/var/lib/vault.db")),
        Path::new("/var/lib/vault.db")
    );
    assert_eq!(vault_db_path(Path::new("vault")), Path::new("vault"));
}

#[test]
fn random_tokens_have_the_reference_shape_and_reveal() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("sub/token-vault.sqlite3");
    let vault = open(&path, VaultSettings::default());
    let context = json!({"protocol": "llm-http", "direction": "request"});
    let tokens = ok(vault.tokenize(&[
        request("minji.kim@example.com", "email", &context),
        request("minji.kim@example.com", "email", &context),
    ]));
    assert_eq!(tokens.len(), 2);
    assert_ne!(
        tokens[0], tokens[1],
        "random tokens differ for equal values"
    );
    for token in &tokens {
        let hex = token.strip_prefix("tok_email_").unwrap_or("");
        assert_eq!(hex.len(), 16);
        assert!(is_hex(hex));
    }
    let revealed = ok(vault.reveal(&tokens[0]));
    assert_eq!(revealed.plaintext, "minji.kim@example.com");
    assert_eq!(revealed.detection_type, "email");
    assert!(
        !format!("{revealed:?}").contains("minji"),
        "Debug hides the plaintext"
    );

    let bytes = ok(fs::read(&path));
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("minji.kim@example.com"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(ok(fs::metadata(&path)).permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn records_rebuild_the_reference_record() {
    let dir = ok(tempfile::tempdir());
    let vault = open(&dir.path().join("v.sqlite3"), VaultSettings::default());
    let context = json!({"protocol": "mcp"});
    let token = ok(vault.tokenize_batch(&[request("010-1234-5678", "phone", &context)]))
        .remove(0)
        .token;
    let record = ok(vault.record(&token))
        .map(|r| r.to_reference_json())
        .unwrap_or(Value::Null);
    let keys: Vec<&str> = record
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        [
            "type",
            "createdAt",
            "expiresAt",
            "metadata",
            "envelope",
            "aad"
        ]
    );
    assert_eq!(record["type"], "phone");
    assert_eq!(
        record["metadata"],
        json!({"path": "key_0123456789ab", "ruleId": "email"})
    );
    assert_eq!(
        record["aad"],
        json!({"purpose": "token-vault", "token": token, "type": "phone", "context": {"protocol": "mcp"}})
    );
    assert_eq!(record["envelope"]["expiresAt"], record["expiresAt"]);
    let created = record["createdAt"].as_str().unwrap_or("");
    let expires = record["expiresAt"].as_str().unwrap_or("");
    assert_eq!(created.len(), 24, "toISOString format: {created}");
    assert!(created.ends_with('Z') && expires > created);
}

#[test]
fn deterministic_tokens_are_the_hmac_and_are_reused() {
    let dir = ok(tempfile::tempdir());
    let settings = VaultSettings {
        deterministic: true,
        deterministic_types: Some(vec!["email".into()]),
        ..VaultSettings::default()
    };
    let vault = open(&dir.path().join("v.sqlite3"), settings);
    let context = json!({});
    let first = ok(vault.tokenize_batch(&[
        request("a@example.com", "email", &context),
        request("a@example.com", "email", &context),
        request("a@example.com", "name", &context),
    ]));
    let digest = ok(FakeCrypto::default().hmac_hex(DETERMINISTIC_DOMAIN, b"email:a@example.com"));
    assert_eq!(first[0].token, format!("tok_email_{}", &digest[..32]));
    assert!(!first[0].reused);
    assert_eq!(first[1].token, first[0].token);
    assert!(first[1].reused, "the second equal value reuses the token");
    assert_eq!(
        first[2].token.len(),
        "tok_name_".len() + 16,
        "other types stay random"
    );

    let before = ok(vault.record(&first[0].token)).and_then(|r| r.expires_at);
    std::thread::sleep(std::time::Duration::from_millis(5));
    let again = ok(vault.tokenize_batch(&[request("a@example.com", "email", &context)]));
    assert!(again[0].reused);
    let after = ok(vault.record(&first[0].token)).and_then(|r| r.expires_at);
    assert!(after > before, "reuse refreshes expiresAt");
    assert_eq!(ok(vault.export_metadata(Some("email"))).len(), 1);
}

#[test]
fn unknown_expired_and_wrong_context_are_told_apart() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("v.sqlite3");
    let live = open(&path, VaultSettings::default());
    let expired = open(
        &path,
        VaultSettings {
            retention_days: -1.0,
            ..VaultSettings::default()
        },
    );
    let context = json!({"tenant": "a"});
    let live_token = ok(live.tokenize(&[request("value-1", "email", &context)])).remove(0);
    let dead_token = ok(expired.tokenize(&[request("value-2", "email", &context)])).remove(0);

    assert!(matches!(
        live.reveal("tok_email_0000000000000000"),
        Err(VaultError::UnknownToken)
    ));
    let err = live.reveal(&dead_token).err();
    assert!(matches!(err, Some(VaultError::Expired)));
    assert_eq!(err.map(|e| e.reason_code()), Some("token_expired"));
    let wrong = live.reveal_with_context(&live_token, Some(&json!({"tenant": "b"})));
    assert!(matches!(wrong, Err(VaultError::DecryptFailed)));
    assert_eq!(
        ok(live.reveal_with_context(&live_token, Some(&context))).plaintext,
        "value-1"
    );
    for error in [
        VaultError::UnknownToken,
        VaultError::Expired,
        VaultError::DecryptFailed,
    ] {
        assert!(
            !error.to_string().contains("tok_"),
            "messages carry no token"
        );
    }

    // The next write prunes the expired record.
    ok(live.tokenize(&[request("value-3", "email", &context)]));
    assert!(matches!(
        live.reveal(&dead_token),
        Err(VaultError::UnknownToken)
    ));
}

#[test]
fn detokenize_purge_and_purge_expired() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("v.sqlite3");
    let vault = open(&path, VaultSettings::default());
    let context = json!({});
    let tokens = ok(vault.tokenize(&[
        request("one", "email", &context),
        request("two", "phone", &context),
    ]));
    let restored = ok(vault.detokenize(&[&tokens[0], &tokens[1], "tok_email_ffffffffffffffff"]));
    assert_eq!(
        restored.values.get(&tokens[0]).map(String::as_str),
        Some("one")
    );
    assert_eq!(
        restored.values.get(&tokens[1]).map(String::as_str),
        Some("two")
    );
    assert_eq!(restored.skipped, 1);
    assert!(!format!("{restored:?}").contains("one"));

    assert!(ok(vault.purge(&tokens[0])));
    assert!(!ok(vault.purge(&tokens[0])));
    assert!(matches!(
        vault.reveal(&tokens[0]),
        Err(VaultError::UnknownToken)
    ));

    // Write expired records without pruning them (purge_expired must find them).
    let expired = open(
        &path,
        VaultSettings {
            retention_days: -1.0,
            ..VaultSettings::default()
        },
    );
    ok(expired.tokenize(&[
        request("x", "email", &context),
        request("y", "email", &context),
    ]));
    assert_eq!(
        ok(vault.export_metadata(None)).len(),
        3,
        "expired records survive their own batch"
    );
    assert_eq!(ok(vault.purge_expired()), 2);
    assert_eq!(ok(vault.purge_expired()), 0);
    let remaining: Vec<String> = ok(vault.export_metadata(None))
        .into_iter()
        .map(|m| m.token)
        .collect();
    assert_eq!(remaining, [tokens[1].clone()]);
}

#[test]
fn export_lists_metadata_only_in_creation_order() {
    let dir = ok(tempfile::tempdir());
    let vault = open(&dir.path().join("v.sqlite3"), VaultSettings::default());
    let context = json!({});
    let tokens = ok(vault.tokenize(&[
        request("p1", "email", &context),
        request("p2", "phone", &context),
        request("p3", "email", &context),
    ]));
    let emails = ok(vault.export_metadata(Some("email")));
    let listed: Vec<&str> = emails.iter().map(|m| m.token.as_str()).collect();
    assert_eq!(listed, [tokens[0].as_str(), tokens[2].as_str()]);
    let text = ok(serde_json::to_string(&emails));
    assert!(!text.contains("p1") && !text.contains("envelope"));
    let first = ok(serde_json::to_value(&emails[0]));
    let keys: Vec<&str> = first
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    assert_eq!(
        keys,
        ["token", "type", "createdAt", "expiresAt", "metadata"]
    );
}

#[test]
fn a_reference_json_vault_imports_and_reveals() {
    let dir = ok(tempfile::tempdir());
    let crypto = FakeCrypto::default();
    let token = "tok_email_0123456789abcdef";
    let aad = json!({"purpose": "token-vault", "token": token, "type": "email", "context": {}});
    let envelope = ok(crypto.encrypt("old@example.com", &aad, Some("2999-01-01T00:00:00.000Z")));
    let json_vault = json!({
        "version": 1, "createdAt": "2026-01-01T00:00:00.000Z",
        "tokens": {
            token: {"type": "email", "createdAt": "2026-01-01T00:00:00.000Z",
                    "expiresAt": "2999-01-01T00:00:00.000Z",
                    "metadata": {"path": "key_x", "ruleId": "email", "value": "leak"},
                    "envelope": envelope, "aad": aad},
            "tok_email_ffffffffffffffff": {"type": "email"}
        }
    });
    let json_path = dir.path().join("token-vault.json");
    ok(fs::write(
        &json_path,
        ok(serde_json::to_string_pretty(&json_vault)),
    ));
    let vault = open(&vault_db_path(&json_path), VaultSettings::default());
    let report = ok(vault.import_json_vault(&json_path));
    assert_eq!(
        (report.imported, report.existing, report.invalid),
        (1, 0, 1)
    );
    assert!(!report.unchanged);
    assert_eq!(ok(vault.reveal(token)).plaintext, "old@example.com");
    let again = ok(vault.import_json_vault(&json_path));
    assert!(again.unchanged, "an unchanged file is not imported twice");
    assert_eq!(again.imported + again.existing, 0);
    let meta = ok(vault.export_metadata(None));
    assert_eq!(
        meta[0].metadata,
        json!({"path": "key_x", "ruleId": "email"})
    );
}

#[test]
fn bad_settings_are_refused() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("v.sqlite3");
    let nan = SqliteTokenVault::open(
        &path,
        Arc::new(FakeCrypto::default()),
        VaultSettings {
            retention_days: f64::NAN,
            ..VaultSettings::default()
        },
    );
    assert!(matches!(nan, Err(VaultError::InvalidSettings(_))));
    let far = open(
        &path,
        VaultSettings {
            retention_days: 1e9,
            ..VaultSettings::default()
        },
    );
    let context = json!({});
    assert!(matches!(
        far.tokenize_batch(&[request("v", "email", &context)]),
        Err(VaultError::InvalidSettings(_))
    ));
}

/// Child half of the multi-process test.
#[test]
fn child_tokenizer() {
    let Ok(path) = std::env::var("HAECHI_TEST_VAULT_PATH") else {
        return;
    };
    let writer = std::env::var("HAECHI_TEST_WRITER").unwrap_or_default();
    let settings = VaultSettings {
        deterministic: true,
        deterministic_types: Some(vec!["shared".into()]),
        ..VaultSettings::default()
    };
    let vault = open(Path::new(&path), settings);
    let context = json!({});
    for batch in 0..BATCHES {
        let values: Vec<String> = (0..PER_BATCH)
            .map(|i| format!("{writer}-{batch}-{i}@example.com"))
            .collect();
        let mut requests: Vec<TokenRequest<'_>> = values
            .iter()
            .map(|v| request(v, "email", &context))
            .collect();
        requests.push(request("same-for-everyone", "shared", &context));
        ok(vault.tokenize_batch(&requests));
    }
}

const CHILDREN: usize = 5;
const BATCHES: usize = 20;
const PER_BATCH: usize = 5;

#[test]
fn processes_tokenizing_at_once_keep_every_record() {
    let dir = ok(tempfile::tempdir());
    let path = dir.path().join("v.sqlite3");
    let children: Vec<_> = (0..CHILDREN)
        .map(|writer| {
            ok(spawn_self(
                "child_tokenizer",
                &[
                    ("HAECHI_TEST_VAULT_PATH", path.display().to_string()),
                    ("HAECHI_TEST_WRITER", writer.to_string()),
                ],
            ))
        })
        .collect();
    for child in children {
        assert_success(&ok(child.wait_with_output()), "child tokenizer");
    }
    let vault = open(&path, VaultSettings::default());
    assert_eq!(
        ok(vault.export_metadata(Some("email"))).len(),
        CHILDREN * BATCHES * PER_BATCH
    );
    assert_eq!(
        ok(vault.export_metadata(Some("shared"))).len(),
        1,
        "one deterministic token"
    );
    let some = ok(vault.export_metadata(Some("email"))).remove(0).token;
    assert!(ok(vault.reveal(&some)).plaintext.ends_with("@example.com"));
}

#[test]
fn settings_and_path_come_from_the_default_config() {
    let config = haechi_core::config::defaults::default_config();
    let settings = VaultSettings::from_config(&config.token_vault);
    assert_eq!(settings, VaultSettings::default());
    assert_eq!(
        vault_db_path(Path::new(&config.token_vault.path)),
        Path::new(".haechi/token-vault.sqlite3")
    );
}
