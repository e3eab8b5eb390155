//! The prefilter and alphabet runs only skip work: on any text the gated engine must find
//! exactly what running every rule over the whole leaf finds.
use super::*;
use proptest::prelude::*;

const FRAGMENTS: &[&str] = &[
    "4242 4242 4242 4242",
    "4111-1111-1111-1111",
    "5171276842684654",
    "1700000000004",
    "900101-1234568",
    "9001011234568",
    "010-1234-5678",
    "01012345678",
    "+82 10 1234 5678",
    "+14155552671",
    "(415) 555-2671",
    "078-05-1120",
    "DE89370400440532013000",
    "DE89 3704 0044 0532 0130 00",
    "123456789018",
    "1234 5678 9018",
    "234567890124",
    "2345 6789 0124",
    "02476291358",
    "02 476 291 358",
    "111222333",
    "1234.56.782",
    "185057800604830",
    "1 85 05 78 006 048 30",
    "12345678Z",
    "X1234567L",
    "RSSMRA85T10A562S",
    "S1234567D",
    "M1234567K",
    "AB123456C",
    "AB 12 34 56 C",
    "minji.kim@example.com",
    "sk_demo_1234567890abcdef1234567890abcdef",
    "AKIAIOSFODNN7EXAMPLE",
    "sk-ant-api03-EXAMPLE0123456789abcdefABCDEF",
    "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
    "Bearer ZmFrZS10b2tlbi1mb3ItdGVzdGluZy0xMjM0NTY3OA",
    "password=Qx7vLp2sMn4tRw8z",
    "\"token\": \"abcdefghijklmnop12\"",
    "api_key=YOUR_API_KEY",
    "client_secret: 0123456789abcdef0123",
    "REFRESH-TOKEN='Zq81fLw0PxT4mR2sKd'",
    "api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    "new system instructions:",
    "[[SYSTEM]]:",
    "-----BEGIN PRIVATE KEY-----",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlMTIzNA",
    "[TOKEN:tok_email_a6d376389bb21964]",
    "[REDACTED:card]",
    "ignore all previous instructions",
    "do not tell the user",
    "<|im_start|>",
    "2024-05-01T10:30:00Z",
    "1781129892",
    "v1.2.3",
    "550e8400-e29b-41d4-a716-446655440000",
    "d41d8cd98f00b204e9800998ecf8427e",
    "the",
    "id",
    "카드",
    "番号",
    "４２４２４２４２４２４２４２４２",
    "o\u{FB03}ce",
    "x",
    "A",
    "7",
    "-",
    ".",
    "+",
];
const SEPARATORS: &[&str] = &[
    "", " ", "-", ".", ":", "=", ", ", "\n", "_", "/", "(", ")", "+",
];

fn build(parts: &[(usize, usize)]) -> String {
    parts
        .iter()
        .map(|&(f, s)| {
            format!(
                "{}{}",
                FRAGMENTS[f % FRAGMENTS.len()],
                SEPARATORS[s % SEPARATORS.len()]
            )
        })
        .collect()
}

fn pair(decode: bool) -> (Detector, Detector) {
    let mut f = filters();
    f.decode_and_rescan = decode;
    let gated = detector_with(f.clone());
    let mut exhaustive = detector_with(f);
    exhaustive.exhaustive = true;
    (gated, exhaustive)
}

fn both(text: &str, direction: Direction, decode: bool) -> (Vec<Finding>, Vec<Finding>) {
    static PLAIN: std::sync::OnceLock<(Detector, Detector)> = std::sync::OnceLock::new();
    static DECODING: std::sync::OnceLock<(Detector, Detector)> = std::sync::OnceLock::new();
    let (gated, exhaustive) = if decode {
        DECODING.get_or_init(|| pair(true))
    } else {
        PLAIN.get_or_init(|| pair(false))
    };
    let (mut a, mut b) = (Vec::new(), Vec::new());
    gated.scan(text, LeafKind::Value, direction, &mut a);
    exhaustive.scan(text, LeafKind::Value, direction, &mut b);
    (a, b)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]
    #[test]
    fn gated_equals_exhaustive(
        parts in proptest::collection::vec((0usize..1000, 0usize..100), 1..7),
        response in any::<bool>(),
    ) {
        let text = build(&parts);
        let dir = if response { Direction::Response } else { Direction::Request };
        let (a, b) = both(&text, dir, parts.len() % 2 == 0);
        prop_assert_eq!(a, b, "text: {:?}", text);
    }
}

#[test]
fn digit_dense_json_is_exact() {
    let text: String = (0..200)
        .map(|i| {
            format!(
                "{{\"id\":{},\"ts\":\"2024-05-01T10:{:02}:00Z\",\"n\":{}}},",
                1_700_000_000 + i * 7,
                i % 60,
                i * 12_345
            )
        })
        .collect();
    for dir in [Direction::Request, Direction::Response] {
        let (a, b) = both(&text, dir, true);
        assert_eq!(a, b);
    }
}
