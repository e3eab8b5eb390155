//! `haechi mcp-stdio`: the one-direction filter. Every message read from the input is handled
//! as a client message (allowlist on) and every resulting line, forwarded message or error,
//! goes to the output in order.

use std::io::{self, Read, Write};

use crate::filter::{McpFilter, Send, Side};
use crate::lines::LineReader;

/// Most messages filtered, audited and written as one batch.
const MAX_BATCH: usize = 256;

/// Filter `input` into `output` until the input ends.
pub fn run_filter(filter: &McpFilter, input: impl Read, mut output: impl Write) -> io::Result<()> {
    let mut lines = LineReader::new(input, filter.max_message_bytes());
    let mut buffer = Vec::new();
    filter_batches(filter, &mut lines, Side::Client, |sends| {
        buffer.clear();
        for send in sends {
            buffer.extend_from_slice(send.line.as_bytes());
            buffer.push(b'\n');
        }
        output.write_all(&buffer)?;
        output.flush()
    })
}

/// Filter what `from` sends until its stream ends, in batches: the messages already read
/// ahead (never waiting for more once one is in hand) are protected, audited with one append,
/// then handed to `deliver` in order. A burst costs one write to the log, not one per message;
/// a lone message goes out as soon as it is audited.
pub(crate) fn filter_batches<R: Read>(
    filter: &McpFilter,
    lines: &mut LineReader<R>,
    from: Side,
    mut deliver: impl FnMut(Vec<Send>) -> io::Result<()>,
) -> io::Result<()> {
    let caller = filter.local_caller();
    while let Some(first) = lines.next_frame()? {
        let mut outcomes = vec![filter.handle_frame(&first, from, &caller)];
        while outcomes.len() < MAX_BATCH && lines.has_buffered_line() {
            match lines.next_frame()? {
                Some(frame) => outcomes.push(filter.handle_frame(&frame, from, &caller)),
                None => break,
            }
        }
        deliver(filter.record_batch(outcomes))?;
    }
    Ok(())
}
