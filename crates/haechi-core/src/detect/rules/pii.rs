//! Personal data rules: contact details, payment cards and national identifiers.
//! Every sample value is synthetic (computed from the check algorithm) or a published test
//! vector (the 4242/4111 test cards, the ECB IBAN, the 078-05-1120 specimen SSN).

use super::{
    after_not_alnum, after_not_digit_minus, after_not_grouped, after_not_scp_path,
    after_not_upper_digit, after_not_word, after_not_word_minus, before_not_alnum,
    before_not_digit_minus, before_not_grouped, before_not_upper_digit, before_not_url_authority,
    before_not_word_minus, before_not_word_plus, before_not_word_plus_minus, Check, Emit, Gate,
    Rule, Samples, Scope,
};
use crate::detect::context;
use crate::detect::validators as v;

const fn gate_at() -> Gate {
    Gate {
        needs_at: true,
        ..Gate::digits(0, 0)
    }
}

/// Rules that come before the credential rules in attribution order.
pub(super) const HEAD: &[Rule] = &[
    Rule {
        id: "email",
        detection_type: "email",
        pattern: r"(?i)\b[A-Z0-9._%+-]+@[A-Z0-9.-]+\.[A-Z]{2,}\b",
        confidence: 0.95,
        hard_block: false,
        direction: None,
        before: Some(before_not_url_authority),
        after: Some(after_not_scp_path),
        check: Check::None,
        emit: Emit::Whole,
        gate: gate_at(),
        samples: Samples {
            matches: &[
                "mail minji.kim@example.com today",
                "support@haechi.example.co.kr",
            ],
            ignores: &[
                (
                    "config@v2/build",
                    "no dot-TLD after the @: a path, not an address",
                ),
                ("user@localhost", "no top-level domain"),
                (
                    "git clone git@github.com:org/repo.git",
                    "an scp-style git remote",
                ),
                (
                    "postgres://app:s3cr3t@db.example.com/app",
                    "the userinfo of a URL (the URL rule takes the password)",
                ),
            ],
        },
    },
    Rule {
        id: "kr-phone",
        detection_type: "phone",
        pattern: r"(?:\+82[-\s]?)?0?1[016789][-.\s]?\d{3,4}[-.\s]?\d{4}",
        confidence: 0.9,
        hard_block: false,
        direction: None,
        before: Some(before_not_word_plus_minus),
        after: Some(after_not_word_minus),
        check: Check::InContext(context::kr_phone),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Numeric, 9, 4, &[]),
        samples: Samples {
            matches: &[
                "010-1234-5678",
                "+82 10 1234 5678",
                "01012345678",
                "010.9876.5432",
            ],
            ignores: &[
                (
                    "1781129892",
                    "a bare run without the trunk 0 is a unix timestamp",
                ),
                (
                    "550e8400-e29b-41d4-a716-446655440000",
                    "the inner 16-44665544 is part of a UUID",
                ),
                ("x01012345678x", "glued inside a longer alphanumeric run"),
                (
                    "Order id 01099887766 was shipped",
                    "labelled as an order id with no phone word near",
                ),
            ],
        },
    },
    Rule {
        id: "kr-rrn-like",
        detection_type: "kr_rrn",
        pattern: r"\b\d{6}[-\s]?[1-8]\d{6}\b",
        confidence: 0.85,
        hard_block: true,
        direction: None,
        before: None,
        after: None,
        check: Check::Valid(v::kr_rrn),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Numeric, 13, 7, &[]).lengths(&[7, 13]),
        samples: Samples {
            matches: &["900101-1234568", "8908151880495", "650221 1465692"],
            ignores: &[
                ("900101-1234567", "check digit is wrong"),
                ("900101-9234568", "the gender/century digit is never 9"),
            ],
        },
    },
    // The NIR rules come before the card rule (the reference has them after): a 15-digit
    // NIR that also passes Luhn, as one in ten do, is a NIR; its mod-97 key is the stronger
    // evidence.
    Rule {
        id: "fr-nir",
        detection_type: "fr_nir",
        pattern: r"[12]\d{2}(?:0[1-9]|1[0-2]|20)(?:\d{2}|2[AB])\d{6}\d{2}",
        confidence: 0.9,
        hard_block: true,
        direction: None,
        before: Some(before_not_word_minus),
        after: Some(after_not_word_minus),
        check: Check::Valid(v::fr_nir),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Alnum, 13, 6, &[]).lengths(&[8, 15]),
        samples: Samples {
            matches: &["185057800604830", "246092A73006547", "146022B04052576"],
            ignores: &[
                ("185057800604831", "control key off by one"),
                ("385057800604830", "first digit (sex) is 1 or 2"),
            ],
        },
    },
    Rule {
        id: "fr-nir-grouped",
        detection_type: "fr_nir",
        pattern: r"[12] \d{2} (?:0[1-9]|1[0-2]|20) (?:\d{2}|2[AB]) \d{3} \d{3} \d{2}",
        confidence: 0.9,
        hard_block: true,
        direction: None,
        before: Some(before_not_grouped),
        after: Some(after_not_grouped),
        check: Check::Valid(v::fr_nir),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::UpperSpaced, 13, 1, b" ").lengths(&[2]),
        samples: Samples {
            matches: &["1 85 05 78 006 048 30", "n° sécu : 2 46 09 2A 730 065 47"],
            ignores: &[
                ("1 85 05 78 006 048 31", "control key off by one"),
                (
                    "9 1 85 05 78 006 048 30",
                    "the tail of a longer grouped number",
                ),
            ],
        },
    },
    Rule {
        id: "card-like",
        detection_type: "card",
        pattern: r"\b(?:\d[ -]*?){13,19}\b",
        confidence: 0.75,
        hard_block: true,
        direction: None,
        before: None,
        after: None,
        check: Check::InContext(context::card),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Numeric, 13, 1, &[]),
        samples: Samples {
            matches: &[
                "4242 4242 4242 4242",
                "4111-1111-1111-1111",
                "card 5171276842684654 on file",
                "order 4242424242424242 paid by card",
                "4222222222222",
            ],
            ignores: &[
                ("4242 4242 4242 4241", "fails Luhn"),
                (
                    "123456789012345",
                    "a 15-digit tracking number that fails Luhn",
                ),
                (
                    "1700000000004",
                    "Luhn-valid but a bare epoch-millisecond timestamp (2023)",
                ),
                ("12345678901234567890123", "23 digits: longer than any card"),
                (
                    "please process order 4242424242424242 and ship today",
                    "a bare run labelled as an order number, no card word near",
                ),
            ],
        },
    },
];

/// Rules that come after the credential rules in attribution order.
pub(super) const TAIL: &[Rule] = &[
    Rule {
        id: "us-ssn",
        detection_type: "us_ssn",
        pattern: r"\d{3}-\d{2}-\d{4}",
        confidence: 0.85,
        hard_block: false,
        direction: None,
        before: Some(before_not_word_minus),
        after: Some(after_not_word_minus),
        check: Check::Valid(v::us_ssn),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Numeric, 9, 4, b"-").lengths(&[4]),
        samples: Samples {
            matches: &["SSN 078-05-1120", "263-23-0177"],
            ignores: &[
                ("666-12-1234", "area 666 is never issued"),
                ("078-00-1120", "group 00 is never issued"),
                ("078051120", "a bare nine-digit id is not an SSN"),
                ("2024-01-15-1234", "part of a longer dashed run"),
            ],
        },
    },
    Rule {
        id: "iban",
        detection_type: "iban",
        pattern: r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}",
        confidence: 0.9,
        hard_block: false,
        direction: None,
        before: Some(before_not_upper_digit),
        after: Some(after_not_upper_digit),
        check: Check::Valid(v::iban),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Alnum, 2, 2, &[])
            .letters(2)
            .letter_then_digit(),
        samples: Samples {
            matches: &[
                "DE89370400440532013000",
                "GB82WEST12345698765432",
                "NL91ABNA0417164300",
            ],
            ignores: &[
                ("DE89370400440532013001", "fails mod-97"),
                (
                    "DE893704004405320130",
                    "mod-97 aside, a German IBAN has 22 characters",
                ),
            ],
        },
    },
    Rule {
        id: "iban-grouped",
        detection_type: "iban",
        pattern: r"[A-Z]{2}\d{2}(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?",
        confidence: 0.9,
        hard_block: false,
        direction: None,
        before: Some(before_not_alnum),
        after: None,
        check: Check::Trim(v::iban_grouped),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::UpperSpaced, 2, 2, b" ")
            .letters(2)
            .letter_then_digit(),
        samples: Samples {
            matches: &[
                "DE89 3704 0044 0532 0130 00",
                "IBAN: FR14 2004 1010 0505 0001 3M02 606 (EUR)",
                "NL91 ABNA 0417 1643 00 EUR",
            ],
            ignores: &[
                ("DE89 3704 0044 0532 0130 01", "fails mod-97"),
                (
                    "XDE89 3704 0044 0532 0130 00",
                    "glued to a preceding letter",
                ),
            ],
        },
    },
    Rule {
        id: "jp-mynumber",
        detection_type: "jp_mynumber",
        pattern: r"\d{12}",
        confidence: 0.9,
        hard_block: false,
        direction: None,
        before: Some(before_not_digit_minus),
        after: Some(after_not_digit_minus),
        check: Check::Valid(v::jp_mynumber),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Numeric, 12, 12, &[]).lengths(&[12]),
        samples: Samples {
            matches: &["123456789018", "個人番号 374095461112"],
            ignores: &[
                ("123456789010", "wrong check digit"),
                ("1234567890180", "a 12-digit window inside a longer run"),
            ],
        },
    },
    Rule {
        id: "jp-mynumber-grouped",
        detection_type: "jp_mynumber",
        pattern: r"\d{4}[ -]\d{4}[ -]\d{4}",
        confidence: 0.9,
        hard_block: false,
        direction: None,
        before: Some(before_not_grouped),
        after: Some(after_not_grouped),
        check: Check::Valid(grouped_jp_mynumber),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Numeric, 12, 4, b" -").lengths(&[4]),
        samples: Samples {
            matches: &["1234 5678 9018", "3740-9546-1112"],
            ignores: &[
                ("1234 5678 9010", "wrong check digit"),
                (
                    "4242 1234 5678 9018",
                    "the tail of a longer grouped number (a card)",
                ),
                (
                    "1234 5678-9018",
                    "mixed separators are not the printed format",
                ),
            ],
        },
    },
    Rule {
        id: "es-dni-nie",
        detection_type: "es_dni",
        pattern: r"(?i)[XYZ]?\d{7,8}[A-HJ-NP-TV-Z]",
        confidence: 0.85,
        hard_block: true,
        direction: None,
        before: Some(before_not_word_minus),
        after: Some(after_not_word_minus),
        check: Check::Valid(v::es_dni),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Alnum, 7, 7, &[]).letters(1),
        samples: Samples {
            matches: &["12345678Z", "X1234567L", "z6570141n"],
            ignores: &[
                ("12345678A", "wrong check letter"),
                ("1234567Z", "seven digits without an X/Y/Z prefix"),
            ],
        },
    },
    Rule {
        id: "it-codice-fiscale",
        detection_type: "it_codice_fiscale",
        pattern: r"(?i)[A-Z]{6}\d{2}[A-Z]\d{2}[A-Z]\d{3}[A-Z]",
        confidence: 0.9,
        hard_block: true,
        direction: None,
        before: Some(before_not_alnum),
        after: Some(after_not_alnum),
        check: Check::Valid(v::it_codice_fiscale),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Alnum, 7, 3, &[])
            .letters(9)
            .letter_then_digit(),
        samples: Samples {
            matches: &["RSSMRA85T10A562S", "cf: glvzpm58p23x071k"],
            ignores: &[
                ("RSSMRA85T10A562X", "wrong check character"),
                ("XRSSMRA85T10A562S", "glued to a longer alphanumeric run"),
            ],
        },
    },
    Rule {
        id: "sg-nric",
        detection_type: "sg_nric",
        pattern: r"[STFGMstfgm]\d{7}[A-Za-z]",
        confidence: 0.9,
        hard_block: true,
        direction: None,
        before: Some(before_not_upper_digit),
        after: Some(after_not_upper_digit),
        check: Check::Valid(v::sg_nric),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Alnum, 7, 7, &[])
            .letters(2)
            .letter_then_digit(),
        samples: Samples {
            matches: &[
                "S1234567D",
                "F1234567N",
                "T0024589A",
                "G9290075X",
                "M1234567K",
            ],
            ignores: &[
                ("S1234567A", "wrong check letter"),
                (
                    "M1234567X",
                    "the reference's reversed M table: not ICA's letter",
                ),
                ("AS1234567D", "glued to a preceding capital"),
            ],
        },
    },
    Rule {
        id: "in-aadhaar",
        detection_type: "in_aadhaar",
        pattern: r"[2-9]\d{11}",
        confidence: 0.85,
        hard_block: false,
        direction: None,
        before: Some(before_not_digit_minus),
        after: Some(after_not_digit_minus),
        check: Check::Valid(v::in_aadhaar),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Numeric, 12, 12, &[]).lengths(&[12]),
        samples: Samples {
            matches: &["234567890124", "987789328793"],
            ignores: &[
                ("234567890125", "fails Verhoeff"),
                ("134567890124", "Aadhaar never starts with 0 or 1"),
            ],
        },
    },
    Rule {
        id: "in-aadhaar-grouped",
        detection_type: "in_aadhaar",
        pattern: r"[2-9]\d{3}[ -]\d{4}[ -]\d{4}",
        confidence: 0.85,
        hard_block: false,
        direction: None,
        before: Some(before_not_grouped),
        after: Some(after_not_grouped),
        check: Check::Valid(grouped_aadhaar),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Numeric, 12, 4, b" -").lengths(&[4]),
        samples: Samples {
            matches: &["2345 6789 0124", "9877-8932-8793"],
            ignores: &[
                ("2345 6789 0125", "fails Verhoeff"),
                ("2345 6789 0124 5678", "the head of a longer grouped number"),
            ],
        },
    },
    Rule {
        id: "de-steuer-id",
        detection_type: "de_steuer_id",
        pattern: r"\d{11}",
        confidence: 0.85,
        hard_block: false,
        direction: None,
        before: Some(before_not_digit_minus),
        after: Some(after_not_digit_minus),
        check: Check::Valid(v::de_steuer_id),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Numeric, 11, 11, &[]).lengths(&[11]),
        samples: Samples {
            matches: &["02476291358", "72594168233"],
            ignores: &[
                ("02476291357", "wrong check digit"),
                ("12345678903", "no repeated digit in the first ten"),
            ],
        },
    },
    Rule {
        id: "de-steuer-id-grouped",
        detection_type: "de_steuer_id",
        pattern: r"\d{2} \d{3} \d{3} \d{3}",
        confidence: 0.85,
        hard_block: false,
        direction: None,
        before: Some(before_not_grouped),
        after: Some(after_not_grouped),
        check: Check::Valid(v::de_steuer_id),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Numeric, 11, 3, b" ").lengths(&[3]),
        samples: Samples {
            matches: &["02 476 291 358", "Steuer-ID: 72 594 168 233"],
            ignores: &[
                ("02 476 291 357", "wrong check digit"),
                ("1 02 476 291 358", "the tail of a longer grouped number"),
            ],
        },
    },
    Rule {
        id: "nl-bsn",
        detection_type: "nl_bsn",
        pattern: r"\d{9}",
        confidence: 0.8,
        hard_block: false,
        direction: None,
        before: Some(before_not_digit_minus),
        after: Some(after_not_digit_minus),
        check: Check::Valid(v::nl_bsn),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Numeric, 9, 9, &[]).lengths(&[9]),
        samples: Samples {
            matches: &["111222333", "123456782"],
            ignores: &[
                ("123456789", "fails the 11-proef"),
                ("000000000", "all zeros is never issued"),
            ],
        },
    },
    Rule {
        id: "nl-bsn-grouped",
        detection_type: "nl_bsn",
        pattern: r"\d{4}\.\d{2}\.\d{3}",
        confidence: 0.8,
        hard_block: false,
        direction: None,
        before: Some(before_not_grouped),
        after: Some(after_not_grouped),
        check: Check::Valid(v::nl_bsn),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Numeric, 9, 4, b".").lengths(&[3]),
        samples: Samples {
            matches: &["1234.56.782", "BSN 3783.26.612"],
            ignores: &[
                ("1234.56.789", "fails the 11-proef"),
                ("1234.56.782.1", "a dotted version-like run"),
            ],
        },
    },
    Rule {
        id: "uk-nino",
        detection_type: "uk_nino",
        pattern: r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]",
        confidence: 0.7,
        hard_block: false,
        direction: None,
        before: Some(before_not_word_minus),
        after: Some(after_not_word_minus),
        check: Check::Valid(v::uk_nino),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Alnum, 6, 6, &[])
            .letters(3)
            .letter_then_digit(),
        samples: Samples {
            matches: &["AB123456C", "MN211785A"],
            ignores: &[
                ("BG123456C", "BG is never issued"),
                ("AO123456C", "O is never the second letter"),
                ("AB123456E", "suffix is A-D"),
            ],
        },
    },
    Rule {
        id: "uk-nino-grouped",
        detection_type: "uk_nino",
        pattern: r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] \d{2} \d{2} \d{2} [A-D]",
        confidence: 0.7,
        hard_block: false,
        direction: None,
        before: Some(before_not_word_minus),
        after: Some(after_not_word_minus),
        check: Check::Valid(v::uk_nino),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::UpperSpaced, 6, 2, b" ").letters(3),
        samples: Samples {
            matches: &["AB 12 34 56 C", "NI number: MN 21 17 85 A"],
            ignores: &[
                ("BG 12 34 56 C", "BG is never issued"),
                ("AB 12 34 56 CD", "glued to a longer word"),
            ],
        },
    },
    Rule {
        id: "e164-phone",
        detection_type: "phone",
        pattern: r"\+[1-9]\d{6,14}",
        confidence: 0.8,
        hard_block: false,
        direction: None,
        before: Some(before_not_word_plus),
        after: Some(after_not_word),
        check: Check::InContext(context::phone),
        emit: Emit::Whole,
        gate: Gate {
            needs_plus: true,
            ..Gate::scoped(Scope::Numeric, 7, 7, b"+").lengths(&[7, 8, 9, 10, 11, 12, 13, 14, 15])
        },
        samples: Samples {
            matches: &["call +14155552671 now", "+447911123456"],
            ignores: &[
                ("14155552671", "no leading +"),
                ("+0123456789", "country codes never start with 0"),
                ("a+14155552671", "glued to a word"),
            ],
        },
    },
    Rule {
        id: "us-phone",
        detection_type: "phone",
        pattern: r"(?:\(\d{3}\)\s?|\d{3}-)\d{3}-\d{4}",
        confidence: 0.75,
        hard_block: false,
        direction: None,
        before: Some(before_not_word_minus),
        after: Some(after_not_word_minus),
        check: Check::InContext(context::phone),
        emit: Emit::Whole,
        gate: Gate::scoped(Scope::Numeric, 10, 4, b"-").lengths(&[4]),
        samples: Samples {
            matches: &["(415) 555-2671", "415-555-2671"],
            ignores: &[
                ("4155552671", "no separators"),
                ("1-415-555-2671-9", "inside a longer dashed run"),
            ],
        },
    },
];

/// A grouped My Number uses one separator throughout.
fn grouped_jp_mynumber(m: &[u8]) -> bool {
    same_separator(m) && v::jp_mynumber(m)
}

/// A grouped Aadhaar uses one separator throughout.
fn grouped_aadhaar(m: &[u8]) -> bool {
    same_separator(m) && v::in_aadhaar(m)
}

fn same_separator(m: &[u8]) -> bool {
    let mut seps = m.iter().filter(|b| !b.is_ascii_digit());
    match seps.next() {
        Some(first) => seps.all(|b| b == first),
        None => true,
    }
}
