//! The JSONL audit log: appending ([`JsonlAuditSink`]), verifying, summarizing and probing it.
//! The chain math and the sanitizer live in `haechi_core::audit`; this module owns the file.

mod error;
mod flush;
mod read;
mod repair;
mod sink;
mod tail;
mod writer;

pub use error::{AuditStoreError, NotWritable};
pub use read::{check_writable, read_anchors, read_summary, verify_file, verify_file_anchored};
pub use repair::{repair_torn_tail, RepairPlan, TornTail};
pub use sink::{AnchorSettings, FsyncPolicy, JsonlAuditSink, JsonlOptions, JsonlStore};
pub use writer::{AuditWriter, WriterOptions};
