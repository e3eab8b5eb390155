//! `haechi auth add | list | revoke`, end to end: the token is printed once and never again,
//! the store keeps only its keyed hash, and mistakes fail with one clear line.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use std::fs;
use std::path::Path;

use common::haechi;
use serde_json::{json, Value};

struct Run {
    code: i32,
    json: Value,
    stdout: String,
    stderr: String,
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let output = haechi(dir).args(args).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout,
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn init() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    haechi(dir.path()).arg("init").assert().success();
    dir
}

fn add(dir: &Path, args: &[&str]) -> Value {
    let mut full = vec!["auth", "add"];
    full.extend_from_slice(args);
    let result = run(dir, &full);
    assert_eq!(result.code, 0, "{}", result.stderr);
    result.json
}

/// An error run: exit 1, nothing on stdout, one `haechi: …` line on stderr.
fn fails(dir: &Path, args: &[&str]) -> String {
    let result = run(dir, args);
    assert_eq!(result.code, 1, "{args:?}: {}", result.stdout);
    assert!(result.stdout.is_empty(), "{}", result.stdout);
    assert!(result.stderr.starts_with("haechi: "), "{}", result.stderr);
    assert_eq!(
        result.stderr.trim_end().lines().count(),
        1,
        "{}",
        result.stderr
    );
    result.stderr
}

#[test]
fn add_prints_the_token_once_and_list_never_shows_it() {
    let dir = init();
    let added = add(
        dir.path(),
        &[
            "--type",
            "service",
            "--scope",
            "team:payments",
            "--scope",
            "tier:gold",
            "--label",
            "team=payments",
            "--label",
            "env=prod",
        ],
    );
    let token = added["token"].as_str().unwrap().to_owned();
    let id = added["id"].as_str().unwrap().to_owned();
    assert!(token.starts_with("hae_") && token.len() == 47, "{token}");
    assert!(id.starts_with("tok_auth_") && id.len() == 17, "{id}");
    assert_eq!(added["ok"], true);
    assert_eq!(added["command"], "auth add");
    assert_eq!(added["type"], "service");
    assert_eq!(added["scopes"], json!(["team:payments", "tier:gold"]));
    assert_eq!(added["labels"], json!({"team": "payments", "env": "prod"}));
    assert!(added["warning"].as_str().unwrap().contains("only once"));
    let keys: Vec<&str> = added
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["ok", "command", "id", "type", "scopes", "labels", "token", "warning"]
    );

    let store_path = dir.path().join(".haechi/auth.json");
    let store_text = fs::read_to_string(&store_path).unwrap();
    assert!(!store_text.contains(&token));
    assert!(!store_text.contains(&token[4..]));
    let store: Value = serde_json::from_str(&store_text).unwrap();
    let hash = store["tokens"][0]["tokenHash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&store_path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    let listed = run(dir.path(), &["auth", "list"]);
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    assert!(!listed.stdout.contains(&token));
    assert!(!listed.stdout.contains(&token[4..]));
    assert!(!listed.stdout.contains(&hash));
    assert!(!listed.stdout.contains("tokenHash"));
    assert!(listed
        .stdout
        .starts_with("{\n  \"ok\": true,\n  \"command\": \"auth list\""));
    assert_eq!(listed.json["ok"], true);
    assert_eq!(listed.json["command"], "auth list");
    let tokens = listed.json["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1);
    let record = tokens[0].as_object().unwrap();
    let fields: Vec<&str> = record.keys().map(String::as_str).collect();
    assert_eq!(
        fields,
        ["id", "type", "scopes", "labels", "createdAt", "disabled"]
    );
    assert_eq!(record["id"], json!(id));
    assert_eq!(record["disabled"], false);
    assert_eq!(record["labels"], json!({"team": "payments", "env": "prod"}));
}

#[test]
fn revoke_disables_once_and_unknown_ids_fail() {
    let dir = init();
    let id = add(dir.path(), &["--type", "agent"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let other = add(dir.path(), &["--type", "user"])["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let revoked = run(dir.path(), &["auth", "revoke", &id]);
    assert_eq!(revoked.code, 0, "{}", revoked.stderr);
    assert_eq!(
        revoked.json,
        json!({"ok": true, "command": "auth revoke", "result": {"id": id, "revoked": true}})
    );
    let again = run(dir.path(), &["auth", "revoke", &id]);
    assert_eq!(again.json["result"]["revoked"], false);

    let listed = run(dir.path(), &["auth", "list"]).json;
    let states: Vec<(String, bool)> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["id"].as_str().unwrap().to_owned(),
                t["disabled"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(states, [(id, true), (other, false)]);

    let message = fails(dir.path(), &["auth", "revoke", "tok_auth_00000000"]);
    assert!(message.contains("unknown token id"), "{message}");
    assert!(message.contains("haechi auth list"), "{message}");
    let message = fails(dir.path(), &["auth", "revoke"]);
    assert!(message.contains("requires a token id"), "{message}");
}

#[test]
fn bad_arguments_fail_clearly_and_write_nothing() {
    let dir = init();
    let cases: [(&[&str], &str); 7] = [
        (&["auth", "add"], "requires --type user|service|agent"),
        (&["auth", "add", "--type", "admin"], "invalid token type"),
        (
            &["auth", "add", "--type", "user", "--label", "team"],
            "expected key=value",
        ),
        (
            &["auth", "add", "--type", "user", "--label", "owner=me"],
            "auth.allowedLabelKeys",
        ),
        (
            &["auth", "add", "--type", "user", "--label", "env="],
            "1 to 64 characters",
        ),
        (
            &["auth", "add", "--type", "user", "--scope", ""],
            "non-empty",
        ),
        (&["auth", "frobnicate"], "haechi help"),
    ];
    for (args, hint) in cases {
        let message = fails(dir.path(), args);
        assert!(message.contains(hint), "{args:?}: {message}");
    }
    let long = format!("env={}", "x".repeat(65));
    fails(
        dir.path(),
        &["auth", "add", "--type", "user", "--label", &long],
    );
    assert!(!dir.path().join(".haechi/auth.json").exists());
}

#[test]
fn the_config_chooses_the_store_and_the_label_keys() {
    let dir = init();
    let config_path = dir.path().join("haechi.config.json");
    let mut config: Value =
        serde_json::from_str(&fs::read_to_string(&config_path).unwrap()).unwrap();
    config["auth"] = json!({"store": "tokens/gateway.json", "allowedLabelKeys": ["squad"]});
    fs::write(dir.path().join("custom.json"), config.to_string()).unwrap();

    let message = fails(
        dir.path(),
        &[
            "auth",
            "add",
            "--type",
            "user",
            "--label",
            "team=a",
            "--config",
            "custom.json",
        ],
    );
    assert!(message.contains("allowed: squad"), "{message}");
    let added = add(
        dir.path(),
        &[
            "--type",
            "user",
            "--label",
            "squad=a",
            "--config",
            "custom.json",
        ],
    );
    assert_eq!(added["labels"], json!({"squad": "a"}));
    assert!(dir.path().join("tokens/gateway.json").exists());
    assert!(!dir.path().join(".haechi/auth.json").exists());
    let listed = run(dir.path(), &["auth", "list", "--config", "custom.json"]).json;
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 1);
    let default_list = run(dir.path(), &["auth", "list"]).json;
    assert_eq!(
        default_list["tokens"],
        json!([]),
        "an absent store lists as empty"
    );
}

#[test]
fn a_non_local_key_provider_is_refused() {
    let dir = init();
    let config_path = dir.path().join("haechi.config.json");
    let mut config: Value =
        serde_json::from_str(&fs::read_to_string(&config_path).unwrap()).unwrap();
    config["keys"]["provider"] = json!("external");
    fs::write(&config_path, config.to_string()).unwrap();
    for args in [
        &["auth", "add", "--type", "user"][..],
        &["auth", "list"],
        &["auth", "revoke", "tok_auth_1"],
    ] {
        let message = fails(dir.path(), args);
        assert!(
            message.contains(r#"requires keys.provider "local""#),
            "{message}"
        );
    }
}

#[test]
fn a_missing_config_says_to_run_init() {
    let dir = tempfile::tempdir().unwrap();
    let message = fails(dir.path(), &["auth", "list"]);
    assert!(message.contains("haechi init"), "{message}");
}

#[test]
fn a_corrupt_store_is_reported_without_its_content() {
    let dir = init();
    add(dir.path(), &["--type", "user"]);
    let path = dir.path().join(".haechi/auth.json");
    let text = fs::read_to_string(&path).unwrap();
    let hash = serde_json::from_str::<Value>(&text).unwrap()["tokens"][0]["tokenHash"]
        .as_str()
        .unwrap()
        .to_owned();
    fs::write(
        &path,
        text.replace("\"disabled\": false", "\"disabled\": fals"),
    )
    .unwrap();
    let message = fails(dir.path(), &["auth", "list"]);
    assert!(message.contains("not valid"), "{message}");
    assert!(!message.contains(&hash), "{message}");
    let message = fails(dir.path(), &["auth", "add", "--type", "user"]);
    assert!(message.contains("not valid"), "{message}");
    assert!(
        fs::read_to_string(&path).unwrap().contains("fals"),
        "the damaged store is left as it was"
    );
}

#[test]
fn concurrent_adds_from_processes_lose_nothing() {
    let dir = init();
    let binary = assert_cmd::cargo::cargo_bin("haechi");
    let children: Vec<_> = (0..8)
        .map(|_| {
            let mut command = std::process::Command::new(&binary);
            command
                .current_dir(dir.path())
                .args(["auth", "add", "--type", "service"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            for var in haechi_core::config::ENV_OVERLAY_VARS {
                command.env_remove(var);
            }
            command.spawn().unwrap()
        })
        .collect();
    let mut issued: Vec<String> = children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            let value: Value = serde_json::from_slice(&output.stdout).unwrap();
            value["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let listed = run(dir.path(), &["auth", "list"]).json;
    let mut stored: Vec<String> = listed["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    issued.sort();
    stored.sort();
    assert_eq!(stored, issued);
}
