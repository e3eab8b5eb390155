//! Server-sent events as the WHATWG definition frames them: lines end with CRLF, LF or CR; a
//! blank line ends an event; `:` starts a comment; a field is `name: value` (one space after
//! the colon is dropped). The decoder is incremental and bounded: an event, or a line, longer
//! than the limit is an error rather than a growing buffer.

/// One line of an event block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseLine {
    /// `:<text>` (keep-alives, padding).
    Comment(String),
    /// `name: value`; a line without a colon is a field with an empty value.
    Field { name: String, value: String },
}

/// One event: its lines in order, without line endings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub lines: Vec<SseLine>,
}

impl SseEvent {
    /// The `data` lines joined with `\n`, or `None` when the event has none.
    pub fn data(&self) -> Option<String> {
        let mut data: Option<String> = None;
        for value in self.values("data") {
            match data.as_mut() {
                Some(joined) => {
                    joined.push('\n');
                    joined.push_str(value);
                }
                None => data = Some(value.to_owned()),
            }
        }
        data
    }

    /// The value of the last `name` field (`event`, `id`, `retry`).
    pub fn field<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.values(name).last()
    }

    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.lines.iter().filter_map(move |line| match line {
            SseLine::Field { name: n, value } if n == name => Some(value.as_str()),
            _ => None,
        })
    }

    /// The same event with its data replaced: the `data` lines become `data` (one line per
    /// line of it), in the place of the first one; other lines are kept in order.
    pub fn with_data(&self, data: &str) -> SseEvent {
        let data_lines = || {
            data.split('\n').map(|part| SseLine::Field {
                name: "data".into(),
                value: part.into(),
            })
        };
        let is_data =
            |line: &SseLine| matches!(line, SseLine::Field { name, .. } if name == "data");
        let first_data = self
            .lines
            .iter()
            .position(is_data)
            .unwrap_or(self.lines.len());
        let mut lines: Vec<SseLine> = Vec::with_capacity(self.lines.len() + 1);
        lines.extend(self.lines[..first_data].iter().cloned());
        lines.extend(data_lines());
        lines.extend(
            self.lines[first_data..]
                .iter()
                .filter(|line| !is_data(line))
                .cloned(),
        );
        SseEvent { lines }
    }

    /// The event as bytes on the wire (LF line endings, a blank line after it).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            match line {
                SseLine::Comment(text) => {
                    out.push(':');
                    out.push_str(text);
                }
                SseLine::Field { name, value } => {
                    out.push_str(name);
                    out.push_str(": ");
                    out.push_str(value);
                }
            }
            out.push('\n');
        }
        out.push('\n');
        out
    }
}

/// Why a stream could not be framed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseError {
    #[error("an event of the stream is longer than {max_bytes} bytes")]
    EventTooLarge { max_bytes: usize },
    #[error("the stream is not valid UTF-8")]
    NotUtf8,
}

/// The incremental decoder.
#[derive(Debug)]
pub struct SseDecoder {
    max_event_bytes: usize,
    /// Bytes of the line being read.
    line: Vec<u8>,
    /// The previous chunk ended with CR: a LF starting the next one belongs to it.
    after_cr: bool,
    event: SseEvent,
    event_bytes: usize,
}

impl SseDecoder {
    pub fn new(max_event_bytes: usize) -> Self {
        SseDecoder {
            max_event_bytes,
            line: Vec::new(),
            after_cr: false,
            event: SseEvent::default(),
            event_bytes: 0,
        }
    }

    /// Feed the next bytes; whole events come back in order.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut events = Vec::new();
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = bytes.strip_prefix(b"\n") {
                bytes = rest;
            }
        }
        while let Some(at) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.take(&bytes[..at])?;
            let ended_by_cr = bytes[at] == b'\r';
            bytes = &bytes[at + 1..];
            if ended_by_cr {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    None => self.after_cr = true,
                    Some(_) => {}
                }
            }
            if let Some(event) = self.end_line()? {
                events.push(event);
            }
        }
        self.take(bytes)?;
        Ok(events)
    }

    /// The end of the stream: an event not closed by a blank line is not dispatched (as the
    /// standard says); whether one was left open is returned so callers can fail closed.
    pub fn finish(&mut self) -> bool {
        let open = !self.line.is_empty() || !self.event.lines.is_empty();
        self.line.clear();
        self.event = SseEvent::default();
        self.event_bytes = 0;
        open
    }

    fn take(&mut self, bytes: &[u8]) -> Result<(), SseError> {
        self.event_bytes += bytes.len();
        if self.event_bytes > self.max_event_bytes {
            return Err(SseError::EventTooLarge {
                max_bytes: self.max_event_bytes,
            });
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    fn end_line(&mut self) -> Result<Option<SseEvent>, SseError> {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            self.event_bytes = 0;
            if self.event.lines.is_empty() {
                return Ok(None);
            }
            return Ok(Some(std::mem::take(&mut self.event)));
        }
        let line = String::from_utf8(line).map_err(|_| SseError::NotUtf8)?;
        let parsed = match line.strip_prefix(':') {
            Some(comment) => SseLine::Comment(comment.to_owned()),
            None => match line.split_once(':') {
                Some((name, value)) => SseLine::Field {
                    name: name.to_owned(),
                    value: value.strip_prefix(' ').unwrap_or(value).to_owned(),
                },
                None => SseLine::Field {
                    name: line,
                    value: String::new(),
                },
            },
        };
        self.event.lines.push(parsed);
        Ok(None)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn decode_in_pieces(stream: &[u8], piece: usize) -> Vec<SseEvent> {
        let mut decoder = SseDecoder::new(1024);
        let mut events = Vec::new();
        for chunk in stream.chunks(piece) {
            events.extend(decoder.feed(chunk).unwrap());
        }
        assert!(!decoder.finish(), "nothing left open");
        events
    }

    #[test]
    fn lf_crlf_and_cr_streams_frame_the_same_whatever_the_chunking() {
        let lf = b"event: message\nid: 7\ndata: {\"a\":1}\n\n: ping\n\ndata: x\ndata: y\n\n";
        let crlf = String::from_utf8_lossy(lf).replace('\n', "\r\n");
        let cr = String::from_utf8_lossy(lf).replace('\n', "\r");
        let expected = decode_in_pieces(lf, 1000);
        assert_eq!(expected.len(), 3);
        assert_eq!(expected[0].field("event"), Some("message"));
        assert_eq!(expected[0].field("id"), Some("7"));
        assert_eq!(expected[0].data().as_deref(), Some("{\"a\":1}"));
        assert_eq!(expected[1].lines, vec![SseLine::Comment(" ping".into())]);
        assert_eq!(expected[2].data().as_deref(), Some("x\ny"));
        for stream in [lf.to_vec(), crlf.into_bytes(), cr.into_bytes()] {
            for piece in [1, 2, 3, 7, 1000] {
                assert_eq!(decode_in_pieces(&stream, piece), expected, "piece {piece}");
            }
        }
    }

    #[test]
    fn replacing_data_keeps_the_other_lines_and_encodes_back() {
        let events = decode_in_pieces(b"event: message\ndata: a\ndata: b\nid: 3\n\n", 4);
        let replaced = events[0].with_data("{\"z\":0}");
        assert_eq!(
            replaced.encode(),
            "event: message\ndata: {\"z\":0}\nid: 3\n\n"
        );
        assert_eq!(
            decode_in_pieces(replaced.encode().as_bytes(), 5),
            vec![replaced]
        );
    }

    #[test]
    fn an_oversized_event_is_an_error_and_an_open_event_is_reported() {
        let mut decoder = SseDecoder::new(16);
        assert!(decoder.feed(b"data: 0123456789\n").is_ok());
        assert_eq!(
            decoder.feed(b"data: 0123456789\n"),
            Err(SseError::EventTooLarge { max_bytes: 16 })
        );
        let mut decoder = SseDecoder::new(16);
        decoder.feed(b"data: half").unwrap();
        assert!(decoder.finish());
        let mut decoder = SseDecoder::new(16);
        assert_eq!(decoder.feed(b"data: \xff\n"), Err(SseError::NotUtf8));
    }
}
