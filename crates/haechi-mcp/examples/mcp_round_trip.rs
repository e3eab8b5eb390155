//! Round-trip latency of MCP messages through a stdio server command, one message at a time
//! (as an agent waits for each tool call). Used by `scripts/bench-mcp.sh` to compare a server
//! run directly with the same server behind `haechi mcp-wrap`.
//!
//! Usage: mcp_round_trip <messages> <message-file> -- <command> [args…]
//! The command must answer every line with one line (`cat` does: it echoes the request, which
//! comes back through the wrapper as a server request). Prints one JSON object with the
//! percentiles in microseconds. It measures; it asserts nothing.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

const USAGE: &str = "usage: mcp_round_trip <messages> <message-file> -- <command> [args...]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [count, file, separator, program, rest @ ..] if separator == "--" => count
            .parse::<usize>()
            .ok()
            .map(|count| (count, file, program, rest)),
        _ => None,
    };
    let Some((count, file, program, rest)) = parsed else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let message = match std::fs::read_to_string(file) {
        Ok(text) => text.trim_end().to_owned(),
        Err(error) => {
            eprintln!("cannot read {file}: {error}");
            return ExitCode::from(2);
        }
    };
    let mut child = match Command::new(program)
        .args(rest)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
    {
        Ok(child) => child,
        Err(error) => {
            eprintln!("cannot start {program}: {error}");
            return ExitCode::from(2);
        }
    };
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return ExitCode::from(2);
    };
    let mut replies = BufReader::new(stdout);
    let mut reply = String::new();
    let mut micros = Vec::with_capacity(count);
    // The first messages warm up caches and the audit file; they are not counted.
    let warmup = (count / 10).max(10);
    for round in 0..count + warmup {
        let line = message.replace("\"id\": 1,", &format!("\"id\": {},", round + 1));
        let started = Instant::now();
        let sent = stdin
            .write_all(line.as_bytes())
            .and_then(|()| stdin.write_all(b"\n"))
            .and_then(|()| stdin.flush());
        if sent.is_err() {
            eprintln!("the server closed its input");
            return ExitCode::from(1);
        }
        reply.clear();
        if !matches!(replies.read_line(&mut reply), Ok(n) if n > 0) {
            eprintln!("the server closed its output");
            return ExitCode::from(1);
        }
        if round >= warmup {
            micros.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    drop(stdin);
    let _ = child.wait();
    micros.sort_by(f64::total_cmp);
    let at = |q: f64| {
        let index = ((micros.len().saturating_sub(1)) as f64 * q).round() as usize;
        micros.get(index).copied().unwrap_or(0.0)
    };
    println!(
        "{{\"messages\":{},\"p50_us\":{:.1},\"p90_us\":{:.1},\"p99_us\":{:.1},\"max_us\":{:.1}}}",
        micros.len(),
        at(0.50),
        at(0.90),
        at(0.99),
        at(1.0)
    );
    ExitCode::SUCCESS
}
