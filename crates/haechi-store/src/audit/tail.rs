//! Finding the chain head at the end of the log without reading the whole file.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};

use haechi_core::audit::ChainHead;
use serde_json::Value;

/// First read size from the end; doubled until the last record fits.
const FIRST_CHUNK: u64 = 64 * 1024;

/// What the end of the log says.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Tail {
    /// No records yet (empty or blank file).
    Empty { needs_newline: bool },
    /// The last record's link. `needs_newline` when the file does not end with a line break.
    Head {
        head: ChainHead,
        needs_newline: bool,
    },
    /// The last line is not JSON: a writer stopped mid-line. `line_start` is its byte offset.
    Torn { line_start: u64 },
    /// The last line is JSON but carries no usable `auditIntegrity`.
    Unchained,
}

/// Reads the last non-blank line of the first `len` bytes of `file`.
pub(crate) fn read_tail(mut file: &File, len: u64) -> io::Result<Tail> {
    if len == 0 {
        return Ok(Tail::Empty {
            needs_newline: false,
        });
    }
    let mut chunk = FIRST_CHUNK;
    loop {
        let start = len.saturating_sub(chunk);
        let mut buffer = vec![0u8; (len - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buffer)?;
        let needs_newline = buffer.last() != Some(&b'\n');
        match last_line(&buffer, start == 0) {
            Some(Some(line)) => {
                let line_start = start + (line.as_ptr() as usize - buffer.as_ptr() as usize) as u64;
                return Ok(classify(line, line_start, needs_newline));
            }
            Some(None) => return Ok(Tail::Empty { needs_newline }),
            None => chunk = chunk.saturating_mul(2),
        }
    }
}

/// The last non-blank line of `buffer`: `Some(None)` when there is none, `None` when the
/// buffer does not reach back to the start of that line (read more).
fn last_line(buffer: &[u8], at_file_start: bool) -> Option<Option<&[u8]>> {
    let mut end = buffer.len();
    loop {
        match buffer[..end].iter().rposition(|b| *b == b'\n') {
            Some(newline) => {
                let line = &buffer[newline + 1..end];
                if !is_blank(line) {
                    return Some(Some(line));
                }
                end = newline;
            }
            None if at_file_start => {
                let line = &buffer[..end];
                return Some((!is_blank(line)).then_some(line));
            }
            None => return None,
        }
    }
}

fn classify(line: &[u8], line_start: u64, needs_newline: bool) -> Tail {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match serde_json::from_slice::<Value>(line) {
        Ok(record) => match ChainHead::from_record(&record) {
            Some(head) => Tail::Head {
                head,
                needs_newline,
            },
            None => Tail::Unchained,
        },
        Err(_) => Tail::Torn { line_start },
    }
}

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn tail_of(content: &[u8]) -> Tail {
        let mut file = match tempfile::tempfile() {
            Ok(file) => file,
            Err(error) => panic!("tempfile: {error}"),
        };
        assert!(file.write_all(content).is_ok());
        match read_tail(&file, content.len() as u64) {
            Ok(tail) => tail,
            Err(error) => panic!("read_tail: {error}"),
        }
    }

    fn head(sequence: u64, hash: &str) -> ChainHead {
        ChainHead {
            sequence,
            event_hash: hash.into(),
        }
    }

    const A: &str = r#"{"auditIntegrity":{"sequence":1,"eventHash":"a"}}"#;
    const B: &str = r#"{"auditIntegrity":{"sequence":2,"eventHash":"b"}}"#;

    #[test]
    fn finds_the_last_record_and_skips_blank_lines() {
        assert_eq!(
            tail_of(format!("{A}\n{B}\n\n  \n").as_bytes()),
            Tail::Head {
                head: head(2, "b"),
                needs_newline: false
            }
        );
        assert_eq!(
            tail_of(format!("{A}\r\n").as_bytes()),
            Tail::Head {
                head: head(1, "a"),
                needs_newline: false
            }
        );
    }

    #[test]
    fn a_complete_record_without_line_break_needs_one() {
        assert_eq!(
            tail_of(format!("{A}\n{B}").as_bytes()),
            Tail::Head {
                head: head(2, "b"),
                needs_newline: true
            }
        );
    }

    #[test]
    fn empty_torn_and_unchained_tails_are_told_apart() {
        assert_eq!(
            tail_of(b"\n \n"),
            Tail::Empty {
                needs_newline: false
            }
        );
        assert_eq!(
            tail_of(format!("{A}\n{{\"id\":\"x\",\"aud").as_bytes()),
            Tail::Torn {
                line_start: A.len() as u64 + 1
            }
        );
        assert_eq!(
            tail_of(format!("{A}\n{{\"id\":1}}\n").as_bytes()),
            Tail::Unchained
        );
    }

    #[test]
    fn a_last_record_longer_than_the_first_chunk_is_read_whole() {
        let long = format!(
            r#"{{"pad":"{}","auditIntegrity":{{"sequence":7,"eventHash":"h"}}}}"#,
            "x".repeat(3 * FIRST_CHUNK as usize)
        );
        assert_eq!(
            tail_of(format!("{A}\n{long}\n").as_bytes()),
            Tail::Head {
                head: head(7, "h"),
                needs_newline: false
            }
        );
    }
}
