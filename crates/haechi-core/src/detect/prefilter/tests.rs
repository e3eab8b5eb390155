use super::*;

/// The rules of a set as a bit mask (the tests use fewer than 64 gates).
fn mask(set: RuleSet) -> u64 {
    set.iter().fold(0, |m, i| m | 1 << i)
}

fn prefilter(gates: &[Gate]) -> Prefilter {
    Prefilter::new(
        gates
            .iter()
            .enumerate()
            .map(|(i, g)| (RuleSet::one(i), g, None)),
    )
}

fn builtin_prefilter() -> &'static Prefilter {
    static PF: std::sync::OnceLock<Prefilter> = std::sync::OnceLock::new();
    PF.get_or_init(|| {
        Prefilter::new(
            crate::detect::rules::builtin()
                .enumerate()
                .map(|(i, r)| (RuleSet::one(i), &r.gate, r.direction)),
        )
    })
}

/// The obvious reading of the facts, `MIXED` exact.
fn naive(text: &[u8]) -> (u8, usize) {
    let byte_fact = |b: u8| match b {
        b'@' => AT,
        b':' | b'=' => ASSIGN,
        b'_' => DASH,
        _ => mark(b),
    };
    let mut facts = text.iter().fold(0, |f, &b| f | byte_fact(b));
    let mixed = text.windows(2).any(|w| {
        (w[0].is_ascii_alphabetic() && w[1].is_ascii_digit())
            || (w[0].is_ascii_digit() && w[1].is_ascii_alphabetic())
    });
    if mixed {
        facts |= MIXED;
    }
    (facts, text.iter().filter(|b| b.is_ascii_digit()).count())
}

#[test]
fn tiny_read_is_exact() {
    let pf = prefilter(&[Gate::anchors(&["AK"])]);
    let alphabet = b"a0 -.+@:=Z9\xea\x80AK";
    for len in 0..TINY_LEAF {
        for seed in 0..20usize {
            let text: Vec<u8> = (0..len)
                .map(|i| alphabet[(i * 7 + seed * 13 + i * i * seed) % alphabet.len()])
                .collect();
            let (facts, digits, pairs) = pf.tiny_read(&text);
            assert_eq!((facts, digits), naive(&text), "{text:?}");
            let has_ak = text.windows(2).any(|w| w == b"AK");
            assert_eq!(pairs, u8::from(has_ak), "{text:?}");
        }
    }
    // A `_` counts as a dash (digitless prefixed tokens need one or the other).
    assert_eq!(pf.tiny_read(b"field_12"), (DASH, 2, 0));
    assert_eq!(pf.tiny_read(b"DE89"), (MIXED, 2, 0));
    assert_eq!(pf.tiny_read(b"12 ab"), (SPACE, 2, 0));
    assert_eq!(count_digits(&[b'7'; 1000]), 1000);
}

#[test]
fn facts_select_rules() {
    let gates = [
        Gate {
            needs_at: true,
            ..Gate::digits(0, 0)
        },
        Gate::scoped(Scope::Numeric, 9, 4, b"-"),
        Gate::anchors(&["AKIA"]),
        Gate {
            needs_assign: true,
            ..Gate::anchors_any_case(&["token"])
        },
        Gate::scoped(Scope::Alnum, 2, 2, &[]).letters(2),
    ];
    let pf = prefilter(&gates);
    let admit = |t: &str| mask(pf.admit(t.as_bytes(), Direction::Request).rules);
    assert_eq!(admit("field_12"), 0);
    assert_eq!(admit("mail a@b.co"), 0b0001);
    assert_eq!(admit("010 1234 5678"), 0, "no dash");
    assert_eq!(admit("010-1234-5678"), 0b0010);
    assert_eq!(admit("010-1234"), 0, "too few digits");
    assert_eq!(admit("AKIA TOKEN=x"), 0b1100);
    assert_eq!(
        admit("akia TOKEN"),
        0,
        "exact anchors are case-sensitive; no assignment"
    );
    assert_eq!(admit("DE89 x"), 0b10000);
    assert_eq!(admit("DE 89 x"), 0, "no letter next to a digit");
    // A long leaf: the same verdicts from the vectorised reads, except that a letter next
    // to a digit is assumed.
    let pad = " ".repeat(TINY_LEAF);
    assert_eq!(admit(&format!("{pad}010-1234-5678 a@b.co")), 0b10011);
    assert_eq!(admit(&format!("{pad}AKIA token: x")), 0b1100);
}

#[test]
fn direction_limits_rules() {
    let gate = Gate::anchors_any_case(&["ignore"]);
    let pf = Prefilter::new([(RuleSet::one(0), &gate, Some(Direction::Response))].into_iter());
    assert_eq!(mask(pf.admit(b"IGNORE this", Direction::Response).rules), 1);
    assert!(pf
        .admit(b"IGNORE this", Direction::Request)
        .rules
        .is_empty());
}

#[test]
fn overlapping_and_nested_anchors_are_all_credited() {
    let gates = [
        Gate::anchors_any_case(&["secret"]),
        Gate::anchors_any_case(&["secretly"]),
        Gate::anchors(&["AC"]),
        Gate::anchors(&["AKIA"]),
        Gate::anchors(&["#"]),
    ];
    let pf = prefilter(&gates);
    let admit = |t: &[u8]| mask(pf.admit(t, Direction::Response).rules);
    assert_eq!(admit(b"SECRETLY x"), 0b00011);
    assert_eq!(admit(b"xAKIACx"), 0b01100);
    assert_eq!(
        admit(b"a # b"),
        0b10000,
        "a one-byte anchor is never ruled out"
    );
    // An anchor straddling a fold-chunk boundary is still found.
    let mut long = vec![b'.'; FOLD_CHUNK - 3];
    long.extend_from_slice(b"SeCrEt");
    assert_eq!(admit(&long), 0b00001);
}

#[test]
fn anchored_rules_start_between_the_first_and_last_anchor() {
    let gates = [
        Gate::anchors(&["sk_"]),
        Gate::anchors_any_case(&["token"]).lead(3),
        Gate::digits(2, 0),
    ];
    let pf = prefilter(&gates);
    let text = b"12 sk_a TOKEN sk_b token x";
    let admission = pf.admit(text, Direction::Request);
    assert_eq!(mask(admission.rules), 0b111);
    assert_eq!(admission.starts(&gates[0]), (3, 14));
    assert_eq!(admission.starts(&gates[1]), (5, 19));
    assert_eq!(admission.starts(&gates[2]), (0, usize::MAX));
    // Past a fold chunk, offsets are still the leaf's.
    let mut long = vec![b'.'; FOLD_CHUNK + 10];
    long.extend_from_slice(b"Token");
    let admission = pf.admit(&long, Direction::Request);
    assert_eq!(
        admission.starts(&gates[1]),
        (FOLD_CHUNK + 7, FOLD_CHUNK + 10)
    );
}

proptest::proptest! {
    /// Whatever the leaf's length, the prefilter admits every rule the exact facts (and a
    /// full anchor search) admit, and more only through an assumed `MIXED` on a long leaf.
    #[test]
    fn reads_admit_what_the_exact_facts_admit(
        parts in proptest::collection::vec(0usize..16, 0..60),
        response in proptest::bool::ANY,
    ) {
        const PIECES: [&str; 16] = [
            "a", "0123", "4567 ", "-", ".", "+", "@", ":", "=", " ", "sk_", "token", "Ab",
            "\u{AC00}", "AKIA", "ey",
        ];
        let pf = builtin_prefilter();
        let text: String = parts.iter().map(|&p| PIECES[p]).collect();
        let text = text.as_bytes();
        let dir = if response { Direction::Response } else { Direction::Request };
        let (facts, digits) = naive(text);
        let exact = pf.admit_facts(text, pf.candidates(dir, digits), facts, None);
        let read = pf.admit(text, dir);
        if text.len() < TINY_LEAF {
            proptest::prop_assert_eq!(read, exact, "{:?}", text);
        } else {
            let mixed_users = pf.fact_users[MIXED.trailing_zeros() as usize];
            proptest::prop_assert!((exact.rules & !read.rules).is_empty(), "{:?}", text);
            proptest::prop_assert!((read.rules & !exact.rules & !mixed_users).is_empty(), "{:?}", text);
        }
    }

    /// The pair check only skips automaton runs that would find nothing.
    #[test]
    fn pair_check_loses_no_anchor(parts in proptest::collection::vec(0usize..12, 0..20)) {
        const PIECES: [&str; 12] =
            ["sk", "_", "AK", "IA", "to", "KEN", "x", " ", "Be", "arer", "ey", "J"];
        let text: String = parts.iter().map(|&p| PIECES[p]).collect();
        let gates = [
            Gate::anchors(&["sk_", "AKIA", "Bearer", "eyJ"]),
            Gate::anchors_any_case(&["token"]),
        ];
        let pf = prefilter(&gates);
        let found = mask(pf.admit(text.as_bytes(), Direction::Request).rules);
        let exact = ["sk_", "AKIA", "Bearer", "eyJ"].iter().any(|a| text.contains(a));
        let folded = text.to_ascii_lowercase().contains("token");
        proptest::prop_assert_eq!(found, u64::from(exact) | (u64::from(folded) << 1), "{:?}", text);
    }
}
