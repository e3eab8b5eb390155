//! The gateway when its audit log cannot be written (issue 8, item 2): a full disk or a torn
//! last record makes requests fail with `503 haechi_audit_unavailable` (never forwarded) and
//! `/__haechi/ready` answer 503 until an append would succeed again; nothing is lost and the
//! chain verifies afterwards.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::json;

/// A 256 KiB tmpfs mounted for one test, unmounted on drop. Needs root (CI runs as root).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount() -> SmallDisk {
        let dir = tempfile::TempDir::new().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(
            status.success(),
            "this test mounts a small tmpfs to fill it: run it as root"
        );
        SmallDisk { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Fill the file system until a write fails.
    fn fill(&self) -> PathBuf {
        let filler = self.path("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 4096];
        while file
            .write_all(&block)
            .and_then(|_| file.sync_data())
            .is_ok()
        {}
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

fn verifies(path: &Path) -> bool {
    haechi_store::audit::verify_file(path).unwrap().valid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_requests_with_503_and_readiness_until_space_returns() {
    let disk = SmallDisk::mount();
    let audit_path = disk.path("audit.jsonl");
    let configured = audit_path.to_string_lossy().into_owned();
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), move |c| {
        enforce(c);
        set(c, "audit.path", json!(configured));
        set(c, "audit.fsync", json!("every-batch"));
    })
    .await;
    let hello = chat(&format!("mail {EMAIL}"));
    assert_eq!(
        gw.post_json("/v1/chat/completions", &hello).await.status,
        200
    );
    assert_eq!(gw.get("/__haechi/ready").await.status, 200);

    let filler = disk.fill();
    // The log's last page may still hold a few records; the first append past it fails.
    let mut forwarded = 1;
    let refused = loop {
        let reply = gw.post_json("/v1/chat/completions", &hello).await;
        if reply.status != 200 {
            break reply;
        }
        forwarded += 1;
        assert!(forwarded < 64, "the full disk never failed an append");
    };
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.error(), "haechi_audit_unavailable");
    assert_eq!(refused.headers["retry-after"], "1");
    assert!(!refused.text().contains(EMAIL));
    assert_eq!(
        stub.count(),
        forwarded,
        "an unaudited request was forwarded"
    );
    let ready = gw.get("/__haechi/ready").await;
    assert_eq!(ready.status, 503, "{}", ready.text());
    assert_eq!(ready.json()["checks"]["auditWritable"], false);

    std::fs::remove_file(filler).unwrap();
    assert_eq!(gw.get("/__haechi/ready").await.status, 200);
    let again = gw.post_json("/v1/chat/completions", &hello).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(stub.count(), forwarded + 1);
    assert!(
        verifies(&audit_path),
        "the chain broke across the full disk"
    );
    let text = std::fs::read_to_string(&audit_path).unwrap();
    assert_eq!(
        text.lines().count(),
        forwarded + 1,
        "one record per forwarded request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_last_record_fails_requests_until_audit_repair_cuts_it() {
    let stub = Stub::echo().await;
    let gw = start_gateway(stub.url(), enforce).await;
    assert_eq!(
        gw.post_json("/v1/chat/completions", &chat("hello"))
            .await
            .status,
        200
    );

    // Another writer died mid-line.
    let mut log = std::fs::OpenOptions::new()
        .append(true)
        .open(&gw.audit_path)
        .unwrap();
    log.write_all(br#"{"schemaVersion":1,"id":"x","oper"#)
        .unwrap();
    drop(log);

    let refused = gw.post_json("/v1/chat/completions", &chat("hello")).await;
    assert_eq!(refused.status, 503, "{}", refused.text());
    assert_eq!(refused.error(), "haechi_audit_unavailable");
    assert_eq!(gw.get("/__haechi/ready").await.status, 503);
    assert_eq!(stub.count(), 1);

    let plan = haechi_store::audit::repair_torn_tail(&gw.audit_path, true).unwrap();
    assert!(plan.saved_to.is_some());
    assert_eq!(gw.get("/__haechi/ready").await.status, 200);
    let again = gw.post_json("/v1/chat/completions", &chat("hello")).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert!(verifies(&gw.audit_path));
}
