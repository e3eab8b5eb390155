//! The nonce budget across real processes: this test binary starts copies of itself (the
//! `child` test, driven by environment variables) that encrypt under one key file. A process
//! killed with SIGKILL loses at most its current chunk; processes running at once never get
//! overlapping invocation ranges, and the key file never counts fewer than were used.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

use haechi_crypto::{init_local_key_file, read_nonce_budget, LocalKeyProvider, NonceBudget};
use serde_json::json;

const CHILD: &str = "HAECHI_NONCE_CHILD";

/// What a child does: open `key_file` with `budget`, say `READY`, wait for a line on stdin,
/// encrypt `count` times, print the invocation ranges it used, then either exit normally
/// (`hang: false`) or say `DONE` and wait to be killed.
struct ChildSpec<'a> {
    key_file: &'a Path,
    budget: NonceBudget,
    count: u64,
    hang: bool,
}

/// The body of every child process; without the variable it is a no-op test.
#[test]
fn child() {
    let Ok(spec) = std::env::var(CHILD) else {
        return;
    };
    let fields: Vec<&str> = spec.split('|').collect();
    let number = |i: usize| fields[i].parse::<u64>().unwrap();
    let budget = NonceBudget {
        limit: number(1),
        first_window: number(2),
        max_window: number(3),
    };
    let provider = LocalKeyProvider::open_with_budget(fields[0], budget).unwrap();
    println!("READY");
    let mut go = String::new();
    std::io::stdin().read_line(&mut go).unwrap();

    let aad = json!({"path": "a", "type": "email"});
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for _ in 0..number(4) {
        provider
            .encrypt_envelope("a@example.com", &aad, None)
            .unwrap();
        let r = provider.nonce_reservation().unwrap();
        let index = r.start + r.used - 1;
        match ranges.last_mut() {
            Some((_, end)) if *end == index => *end += 1,
            _ => ranges.push((index, index + 1)),
        }
    }
    for (start, end) in &ranges {
        println!("RANGE {start} {end}");
    }
    let r = provider.nonce_reservation().unwrap();
    println!("CHUNK {} {}", r.start, r.end);
    if fields[5] == "hang" {
        println!("DONE");
        std::io::stdout().flush().unwrap();
        // Blocks until the parent kills this process; it never sends a second line.
        std::io::stdin().read_line(&mut go).unwrap();
        panic!("the parent should have killed this child");
    }
}

struct Running {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl Running {
    fn start(spec: &ChildSpec<'_>) -> Running {
        let b = spec.budget;
        let value = format!(
            "{}|{}|{}|{}|{}|{}",
            spec.key_file.display(),
            b.limit,
            b.first_window,
            b.max_window,
            spec.count,
            if spec.hang { "hang" } else { "exit" }
        );
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child", "--nocapture", "--test-threads=1"])
            .env(CHILD, value)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut running = Running { child, stdout };
        running.wait_for("READY");
        running
    }

    /// Read lines until `marker`; returns the `RANGE` and `CHUNK` lines seen on the way.
    fn wait_for(&mut self, marker: &str) -> Vec<(String, u64, u64)> {
        let mut seen = Vec::new();
        loop {
            let mut line = String::new();
            assert_ne!(
                self.stdout.read_line(&mut line).unwrap(),
                0,
                "child ended early"
            );
            let line = line.trim();
            // libtest prints `test child ... ` without a newline before the first line.
            if line.ends_with(marker) {
                return seen;
            }
            let parts: Vec<&str> = line.split(' ').collect();
            if let [kind @ ("RANGE" | "CHUNK"), start, end] = parts[..] {
                seen.push((
                    kind.to_owned(),
                    start.parse().unwrap(),
                    end.parse().unwrap(),
                ));
            }
        }
    }

    fn go(&mut self) {
        writeln!(self.child.stdin.as_mut().unwrap(), "go").unwrap();
    }

    /// Let a normal child finish; returns its ranges.
    fn finish(mut self) -> Vec<(u64, u64)> {
        drop(self.child.stdin.take());
        let mut ranges = Vec::new();
        let mut line = String::new();
        while self.stdout.read_line(&mut line).unwrap() > 0 {
            let parts: Vec<&str> = line.trim().split(' ').collect();
            if let ["RANGE", start, end] = parts[..] {
                ranges.push((start.parse().unwrap(), end.parse().unwrap()));
            }
            line.clear();
        }
        assert!(self.child.wait().unwrap().success());
        ranges
    }
}

fn key_file(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join("dev.keys.json");
    init_local_key_file(&path, true).unwrap();
    path
}

fn usage(path: &Path) -> u64 {
    read_nonce_budget(path).unwrap().used
}

#[test]
fn a_process_killed_with_sigkill_loses_at_most_its_current_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_file(&dir);
    let production = NonceBudget::default();
    let mut before = 0;
    // Killed inside its first chunk, then inside its second (grown) one.
    for count in [5, production.first_window + 5] {
        let mut child = Running::start(&ChildSpec {
            key_file: &path,
            budget: production,
            count,
            hang: true,
        });
        child.go();
        let lines = child.wait_for("DONE");
        child.child.kill().unwrap(); // SIGKILL: no destructor, no release
        child.child.wait().unwrap();

        let (_, chunk_start, chunk_end) = lines.iter().find(|l| l.0 == "CHUNK").unwrap().clone();
        let lost = usage(&path) - before - count;
        assert!(
            lost < chunk_end - chunk_start,
            "lost {lost}, chunk {chunk_start}..{chunk_end}"
        );
        assert!(chunk_end - chunk_start <= 2 * production.first_window);
        assert_eq!(usage(&path), chunk_end, "the killed chunk stays charged");
        before = usage(&path);
    }

    // The next process starts after everything the killed ones held.
    let next = LocalKeyProvider::open(&path).unwrap();
    next.encrypt_envelope("a@example.com", &json!({}), None)
        .unwrap();
    assert_eq!(next.nonce_reservation().unwrap().start, before);
}

#[test]
fn processes_running_at_once_never_get_overlapping_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let path = key_file(&dir);
    let budget = NonceBudget {
        limit: 1_000_000,
        first_window: 2,
        max_window: 16,
    };
    let count = 150;
    let mut children: Vec<Running> = (0..4)
        .map(|_| {
            Running::start(&ChildSpec {
                key_file: &path,
                budget,
                count,
                hang: false,
            })
        })
        .collect();
    // All have opened the key file before any encrypts, so their reservations interleave.
    children.iter_mut().for_each(Running::go);
    let mut ranges: Vec<(u64, u64)> = children.into_iter().flat_map(Running::finish).collect();

    let used: u64 = ranges.iter().map(|(start, end)| end - start).sum();
    assert_eq!(used, 4 * count);
    ranges.sort_unstable();
    for pair in ranges.windows(2) {
        assert!(
            pair[0].1 <= pair[1].0,
            "overlap: {:?} and {:?}",
            pair[0],
            pair[1]
        );
    }
    // Never under-counted; over-counted by at most the tails that could not be given back
    // (a process whose chunk was not on top at exit), one chunk each.
    let recorded = usage(&path);
    let highest = ranges.last().unwrap().1;
    assert!(
        recorded >= highest,
        "recorded {recorded} < highest index {highest}"
    );
    assert!(
        recorded <= 4 * count + 3 * budget.max_window,
        "recorded {recorded}"
    );
}
