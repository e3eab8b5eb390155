//! NFKC folding of a leaf before matching, so full-width digits, a full-width `＠` or
//! mathematical alphanumerics cannot slip past the ASCII rules.
//!
//! When every char folds to exactly one char (and the per-char folds rebuild the whole
//! normalization), a match in the folded text maps back to an exact span of the original.
//! Otherwise offsets cannot be trusted and the caller fails closed to whole-leaf findings.

use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

pub(crate) enum Folded {
    /// Folding changes nothing: scan the original.
    Same,
    /// A char-for-char fold. `map[i]` is the original byte offset of the char containing
    /// folded byte `i`; `map[text.len()]` is the original length.
    Stable { text: String, map: Vec<usize> },
    /// The fold changes the number of chars (or moves content across chars).
    Unstable { text: String },
}

pub(crate) fn fold(text: &str) -> Folded {
    if text.is_ascii()
        || text.chars().all(stable_fast)
        || is_nfkc_quick(text.chars()) == IsNormalized::Yes
    {
        return Folded::Same;
    }
    let folded: String = text.nfkc().collect();
    if folded == text {
        return Folded::Same;
    }
    match char_for_char_map(text, &folded) {
        Some(map) => Folded::Stable { text: folded, map },
        None => Folded::Unstable { text: folded },
    }
}

/// Chars that NFKC leaves alone and that never compose with a neighbour, checked by range
/// before the (slower) table-driven quick check: ASCII, Latin-1 letters, Hangul syllables,
/// common CJK ideographs, Hiragana, Katakana and CJK brackets/punctuation. Anything else
/// (full-width forms, jamo, combining marks, the ideographic space) takes the full check.
fn stable_fast(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{7F}'
        | '\u{C0}'..='\u{FF}'
        | '\u{AC00}'..='\u{D7A3}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{3041}'..='\u{3096}'
        | '\u{30A1}'..='\u{30FA}'
        | '\u{3001}'..='\u{3003}'
        | '\u{300C}'..='\u{300F}')
}

/// The byte-offset map of a char-for-char fold, or `None` when the fold is not one.
fn char_for_char_map(original: &str, folded: &str) -> Option<Vec<usize>> {
    let mut map = Vec::with_capacity(folded.len() + 1);
    let mut folded_chars = folded.chars();
    for (offset, c) in original.char_indices() {
        let mut one = std::iter::once(c).nfkc();
        let (Some(f), None) = (one.next(), one.next()) else {
            return None;
        };
        if folded_chars.next() != Some(f) {
            return None;
        }
        map.extend(std::iter::repeat_n(offset, f.len_utf8()));
    }
    if folded_chars.next().is_some() {
        return None;
    }
    map.push(original.len());
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_ranges_really_are_nfkc_stable() {
        let ranges = [
            (0xC0u32, 0xFF),
            (0xAC00, 0xD7A3),
            (0x4E00, 0x9FFF),
            (0x3041, 0x3096),
            (0x30A1, 0x30FA),
            (0x3001, 0x3003),
            (0x300C, 0x300F),
        ];
        for (lo, hi) in ranges {
            for cp in lo..=hi {
                let Some(c) = char::from_u32(cp) else {
                    continue;
                };
                assert!(stable_fast(c));
                let folded: String = std::iter::once(c).nfkc().collect();
                assert_eq!(folded, c.to_string(), "U+{cp:04X}");
                // Nothing in the fast set composes with a preceding fast-set char.
                let pair: String = ['a', 'e', '\u{AC00}', c].iter().collect();
                assert_eq!(pair.nfkc().collect::<String>(), pair, "U+{cp:04X}");
            }
        }
    }

    #[test]
    fn ascii_and_hangul_are_left_alone() {
        assert!(matches!(fold("plain ascii"), Folded::Same));
        assert!(matches!(fold("연락처는 이메일입니다"), Folded::Same));
    }

    #[test]
    fn full_width_digits_fold_char_for_char() {
        let text = "카드 ４２４２";
        let Folded::Stable { text: folded, map } = fold(text) else {
            panic!("expected a stable fold");
        };
        assert_eq!(folded, "카드 4242");
        let start = folded.find('4').unwrap_or_default();
        assert_eq!(&text[map[start]..map[folded.len()]], "４２４２");
    }

    #[test]
    fn math_bold_digits_are_one_char_each() {
        // U+1D7D7 (bold 9) is one char that folds to one char: exact spans survive.
        assert!(matches!(fold("\u{1D7D7}\u{1D7CE}"), Folded::Stable { .. }));
    }

    #[test]
    fn ligatures_and_compensating_folds_are_unstable() {
        assert!(matches!(fold("o\u{FB03}ce"), Folded::Unstable { .. }));
        // A contraction before and an expansion after keep the length but shift offsets.
        assert!(matches!(
            fold("\u{10781} 010-1234-5678 \u{0132}"),
            Folded::Unstable { .. }
        ));
        // Combining sequences compose across chars.
        assert!(matches!(fold("e\u{0301}"), Folded::Unstable { .. }));
    }
}
