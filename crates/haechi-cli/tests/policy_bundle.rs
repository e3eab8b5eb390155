//! `policy-sign`, `policy-verify` and `policy.bundlePath`, end to end through the binary, with
//! our own bundles and with bundles the reference (Haechi 1.7) signed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::haechi;
use haechi_crypto::PolicyBundleKeys;
use serde_json::{json, Value};

const KEY_FILE: &str = ".haechi/dev.keys.json";
const EMAIL: &str = "minji.kim@example.com";
const CARD: &str = "4111 1111 1111 1111";

/// Exit code, stdout as JSON (null when empty or not JSON), stderr.
fn run(dir: &Path, args: &[&str]) -> (i32, Value, String) {
    let output = haechi(dir).args(args).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    (
        output.status.code().unwrap_or(-1),
        serde_json::from_str(&stdout).unwrap_or(Value::Null),
        String::from_utf8(output.stderr).unwrap(),
    )
}

fn reference_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../haechi-crypto/tests/fixtures/bundle")
        .join(name)
}

/// A config that enforces and loads its policy from `bundle` (with an inline policy that
/// would block cards, to show it is replaced).
fn write_config(dir: &Path, bundle: &str, policy_mode: Value) {
    let config = json!({
        "mode": "enforce",
        "policy": {
            "mode": policy_mode,
            "bundlePath": bundle,
            "actions": {"card": "block", "email": "block"}
        },
        "keys": {"keyFile": KEY_FILE}
    });
    fs::write(dir.join("haechi.config.json"), config.to_string()).unwrap();
}

fn email_redacting_policy() -> Value {
    json!({
        "mode": "enforce",
        "presets": [],
        "defaultAction": "allow",
        "actions": {"email": "redact"}
    })
}

/// `haechi init`, a policy file and a signed bundle of it; returns the sign output.
fn signed_setup(dir: &Path, policy: &Value) -> Value {
    let (code, _, stderr) = run(dir, &["init"]);
    assert_eq!(code, 0, "{stderr}");
    fs::write(dir.join("policy.json"), policy.to_string()).unwrap();
    let (code, out, stderr) = run(dir, &["policy-sign", "policy.json"]);
    assert_eq!(code, 0, "{stderr}");
    out
}

fn protect(dir: &Path, text: &str) -> (i32, Value, String) {
    fs::write(
        dir.join("input.json"),
        json!({ "message": text }).to_string(),
    )
    .unwrap();
    run(dir, &["protect", "input.json"])
}

fn assert_one_line(stderr: &str, needles: &[&str]) {
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("haechi: "), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} not in {stderr}");
    }
}

#[test]
fn sign_and_verify_print_the_reference_fields() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let signed = signed_setup(path, &email_redacting_policy());
    let keys: Value =
        serde_json::from_str(&fs::read_to_string(path.join(KEY_FILE)).unwrap()).unwrap();
    let active = keys["keys"][0]["kid"].clone();
    assert_eq!(
        signed.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["ok", "command", "outPath", "kid", "signedAt"]
    );
    assert_eq!(signed["ok"], true);
    assert_eq!(signed["command"], "policy-sign");
    assert_eq!(signed["outPath"], "policy.bundle.json");
    assert_eq!(signed["kid"], active);

    let bundle: Value =
        serde_json::from_str(&fs::read_to_string(path.join("policy.bundle.json")).unwrap())
            .unwrap();
    assert_eq!(
        bundle.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["version", "alg", "kid", "signedAt", "policy", "signature"]
    );
    assert_eq!(bundle["signedAt"], signed["signedAt"]);

    let (code, verified, stderr) = run(path, &["policy-verify", "policy.bundle.json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        verified,
        json!({
            "ok": true,
            "command": "policy-verify",
            "bundlePath": "policy.bundle.json",
            "result": {
                "valid": true,
                "kid": active,
                "signedAt": signed["signedAt"],
                "policy": email_redacting_policy()
            }
        })
    );

    // --out chooses the file.
    let (code, out, _) = run(path, &["policy-sign", "policy.json", "--out", "other.json"]);
    assert_eq!(code, 0);
    assert_eq!(out["outPath"], "other.json");
    assert!(path.join("other.json").exists());
}

#[test]
fn a_bundle_path_policy_replaces_the_inline_one_and_is_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    signed_setup(path, &email_redacting_policy());
    write_config(path, "policy.bundle.json", json!("enforce"));

    // The inline policy would block both; the bundle redacts the email and allows the card.
    let (code, out, stderr) = protect(path, &format!("mail {EMAIL} card {CARD}"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["blocked"], false);
    assert_eq!(
        out["payload"]["message"],
        format!("mail [REDACTED:email] card {CARD}")
    );

    let (code, status, stderr) = run(path, &["status"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(status["protection"]["policyMode"], "enforce");
}

#[test]
fn the_config_mode_wins_over_the_bundles_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    signed_setup(path, &email_redacting_policy());
    // The bundle says enforce; policy.mode dry-run decides.
    write_config(path, "policy.bundle.json", json!("dry-run"));
    let (code, out, stderr) = protect(path, &format!("mail {EMAIL}"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(out["mode"], "dry-run");
    assert_eq!(out["payload"]["message"], format!("mail {EMAIL}"));
    // policy.mode null: the top-level mode (enforce) applies.
    write_config(path, "policy.bundle.json", Value::Null);
    let (_, out, _) = protect(path, &format!("mail {EMAIL}"));
    assert_eq!(out["mode"], "enforce");
    assert_eq!(out["payload"]["message"], "mail [REDACTED:email]");
}

#[test]
fn a_tampered_bundle_stops_every_command_that_loads_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    signed_setup(path, &email_redacting_policy());
    write_config(path, "policy.bundle.json", json!("enforce"));
    let bundle_path = path.join("policy.bundle.json");
    let mut bundle: Value =
        serde_json::from_str(&fs::read_to_string(&bundle_path).unwrap()).unwrap();
    bundle["policy"]["actions"]["email"] = json!("allow");
    fs::write(&bundle_path, bundle.to_string()).unwrap();
    fs::write(path.join("input.json"), json!({ "m": EMAIL }).to_string()).unwrap();

    let commands: [&[&str]; 4] = [
        &["protect", "input.json"],
        &["status"],
        &["report"],
        &["init"],
    ];
    for args in commands {
        let (code, out, stderr) = run(path, args);
        assert_eq!(code, 1, "{args:?}");
        assert_eq!(out, Value::Null, "{args:?} printed output");
        assert_one_line(
            &stderr,
            &[
                "policy.bundlePath in haechi.config.json",
                "policy.bundle.json",
                "signature verification failed",
                "haechi policy-sign",
            ],
        );
    }
    // Nothing was protected, so nothing was audited.
    assert!(!path.join(".haechi/audit.jsonl").exists());

    let (code, _, stderr) = run(path, &["policy-verify", "policy.bundle.json"]);
    assert_eq!(code, 1);
    assert_one_line(&stderr, &["signature verification failed"]);

    // The key-only commands still run, so the operator can sign a good bundle again.
    let (code, _, stderr) = run(path, &["policy-sign", "policy.json"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, out, _) = protect(path, &format!("mail {EMAIL}"));
    assert_eq!(code, 0);
    assert_eq!(out["payload"]["message"], "mail [REDACTED:email]");
}

#[test]
fn broken_bundles_are_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    signed_setup(path, &email_redacting_policy());
    let good = fs::read_to_string(path.join("policy.bundle.json")).unwrap();

    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("missing.json", String::new(), vec!["not found"]),
        (
            "not-json.json",
            "{\"policy\": sk-live-123".into(),
            vec!["not valid JSON", "line 1"],
        ),
        (
            "wrong-alg.json",
            good.replace("\"HS256\"", "\"none\""),
            vec!["Invalid policy bundle", "alg"],
        ),
        (
            "no-signature.json",
            {
                let mut v: Value = serde_json::from_str(&good).unwrap();
                v.as_object_mut().unwrap().remove("signature");
                v.to_string()
            },
            vec!["Invalid policy bundle", "signature"],
        ),
        (
            "unknown-kid.json",
            {
                let mut v: Value = serde_json::from_str(&good).unwrap();
                v["kid"] = json!("local-1-abcdef");
                v.to_string()
            },
            vec!["local-1-abcdef", "does not hold", KEY_FILE],
        ),
    ];
    for (name, text, needles) in cases {
        if !text.is_empty() {
            fs::write(path.join(name), text).unwrap();
        }
        let (code, _, stderr) = run(path, &["policy-verify", name]);
        assert_eq!(code, 1, "{name}");
        assert_one_line(&stderr, &needles);
        assert!(!stderr.contains("sk-live"), "{stderr}");

        write_config(path, name, json!("enforce"));
        let (code, _, stderr) = run(path, &["status"]);
        assert_eq!(code, 1, "{name}");
        assert_one_line(&stderr, &needles);
    }
}

#[test]
fn a_bundle_from_another_key_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    signed_setup(path, &email_redacting_policy());
    // The bundle made by the reference under its own key file.
    fs::copy(
        reference_fixture("reference-bundle-retired-kid.json"),
        path.join("foreign.json"),
    )
    .unwrap();
    write_config(path, "foreign.json", json!("enforce"));
    let (code, _, stderr) = protect(path, EMAIL);
    assert_eq!(code, 1);
    assert_one_line(&stderr, &["foreign.json", "does not hold"]);
}

#[test]
fn a_signed_bundle_with_an_invalid_policy_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    signed_setup(path, &email_redacting_policy());
    // Signed correctly (bypassing policy-sign's own check), but the policy is not valid.
    let keys = PolicyBundleKeys::open(path.join(KEY_FILE)).unwrap();
    for (name, policy, needle) in [
        (
            "bad-action.json",
            json!({"actions": {"email": "shred"}}),
            "policy.actions.email",
        ),
        ("unknown-key.json", json!({"actionz": {}}), "policy.actionz"),
        (
            "nested.json",
            json!({"bundlePath": "other.json"}),
            "bundlePath",
        ),
    ] {
        let bundle = keys.sign(policy).unwrap();
        fs::write(path.join(name), bundle.to_file_text()).unwrap();
        let (code, _, stderr) = run(path, &["policy-verify", name]);
        assert_eq!(code, 1, "{name}");
        assert_one_line(&stderr, &["signed but its policy is invalid", needle]);
        write_config(path, name, json!("enforce"));
        let (code, _, stderr) = protect(path, EMAIL);
        assert_eq!(code, 1, "{name}");
        assert_one_line(&stderr, &["policy.bundlePath", needle]);
    }

    // policy-sign refuses to sign such a policy in the first place.
    fs::write(
        path.join("bad.json"),
        json!({"defaultAction": "obliterate"}).to_string(),
    )
    .unwrap();
    let (code, _, stderr) = run(
        path,
        &["policy-sign", "bad.json", "--out", "bad.bundle.json"],
    );
    assert_eq!(code, 1);
    assert_one_line(&stderr, &["bad.json", "policy.defaultAction"]);
    assert!(!path.join("bad.bundle.json").exists());
}

#[test]
fn a_bundle_signed_before_a_rotation_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let signed = signed_setup(path, &email_redacting_policy());
    let (code, rotated, _) = run(path, &["init", "--force"]);
    assert_eq!(code, 0);
    assert_ne!(rotated["activeKid"], signed["kid"]);
    write_config(path, "policy.bundle.json", json!("enforce"));

    let (code, verified, stderr) = run(path, &["policy-verify", "policy.bundle.json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(verified["result"]["kid"], signed["kid"]);
    let (_, out, _) = protect(path, &format!("mail {EMAIL}"));
    assert_eq!(out["payload"]["message"], "mail [REDACTED:email]");

    // A new bundle is signed with the new active key.
    let (_, resigned, _) = run(path, &["policy-sign", "policy.json"]);
    assert_eq!(resigned["kid"], rotated["activeKid"]);
}

#[test]
fn bundles_signed_by_the_reference_verify_and_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    fs::create_dir_all(path.join(".haechi")).unwrap();
    fs::copy(
        reference_fixture("reference-bundle-keys.json"),
        path.join(KEY_FILE),
    )
    .unwrap();
    // Git keeps no file modes; a key file that others can read is refused.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(path.join(KEY_FILE), fs::Permissions::from_mode(0o600)).unwrap();
    }
    fs::write(
        path.join("haechi.config.json"),
        json!({"keys": {"keyFile": KEY_FILE}}).to_string(),
    )
    .unwrap();
    for name in ["reference-bundle.json", "reference-bundle-retired-kid.json"] {
        fs::copy(reference_fixture(name), path.join(name)).unwrap();
        let (code, out, stderr) = run(path, &["policy-verify", name]);
        assert_eq!(code, 0, "{name}: {stderr}");
        let original: Value =
            serde_json::from_str(&fs::read_to_string(reference_fixture(name)).unwrap()).unwrap();
        assert_eq!(out["result"]["kid"], original["kid"]);
        assert_eq!(out["result"]["policy"], original["policy"]);
    }

    // The retired-key bundle (email: redact, everything else allowed) drives protect.
    write_config(path, "reference-bundle-retired-kid.json", json!("enforce"));
    let (code, out, stderr) = protect(path, &format!("mail {EMAIL} card {CARD}"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        out["payload"]["message"],
        format!("mail [REDACTED:email] card {CARD}")
    );

    // The realistic one (profiles, binding, rate, allowlist) loads as a valid policy.
    write_config(path, "reference-bundle.json", json!("enforce"));
    let (code, _, stderr) = run(path, &["status"]);
    assert_eq!(code, 0, "{stderr}");

    // Tampered copies of a reference bundle are refused.
    let mut tampered: Value =
        serde_json::from_str(&fs::read_to_string(path.join("reference-bundle.json")).unwrap())
            .unwrap();
    tampered["policy"]["actions"]["card"] = json!("allow");
    fs::write(path.join("reference-bundle.json"), tampered.to_string()).unwrap();
    let (code, _, stderr) = run(path, &["status"]);
    assert_eq!(code, 1);
    assert_one_line(&stderr, &["signature verification failed"]);
}

#[test]
fn usage_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (&["policy-sign"][..], "requires a policy JSON file path"),
        (
            &["policy-verify"][..],
            "requires a policy bundle JSON file path",
        ),
        (&["policy-sign", "p.json", "--bogus"][..], "haechi help"),
    ] {
        let (code, _, stderr) = run(dir.path(), args);
        assert_eq!(code, 1, "{args:?}");
        assert_one_line(&stderr, &[needle]);
    }
    let (code, _, stderr) = run(dir.path(), &["policy-verify", "b.json"]);
    assert_eq!(code, 1);
    assert_one_line(&stderr, &["haechi init"]);
    let help = haechi(dir.path()).arg("help").output().unwrap();
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(text.contains("policy-sign") && text.contains("policy-verify"));
}
