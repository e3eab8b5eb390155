//! Log output for the gateway process: one line per event on stderr, human-readable or JSON
//! (`logging.format`). Events carry names, correlation ids, codes and counts — never a
//! payload, header value, token or detected value.

use haechi_core::config::LogFormat;

/// Install the process-wide subscriber (a second call is ignored).
pub fn init(format: LogFormat) {
    // Colour only on a terminal: escapes in a log file or a collector are noise.
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
