//! Machine output: pretty JSON on stdout, like the reference's `writeJson`.

use std::io::Write as _;

use anyhow::{Context as _, Result};
use serde::Serialize;

pub(crate) fn write_json(value: &impl Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).context("cannot render output as JSON")?;
    text.push('\n');
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to stdout")
}
