//! Short leaves already found clean, remembered per thread.
//!
//! Keys, roles, model names, finish reasons and object types come back in every request and
//! answer, and a scan of each costs a prefilter pass even when nothing matches. A scan is a pure
//! function of the text, the direction and whether the leaf is a number, so a short text that
//! came out clean once is clean again. Only clean texts are kept: a text with a finding is
//! always scanned. The set is bounded and emptied when full; its hasher is std's keyed SipHash,
//! so texts chosen to collide cannot turn lookups slow.

use std::cell::RefCell;
use std::collections::HashSet;

use thread_local::ThreadLocal;

use crate::vocab::Direction;

/// Longest text remembered, in bytes.
pub(super) const MAX_LEN: usize = 64;
/// Most texts remembered per thread before the set is emptied.
const CAPACITY: usize = 1024;

#[derive(Default)]
pub(super) struct CleanLeaves {
    per_thread: ThreadLocal<RefCell<Seen>>,
}

/// Clean texts per kind of leaf (request or response, number or not), so a text is looked up
/// as it is, without building a key.
#[derive(Default)]
struct Seen([HashSet<Box<str>>; 4]);

fn slot(direction: Direction, numeric: bool) -> usize {
    usize::from(direction == Direction::Response) << 1 | usize::from(numeric)
}

impl CleanLeaves {
    /// Whether `text` was found clean before (on this thread).
    pub(super) fn contains(&self, text: &str, direction: Direction, numeric: bool) -> bool {
        self.per_thread
            .get()
            .is_some_and(|seen| seen.borrow().0[slot(direction, numeric)].contains(text))
    }

    /// Remember that `text` (at most [`MAX_LEN`] bytes) is clean.
    pub(super) fn insert(&self, text: &str, direction: Direction, numeric: bool) {
        let mut seen = self.per_thread.get_or_default().borrow_mut();
        if seen.0.iter().map(HashSet::len).sum::<usize>() >= CAPACITY {
            seen.0.iter_mut().for_each(HashSet::clear);
        }
        seen.0[slot(direction, numeric)].insert(text.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::FiltersConfig;
    use crate::detect::Detector;
    use crate::vocab::LeafKind;

    #[test]
    fn a_text_is_remembered_for_its_direction_and_numberness_only() {
        let clean = CleanLeaves::default();
        assert!(!clean.contains("assistant", Direction::Response, false));
        clean.insert("assistant", Direction::Response, false);
        assert!(clean.contains("assistant", Direction::Response, false));
        assert!(!clean.contains("assistant", Direction::Request, false));
        assert!(!clean.contains("assistant", Direction::Response, true));
        assert!(!clean.contains("assistan", Direction::Response, false));
    }

    #[test]
    fn a_full_set_starts_over() {
        let clean = CleanLeaves::default();
        for n in 0..=CAPACITY {
            clean.insert(&format!("value-{n}"), Direction::Request, false);
        }
        assert!(!clean.contains("value-0", Direction::Request, false));
        assert!(clean.contains(&format!("value-{CAPACITY}"), Direction::Request, false));
    }

    #[test]
    fn a_text_with_a_finding_is_found_every_time_and_a_clean_one_stays_clean() {
        let detector = Detector::new(&FiltersConfig::default()).unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..3 {
            let mut found = Vec::new();
            detector.scan(
                "minji.kim@example.com",
                LeafKind::Value,
                Direction::Request,
                &mut found,
            );
            assert_eq!(found.len(), 1, "{found:?}");
            assert_eq!(&*found[0].detection_type, "email");
            let mut none = Vec::new();
            detector.scan(
                "gpt-4o-mini",
                LeafKind::Value,
                Direction::Request,
                &mut none,
            );
            assert!(none.is_empty(), "{none:?}");
        }
        assert!(detector
            .clean_leaves
            .contains("gpt-4o-mini", Direction::Request, false));
        assert!(!detector.clean_leaves.contains(
            "minji.kim@example.com",
            Direction::Request,
            false
        ));
    }
}
