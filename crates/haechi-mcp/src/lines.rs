//! Newline-delimited framing with a bound: MCP's stdio transport sends one JSON-RPC message per
//! line (`\n` or `\r\n`). A line longer than the bound is skipped as it streams past, so one
//! oversized message never holds more than the bound in memory and the stream goes on.

use std::io::{self, BufRead, BufReader, Read};

/// How much of an oversized line is kept.
pub const OVERSIZED_HEAD_BYTES: usize = 4096;

/// Read-ahead: big enough that a burst of messages is read with few calls and filtered as one
/// batch.
const READ_BUFFER_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// One line without its line ending (never blank).
    Line(Vec<u8>),
    /// A line longer than the bound, discarded; `bytes` is its length, `head` its first
    /// [`OVERSIZED_HEAD_BYTES`] bytes (enough to read the message's `id`, which comes first in
    /// what real clients and servers write).
    Oversized { bytes: usize, head: Vec<u8> },
}

pub struct LineReader<R> {
    inner: BufReader<R>,
    max_bytes: usize,
}

impl<R: Read> LineReader<R> {
    pub fn new(inner: R, max_bytes: usize) -> Self {
        Self::with_buffer(inner, max_bytes, READ_BUFFER_BYTES)
    }

    /// With a read-ahead of `capacity` bytes (tests use tiny ones).
    pub fn with_buffer(inner: R, max_bytes: usize, capacity: usize) -> Self {
        LineReader {
            inner: BufReader::with_capacity(capacity, inner),
            max_bytes,
        }
    }

    /// Whether a whole line is already read ahead, so the next frame comes without waiting
    /// for the input.
    pub fn has_buffered_line(&self) -> bool {
        memchr::memchr(b'\n', self.inner.buffer()).is_some()
    }

    /// The next non-blank line, or `None` at the end of the stream. A last line without a
    /// newline still counts.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame>> {
        loop {
            let mut line = Vec::new();
            let mut total = 0usize;
            let mut ended = false;
            let mut ends_with_cr = false;
            loop {
                let available = match self.inner.fill_buf() {
                    Ok(available) => available,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                    Err(error) => return Err(error),
                };
                if available.is_empty() {
                    break;
                }
                let (chunk, used, newline) = match memchr::memchr(b'\n', available) {
                    Some(at) => (&available[..at], at + 1, true),
                    None => (available, available.len(), false),
                };
                total += chunk.len();
                if let Some(&last) = chunk.last() {
                    ends_with_cr = last == b'\r';
                }
                if total <= self.max_bytes.saturating_add(1) {
                    line.extend_from_slice(chunk);
                } else {
                    // Over the bound: keep only the head, for the id.
                    let room = OVERSIZED_HEAD_BYTES.saturating_sub(line.len());
                    line.extend_from_slice(&chunk[..room.min(chunk.len())]);
                    line.truncate(OVERSIZED_HEAD_BYTES);
                }
                self.inner.consume(used);
                if newline {
                    ended = true;
                    break;
                }
            }
            if total == 0 && !ended {
                return Ok(None);
            }
            if ends_with_cr {
                total -= 1;
            }
            if total > self.max_bytes {
                line.truncate(OVERSIZED_HEAD_BYTES.min(total));
                return Ok(Some(Frame::Oversized {
                    bytes: total,
                    head: line,
                }));
            }
            if ends_with_cr {
                line.pop();
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                if ended {
                    continue;
                }
                return Ok(None);
            }
            return Ok(Some(Frame::Line(line)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8], max: usize) -> Vec<Frame> {
        // A tiny buffer, so lines cross many reads.
        let mut reader = LineReader::with_buffer(input, max, 3);
        let mut out = Vec::new();
        while let Some(frame) = reader.next_frame().unwrap() {
            out.push(frame);
        }
        out
    }

    #[test]
    fn lf_and_crlf_lines_blank_lines_and_a_last_line_without_newline() {
        assert_eq!(
            frames(b"{\"a\":1}\r\n\n  \r\n{\"b\":2}\n{\"c\":3}", 64),
            vec![
                Frame::Line(b"{\"a\":1}".to_vec()),
                Frame::Line(b"{\"b\":2}".to_vec()),
                Frame::Line(b"{\"c\":3}".to_vec()),
            ]
        );
        assert!(frames(b"\n\n  ", 64).is_empty());
    }

    #[test]
    fn an_oversized_line_is_skipped_and_the_next_one_read() {
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\r\n{}\n");
        assert_eq!(
            frames(&input, 10),
            vec![
                Frame::Oversized {
                    bytes: 100,
                    head: vec![b'x'; 100]
                },
                Frame::Line(b"{}".to_vec())
            ]
        );
        // Exactly at the bound is fine, CR not counted.
        assert_eq!(
            frames(b"0123456789\r\n", 10),
            vec![Frame::Line(b"0123456789".to_vec())]
        );
    }
}
