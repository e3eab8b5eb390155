//! Issue 8, item 4: every command checks the key file the same way. A truncated, garbage or
//! group/world-accessible key file stops `protect` and makes `status` fail with the reason; a
//! symlinked key file is written through (one nonce counter); temporary copies left by a
//! killed write are removed on the next open.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use common::haechi;
use serde_json::{json, Value};

const KEY_FILE: &str = ".haechi/dev.keys.json";

struct Run {
    code: i32,
    stdout: Value,
    stderr: String,
}

fn run(dir: &Path, args: &[&str]) -> Run {
    let output = haechi(dir).args(args).output().unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: serde_json::from_slice(&output.stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// `haechi init`, then an enforce config that encrypts emails, and an input with one email.
fn setup(dir: &Path) {
    haechi(dir).arg("init").assert().success();
    let config = json!({
        "mode": "enforce",
        "policy": { "mode": "enforce", "actions": { "email": "encrypt" } },
    });
    fs::write(dir.join("haechi.config.json"), config.to_string()).unwrap();
    fs::write(
        dir.join("input.json"),
        r#"{"m":"mail minji.kim@example.com"}"#,
    )
    .unwrap();
}

fn usage(key_file: &Path) -> Option<u64> {
    let doc: Value = serde_json::from_str(&fs::read_to_string(key_file).unwrap()).unwrap();
    doc["keys"][0].get("usage").and_then(Value::as_u64)
}

fn one_line(stderr: &str) -> &str {
    let trimmed = stderr.trim_end();
    assert_eq!(trimmed.lines().count(), 1, "one stderr line: {stderr}");
    assert!(trimmed.starts_with("haechi: "), "{stderr}");
    trimmed
}

/// `status` on a broken key file: exit 1, `ok: false`, the reason in `warnings` and
/// `keys.error`, one line on stderr; the key material never appears.
fn assert_status_refuses(dir: &Path, reason: &str) -> Run {
    let status = run(dir, &["status"]);
    assert_eq!(status.code, 1, "{}", status.stderr);
    assert_eq!(status.stdout["ok"], false, "{}", status.stdout);
    assert_eq!(status.stdout["command"], "status");
    let warnings = status.stdout["warnings"].to_string();
    assert!(warnings.contains(reason), "{warnings}");
    assert!(
        status.stdout["keys"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains(reason),
        "{}",
        status.stdout["keys"]
    );
    assert!(
        one_line(&status.stderr).contains(reason),
        "{}",
        status.stderr
    );
    status
}

#[test]
fn status_fails_on_a_truncated_key_file() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let path = dir.path().join(KEY_FILE);
    let text = fs::read_to_string(&path).unwrap();
    let key = text.split("\"k\": \"").nth(1).unwrap()[..43].to_owned();
    fs::write(&path, &text[..text.len() / 2]).unwrap();

    let status = assert_status_refuses(dir.path(), "is malformed");
    assert_eq!(
        status.stdout["keys"]["error"]["code"],
        "haechi_crypto_key_file_malformed"
    );
    assert_eq!(status.stdout["keys"]["exists"], true);
    for out in [status.stdout.to_string(), status.stderr] {
        assert!(!out.contains(&key[..20]), "key material leaked: {out}");
    }
    // protect refuses the same file with the same words.
    let protect = run(dir.path(), &["protect", "input.json"]);
    assert_eq!(protect.code, 1);
    assert!(one_line(&protect.stderr).contains("is malformed"));
}

#[test]
fn status_fails_on_a_garbage_key_file() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let path = dir.path().join(KEY_FILE);
    fs::write(&path, [0xff, 0xfe, 0x00, 0x13, 0x37, b'{', 0x80]).unwrap();
    let status = assert_status_refuses(dir.path(), "is malformed");
    assert!(status.stdout["keys"]["nonceBudget"].is_null());

    // Valid JSON that is not a key file is garbage too.
    fs::write(&path, "[1, 2, 3]\n").unwrap();
    assert_status_refuses(dir.path(), "is malformed");
}

#[test]
fn status_fails_when_the_key_file_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
    let status = assert_status_refuses(dir.path(), "run `haechi init`");
    assert_eq!(status.stdout["keys"]["exists"], false);
}

#[test]
fn a_group_readable_key_file_is_refused_and_status_says_why() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let path = dir.path().join(KEY_FILE);
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let before = fs::read(&path).unwrap();

    let protect = run(dir.path(), &["protect", "input.json"]);
    assert_eq!(protect.code, 1, "{}", protect.stderr);
    assert_eq!(
        protect.stdout,
        Value::Null,
        "nothing protected with an exposed key"
    );
    let line = one_line(&protect.stderr);
    assert!(line.contains("0644"), "{line}");
    assert!(line.contains(&format!("chmod 600 {KEY_FILE}")), "{line}");
    assert_eq!(
        fs::read(&path).unwrap(),
        before,
        "the key file is not touched"
    );

    let status = assert_status_refuses(dir.path(), "chmod 600");
    assert_eq!(status.stdout["keys"]["permissions"], "0644");
    assert_eq!(
        status.stdout["keys"]["error"]["code"],
        "haechi_crypto_key_file_too_open"
    );

    // Following the advice fixes it.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(run(dir.path(), &["protect", "input.json"]).code, 0);
    let status = run(dir.path(), &["status"]);
    assert_eq!((status.code, &status.stdout["ok"]), (0, &json!(true)));
}

#[test]
fn a_symlinked_key_file_is_written_through_with_one_counter() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let link = dir.path().join(KEY_FILE);
    let secrets = dir.path().join("secrets");
    fs::create_dir(&secrets).unwrap();
    let target = secrets.join("real.keys.json");
    fs::rename(&link, &target).unwrap();
    // `init` locked the file where it was; that lock is not the moved file's.
    let _ = fs::remove_file(dir.path().join(".haechi/.dev.keys.json.lock"));
    std::os::unix::fs::symlink("../secrets/real.keys.json", &link).unwrap();

    for expected in 1..=2 {
        let protect = run(dir.path(), &["protect", "input.json"]);
        assert_eq!(protect.code, 0, "{}", protect.stderr);
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink(),
            "the link is kept, not replaced by a copy"
        );
        assert_eq!(usage(&target), Some(expected), "one counter, in the target");
    }
    let status = run(dir.path(), &["status"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert_eq!(status.stdout["keys"]["nonceBudget"]["used"], 2);
    let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // Rotation writes through the link too; temp files and the lock live beside the target.
    haechi(dir.path())
        .args(["init", "--force"])
        .assert()
        .success();
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let doc: Value = serde_json::from_str(&fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(doc["keys"].as_array().unwrap().len(), 2);
    let beside_link: Vec<_> = fs::read_dir(dir.path().join(".haechi"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.contains("keys"))
        .collect();
    assert_eq!(beside_link, vec!["dev.keys.json"], "{beside_link:?}");
    let mut beside_target: Vec<_> = fs::read_dir(&secrets)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    beside_target.sort();
    assert_eq!(
        beside_target,
        vec![".real.keys.json.lock", "real.keys.json"]
    );
}

/// A pid that is certainly not running: a child that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn stale_temp_copies_of_the_key_file_are_removed_on_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path());
    let haechi_dir = dir.path().join(".haechi");
    let copy = fs::read(dir.path().join(KEY_FILE)).unwrap();
    let write_temp = |name: &str| {
        let path = haechi_dir.join(name);
        fs::write(&path, &copy).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        path
    };
    // Left by a killed writer: a dead pid, or a live pid but far too old to be a write in flight.
    let dead = write_temp(&format!(".dev.keys.json.{}-0badc0de.tmp", dead_pid()));
    let old = write_temp(&format!(
        ".dev.keys.json.{}-12345678.tmp",
        std::process::id()
    ));
    fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
    // Not ours to remove: a fresh temp of a live process, and names outside the exact pattern.
    let live = write_temp(&format!(
        ".dev.keys.json.{}-abcdef01.tmp",
        std::process::id()
    ));
    let others = [
        write_temp(&format!(".dev.keys.json.{}-0BADC0DE.tmp", dead_pid())),
        write_temp(&format!(".dev.keys.json.{}-0badc0.tmp", dead_pid())),
        write_temp(".dev.keys.json.notes.tmp"),
        write_temp(&format!(".other.json.{}-0badc0de.tmp", dead_pid())),
    ];

    let status = run(dir.path(), &["status"]);
    assert_eq!(status.code, 0, "{}", status.stderr);
    assert!(
        status.stdout["warnings"]
            .to_string()
            .contains("removed 2 stale temporary copies"),
        "{}",
        status.stdout["warnings"]
    );
    assert!(!dead.exists() && !old.exists());
    assert!(live.exists());
    assert!(others.iter().all(|p| p.exists()));

    // protect runs the same check on open.
    let again = write_temp(&format!(".dev.keys.json.{}-0badc0de.tmp", dead_pid()));
    assert_eq!(run(dir.path(), &["protect", "input.json"]).code, 0);
    assert!(!again.exists());
    assert!(live.exists());
}
