//! `haechi mcp-wrap -- <command> [args…]`: run an MCP server as a child process and filter
//! both directions of its stdio. The client talks to our stdin/stdout; the server to the
//! child's. Client messages get the allowlist, server messages do not (a server's own requests,
//! like `sampling/createMessage`, are not client calls); both get protection. Errors go to
//! whoever waits for them ([`crate::filter`]).
//!
//! The child is started without a shell. SIGINT and SIGTERM are passed on to it, the client's
//! end of input closes the child's stdin, and the child's exit code becomes ours (1 when it was
//! killed by a signal).

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::filter::{McpFilter, Send, Side};
use crate::lines::{Frame, LineReader};
use crate::stdio::filter_batches;

/// How long the pumps may take to drain once the child has exited (a grandchild can hold the
/// pipes open forever).
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);

/// What happens to the child's stderr (`--stderr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StderrMode {
    /// Each line protected like a tool result before it is printed (the default).
    Filter,
    /// Discarded.
    Drop,
    /// Passed through raw: an explicit opt-out of protection for the local process boundary.
    Inherit,
}

impl StderrMode {
    /// The `--stderr` value, with the reference's refusal for anything else.
    pub fn parse(value: &str) -> Result<StderrMode, WrapError> {
        match value {
            "filter" => Ok(StderrMode::Filter),
            "drop" => Ok(StderrMode::Drop),
            "inherit" => Ok(StderrMode::Inherit),
            other => Err(WrapError::BadStderrMode(other.to_owned())),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WrapError {
    #[error(
        "mcp-wrap requires a child command after --, e.g. haechi mcp-wrap -- npx some-mcp-server"
    )]
    NoCommand,
    #[error("mcp-wrap --stderr must be one of: filter | drop | inherit (got {0:?})")]
    BadStderrMode(String),
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot start a thread to relay the MCP server's streams: {0}")]
    Thread(#[source] io::Error),
    #[error("cannot wait for {program}: {source}")]
    Wait {
        program: String,
        #[source]
        source: io::Error,
    },
}

/// The server to run.
#[derive(Debug, Clone)]
pub struct ServerCommand {
    pub program: OsString,
    pub args: Vec<OsString>,
}

impl ServerCommand {
    /// The words after `--`; refused when there are none.
    pub fn from_words(words: Vec<OsString>) -> Result<ServerCommand, WrapError> {
        let mut words = words.into_iter();
        let program = words
            .next()
            .filter(|program| !program.is_empty())
            .ok_or(WrapError::NoCommand)?;
        Ok(ServerCommand {
            program,
            args: words.collect(),
        })
    }
}

/// The client's side of the session: our stdin, stdout and stderr in the CLI.
pub struct ClientIo<I, O, E> {
    pub input: I,
    pub output: O,
    pub stderr: E,
}

/// Run the server until it exits; returns its exit code.
pub fn run<I, O, E>(
    filter: Arc<McpFilter>,
    server: &ServerCommand,
    stderr_mode: StderrMode,
    client: ClientIo<I, O, E>,
    forward_signals: bool,
) -> Result<i32, WrapError>
where
    I: Read + core::marker::Send + 'static,
    O: Write + core::marker::Send + 'static,
    E: Write + core::marker::Send + 'static,
{
    let program = server.program.to_string_lossy().into_owned();
    let mut child = Command::new(&server.program)
        .args(&server.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(match stderr_mode {
            StderrMode::Filter => Stdio::piped(),
            StderrMode::Drop => Stdio::null(),
            StderrMode::Inherit => Stdio::inherit(),
        })
        .spawn()
        .map_err(|source| WrapError::Spawn {
            program: program.clone(),
            source,
        })?;
    let signals = if forward_signals {
        forward_signals_to(child.id())
    } else {
        None
    };

    let ends = Arc::new(Ends {
        client: Mutex::new(Box::new(client.output)),
        server: Mutex::new(child.stdin.take()),
    });
    let (finished, drained) = mpsc::channel::<()>();
    let mut draining = 0;

    let relays = {
        let (filter, ends) = (Arc::clone(&filter), Arc::clone(&ends));
        let client_input = client.input;
        relay_thread("haechi-mcp-client", move || {
            pump(&filter, &ends, client_input, Side::Client);
            // The client is done: the server sees the end of its input.
            ends.close_server();
        })
    }
    .and_then(|()| match child.stdout.take() {
        Some(stdout) => {
            let (filter, ends, finished) =
                (Arc::clone(&filter), Arc::clone(&ends), finished.clone());
            draining += 1;
            relay_thread("haechi-mcp-server", move || {
                pump(&filter, &ends, stdout, Side::Server);
                let _ = finished.send(());
            })
        }
        None => Ok(()),
    })
    .and_then(|()| match child.stderr.take() {
        Some(stderr) => {
            let (filter, mut out) = (Arc::clone(&filter), client.stderr);
            draining += 1;
            relay_thread("haechi-mcp-stderr", move || {
                filter_stderr(&filter, stderr, &mut out);
                let _ = finished.send(());
            })
        }
        None => Ok(()),
    });
    if let Err(error) = relays {
        // Nothing may reach the server unfiltered, and nobody would relay its answers.
        let _ = child.kill();
        let _ = child.wait();
        return Err(error);
    }

    let status = child
        .wait()
        .map_err(|source| WrapError::Wait { program, source });
    if let Some(signals) = signals {
        signals.close();
    }
    let status = status?;
    for _ in 0..draining {
        if drained.recv_timeout(DRAIN_AFTER_EXIT).is_err() {
            break;
        }
    }
    Ok(status.code().unwrap_or(1))
}

fn relay_thread(
    name: &str,
    work: impl FnOnce() + core::marker::Send + 'static,
) -> Result<(), WrapError> {
    thread::Builder::new()
        .name(name.into())
        .spawn(work)
        .map(drop)
        .map_err(WrapError::Thread)
}

/// The two ends lines are written to. Each line is written whole under its lock, so the two
/// directions' lines never interleave.
struct Ends {
    client: Mutex<Box<dyn Write + core::marker::Send>>,
    server: Mutex<Option<ChildStdin>>,
}

impl Ends {
    fn deliver(&self, send: &Send) {
        let mut line = Vec::with_capacity(send.line.len() + 1);
        line.extend_from_slice(send.line.as_bytes());
        line.push(b'\n');
        // A side that is gone cannot be told anything more; the other side goes on.
        match send.to {
            Side::Client => {
                let mut client = self.client.lock().unwrap_or_else(|p| p.into_inner());
                let _ = client.write_all(&line).and_then(|()| client.flush());
            }
            Side::Server => {
                let mut server = self.server.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(stdin) = server.as_mut() {
                    if stdin.write_all(&line).and_then(|()| stdin.flush()).is_err() {
                        *server = None;
                    }
                }
            }
        }
    }

    fn close_server(&self) {
        let mut server = self.server.lock().unwrap_or_else(|p| p.into_inner());
        *server = None;
    }
}

/// Filter every message one side sends until its stream ends.
fn pump(filter: &McpFilter, ends: &Ends, input: impl Read, from: Side) {
    let mut lines = LineReader::new(input, filter.max_message_bytes());
    let _ = filter_batches(filter, &mut lines, from, |sends| {
        for send in &sends {
            ends.deliver(send);
        }
        Ok(())
    });
}

/// Protect each stderr line of the server before printing it; a blocked line is dropped.
fn filter_stderr(filter: &McpFilter, input: impl Read, out: &mut impl Write) {
    let mut lines = LineReader::new(input, filter.max_message_bytes());
    while let Ok(Some(frame)) = lines.next_frame() {
        let printed = match frame {
            Frame::Line(bytes) => {
                let text = String::from_utf8_lossy(&bytes);
                let protected = filter.protect_stderr_line(&text);
                let recorded = protected
                    .event
                    .is_none_or(|event| filter.record_event(event).is_ok());
                protected.line.filter(|_| recorded)
            }
            Frame::Oversized { bytes, .. } => Some(format!(
                "[haechi: a stderr line of {bytes} bytes from the MCP server was dropped (over mcp.maxMessageBytes)]"
            )),
        };
        if let Some(line) = printed {
            let _ = out
                .write_all(line.as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .and_then(|()| out.flush());
        }
    }
}

/// Pass SIGINT and SIGTERM on to the child. `None` when the handlers cannot be installed (the
/// child then gets the terminal's signals directly, as any child does).
fn forward_signals_to(pid: u32) -> Option<signal_hook::iterator::Handle> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]).ok()?;
    let handle = signals.handle();
    let pid = rustix::process::Pid::from_raw(i32::try_from(pid).ok()?)?;
    let forwarding = thread::Builder::new()
        .name("haechi-mcp-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                let signal = match signal {
                    SIGINT => rustix::process::Signal::INT,
                    _ => rustix::process::Signal::TERM,
                };
                let _ = rustix::process::kill_process(pid, signal);
            }
        });
    forwarding.ok().map(|_| handle)
}
