//! `haechi mcp-stdio`: the one-direction filter. Every message read from the input is handled
//! as a client message (allowlist on) and every resulting line, forwarded message or error,
//! goes to the output in order.

use std::io::{self, BufRead, Write};

use crate::filter::{McpFilter, Side};
use crate::lines::LineReader;

/// Filter `input` into `output` until the input ends.
pub fn run_filter(
    filter: &McpFilter,
    input: impl BufRead,
    mut output: impl Write,
) -> io::Result<()> {
    let mut lines = LineReader::new(input, filter.max_message_bytes());
    let caller = filter.local_caller();
    while let Some(frame) = lines.next_frame()? {
        let outcome = filter.handle_frame(&frame, Side::Client, &caller);
        for send in filter.record(outcome) {
            output.write_all(send.line.as_bytes())?;
            output.write_all(b"\n")?;
        }
        output.flush()?;
    }
    Ok(())
}
