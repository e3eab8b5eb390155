//! Property tests of the framing and the filter: whatever bytes arrive, in whatever pieces,
//! lines are framed as a simple model says, nothing panics, and every line written is one
//! JSON value.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on setup errors

mod support;

use std::io::Read;
use std::sync::{Arc, LazyLock};

use haechi_core::audit::MemoryAuditSink;
use haechi_mcp::McpFilter;

use haechi_core::stream::sse::{SseDecoder, SseEvent, SseLine};
use haechi_mcp::lines::{Frame, LineReader, OVERSIZED_HEAD_BYTES};
use haechi_mcp::Side;
use proptest::prelude::*;
use support::{enforcing, filter_with};

/// One filter for every case: building the detector per case would dominate the run.
static FILTER: LazyLock<(McpFilter, Arc<MemoryAuditSink>)> =
    LazyLock::new(|| filter_with(&enforcing()));

/// A reader that hands out its bytes in the given piece sizes (then the rest).
struct Pieces {
    bytes: Vec<u8>,
    at: usize,
    sizes: Vec<usize>,
}

impl Read for Pieces {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let size = if self.sizes.is_empty() {
            out.len()
        } else {
            self.sizes.remove(0).max(1)
        };
        let n = size.min(out.len()).min(self.bytes.len() - self.at);
        out[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// What framing must give: split on LF, one trailing CR dropped, blank lines skipped, long
/// lines reported by length.
fn model(bytes: &[u8], max: usize) -> Vec<Frame> {
    let mut frames = Vec::new();
    let mut parts: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if bytes.last() == Some(&b'\n') || bytes.is_empty() {
        parts.pop();
    }
    for part in parts {
        let line = part.strip_suffix(b"\r").unwrap_or(part);
        if line.len() > max {
            let head = line[..line.len().min(OVERSIZED_HEAD_BYTES)].to_vec();
            frames.push(Frame::Oversized {
                bytes: line.len(),
                head,
            });
        } else if !line.iter().all(u8::is_ascii_whitespace) {
            frames.push(Frame::Line(line.to_vec()));
        }
    }
    frames
}

fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    // Mostly newline-rich text so lines, CRs and blanks all occur, with raw bytes mixed in.
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(b"{}[]\":,ab \r\n".to_vec()),
            1 => any::<u8>(),
        ],
        0..400,
    )
}

proptest! {
    #[test]
    fn lines_are_framed_as_the_model_says_whatever_the_pieces(
        bytes in stream_bytes(),
        sizes in prop::collection::vec(1usize..9, 0..80),
        max in 1usize..40,
        buffer in 1usize..16,
    ) {
        let input = Pieces { bytes: bytes.clone(), at: 0, sizes };
        let mut reader = LineReader::with_buffer(input, max, buffer);
        let mut frames = Vec::new();
        while let Some(frame) = reader.next_frame().unwrap() {
            frames.push(frame);
        }
        prop_assert_eq!(frames, model(&bytes, max));
    }

    #[test]
    fn any_line_gets_at_most_one_json_line_per_side(line in stream_bytes(), server in any::<bool>()) {
        let filter = &FILTER.0;
        let from = if server { Side::Server } else { Side::Client };
        let sent = filter.record(filter.handle_line(&line, from, &filter.local_caller()));
        prop_assert!(sent.len() <= 1);
        for send in sent {
            prop_assert!(serde_json::from_str::<serde_json::Value>(&send.line).is_ok());
            prop_assert!(!send.line.contains('\n'));
        }
    }

    #[test]
    fn the_stdio_filter_ends_and_writes_json_lines_for_any_input(bytes in stream_bytes()) {
        let filter = &FILTER.0;
        let mut out = Vec::new();
        haechi_mcp::stdio::run_filter(filter, bytes.as_slice(), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for line in text.lines() {
            prop_assert!(serde_json::from_str::<serde_json::Value>(line).is_ok(), "{}", line);
        }
    }

    #[test]
    fn sse_events_decode_the_same_whatever_the_chunking(
        datas in prop::collection::vec("[a-z{}\":, ]{0,12}", 1..6),
        crlf in any::<bool>(),
        piece in 1usize..11,
    ) {
        let events: Vec<SseEvent> = datas
            .iter()
            .map(|data| SseEvent {
                lines: vec![
                    SseLine::Field { name: "event".into(), value: "message".into() },
                    SseLine::Field { name: "data".into(), value: data.clone() },
                ],
            })
            .collect();
        let mut wire: String = events.iter().map(SseEvent::encode).collect();
        if crlf {
            wire = wire.replace('\n', "\r\n");
        }
        let mut decoder = SseDecoder::new(1 << 16);
        let mut decoded = Vec::new();
        for chunk in wire.as_bytes().chunks(piece) {
            decoded.extend(decoder.feed(chunk).unwrap());
        }
        prop_assert!(!decoder.finish());
        prop_assert_eq!(decoded, events);
    }

    #[test]
    fn the_sse_decoder_never_panics(bytes in stream_bytes(), piece in 1usize..11) {
        let mut decoder = SseDecoder::new(64);
        for chunk in bytes.chunks(piece) {
            if decoder.feed(chunk).is_err() {
                break;
            }
        }
        decoder.finish();
    }
}
