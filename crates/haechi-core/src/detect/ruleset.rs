//! A set of built-in rules, one bit per rule index: the currency of the prefilter and the run
//! tables. Fixed-size so set operations stay a handful of word operations with no allocation.

use std::ops::{BitAnd, BitAndAssign, BitOr, BitOrAssign, Not};

/// Words in a set; `CAPACITY` built-in rules fit.
const WORDS: usize = 4;

/// A set of built-in rule indices below [`RuleSet::CAPACITY`].
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct RuleSet([u64; WORDS]);

impl RuleSet {
    pub(super) const CAPACITY: usize = WORDS * 64;
    pub(super) const EMPTY: RuleSet = RuleSet([0; WORDS]);

    /// The set holding only rule `i` (empty when `i` is out of range: custom rules carry no
    /// bit).
    pub(super) fn one(i: usize) -> RuleSet {
        let mut set = RuleSet::EMPTY;
        if i < Self::CAPACITY {
            set.0[i / 64] = 1 << (i % 64);
        }
        set
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0 == [0; WORDS]
    }

    #[cfg(test)]
    pub(super) fn contains(&self, i: usize) -> bool {
        i < Self::CAPACITY && self.0[i / 64] & (1 << (i % 64)) != 0
    }

    /// The members, lowest first.
    pub(super) fn iter(self) -> Members {
        Members {
            words: self.0,
            word: 0,
        }
    }
}

/// The members of a [`RuleSet`], lowest first.
pub(crate) struct Members {
    words: [u64; WORDS],
    word: usize,
}

impl Iterator for Members {
    type Item = usize;

    #[inline]
    fn next(&mut self) -> Option<usize> {
        while self.word < WORDS {
            let bits = &mut self.words[self.word];
            if *bits != 0 {
                let bit = bits.trailing_zeros() as usize;
                *bits &= *bits - 1;
                return Some(self.word * 64 + bit);
            }
            self.word += 1;
        }
        None
    }
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl BitAnd for RuleSet {
    type Output = RuleSet;

    #[inline]
    fn bitand(mut self, other: RuleSet) -> RuleSet {
        self &= other;
        self
    }
}

impl BitAndAssign for RuleSet {
    #[inline]
    fn bitand_assign(&mut self, other: RuleSet) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a &= b;
        }
    }
}

impl BitOr for RuleSet {
    type Output = RuleSet;

    #[inline]
    fn bitor(mut self, other: RuleSet) -> RuleSet {
        self |= other;
        self
    }
}

impl BitOrAssign for RuleSet {
    #[inline]
    fn bitor_assign(&mut self, other: RuleSet) {
        for (a, b) in self.0.iter_mut().zip(other.0) {
            *a |= b;
        }
    }
}

impl Not for RuleSet {
    type Output = RuleSet;

    #[inline]
    fn not(self) -> RuleSet {
        RuleSet(self.0.map(|w| !w))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_in_every_word() {
        let set = RuleSet::one(3) | RuleSet::one(64) | RuleSet::one(200) | RuleSet::one(255);
        assert_eq!(set.iter().collect::<Vec<_>>(), [3, 64, 200, 255]);
        assert!(set.contains(200) && !set.contains(199));
        assert_eq!(
            set & !RuleSet::one(64),
            RuleSet::one(3) | RuleSet::one(200) | RuleSet::one(255)
        );
        assert!(RuleSet::one(RuleSet::CAPACITY).is_empty());
        assert!((set & RuleSet::EMPTY).is_empty());
    }
}
