//! Checksum and structure validators. Each takes the ASCII bytes a rule matched (separators
//! included) and says whether the candidate really is a value of that type. They never panic:
//! anything of the wrong shape is simply "not valid".

/// The ASCII digits of `text`, as numbers, into a fixed buffer (no allocation). Returns `None`
/// when there are more than `N` digits.
fn digits<const N: usize>(text: &[u8]) -> Option<([u8; N], usize)> {
    let mut out = [0u8; N];
    let mut len = 0;
    for &b in text {
        if b.is_ascii_digit() {
            if len == N {
                return None;
            }
            out[len] = b - b'0';
            len += 1;
        }
    }
    Some((out, len))
}

/// `text` with every byte in `drop` removed, upper-cased, into a fixed buffer.
fn compact<const N: usize>(text: &[u8], drop: &[u8]) -> Option<([u8; N], usize)> {
    let mut out = [0u8; N];
    let mut len = 0;
    for &b in text {
        if drop.contains(&b) {
            continue;
        }
        if len == N {
            return None;
        }
        out[len] = b.to_ascii_uppercase();
        len += 1;
    }
    Some((out, len))
}

/// Luhn over the digits of a 13–19 digit card candidate.
pub fn luhn(text: &[u8]) -> bool {
    let Some((d, len)) = digits::<19>(text) else {
        return false;
    };
    if !(13..=19).contains(&len) {
        return false;
    }
    let mut sum = 0u32;
    for (i, &digit) in d[..len].iter().rev().enumerate() {
        let mut v = u32::from(digit);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// A bare 13-digit run whose value reads as epoch milliseconds between 2001-09 and 2096
/// (leading digit 1–3). No issuer has 13-digit PANs starting 1, 2 or 3 (13-digit cards are
/// Visa, prefix 4), so rejecting these cannot hide a real card.
pub fn is_epoch_millis(text: &[u8]) -> bool {
    text.len() == 13 && text.iter().all(u8::is_ascii_digit) && matches!(text[0], b'1'..=b'3')
}

/// Card networks issue 13-digit PANs only under leading 4 (Visa) and 5/6 (Maestro), and
/// 14-digit PANs only under 3 (Diners) and 5/6 (Maestro). A 13/14-digit run with any other
/// leading digit (a SIRET, an epoch timestamp) cannot be a card.
pub fn issuer_length_plausible(text: &[u8]) -> bool {
    let Some((d, len)) = digits::<19>(text) else {
        return false;
    };
    match len {
        13 => matches!(d[0], 4..=6),
        14 => matches!(d[0], 3 | 5 | 6),
        _ => true,
    }
}

/// One digit repeated (`0000 0000 0000 0000` passes Luhn); no network issues such a PAN.
fn one_repeated_digit(text: &[u8]) -> bool {
    let mut ds = text.iter().filter(|b| b.is_ascii_digit());
    let first = ds.next();
    ds.all(|d| Some(d) == first)
}

/// A payment card: Luhn-valid, not an epoch-millisecond timestamp, a length its leading digit
/// is issued in, and not one repeated digit.
pub fn card(text: &[u8]) -> bool {
    luhn(text)
        && !is_epoch_millis(text)
        && issuer_length_plausible(text)
        && !one_repeated_digit(text)
}

/// KR resident registration number: a real birth date (`YYMMDD`, month 01–12, day 01–31),
/// then weights 2..9,2..5 over 12 digits and check `(11 - s%11) % 10`.
pub fn kr_rrn(text: &[u8]) -> bool {
    let Some((d, len)) = digits::<13>(text) else {
        return false;
    };
    if len != 13 {
        return false;
    }
    let month = d[2] * 10 + d[3];
    let day = d[4] * 10 + d[5];
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return false;
    }
    const W: [u32; 12] = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5];
    let sum: u32 = W.iter().zip(&d).map(|(w, &v)| w * u32::from(v)).sum();
    (11 - sum % 11) % 10 == u32::from(d[12])
}

/// A separator-less KR mobile run must start with the trunk `0`; a separated or `+82` form
/// always passes (a bare non-`0` run is a timestamp or counter).
pub fn kr_phone(text: &[u8]) -> bool {
    if text
        .iter()
        .any(|&b| matches!(b, b'-' | b'.' | b'+') || b.is_ascii_whitespace())
    {
        return true;
    }
    text.first() == Some(&b'0')
}

/// US SSN `AAA-GG-SSSS` outside the never-issued SSA ranges.
pub fn us_ssn(text: &[u8]) -> bool {
    if text.len() != 11 || text[3] != b'-' || text[6] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        text[r].iter().try_fold(0u32, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
        })
    };
    let (Some(area), Some(group), Some(serial)) = (num(0..3), num(4..6), num(7..11)) else {
        return false;
    };
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// IBAN lengths from the ISO 13616 registry. A known country must have its exact length;
/// an unlisted code keeps the plain 15–34 rule so a new registry entry is not missed.
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AE", 23),
    (b"AL", 28),
    (b"AT", 20),
    (b"AZ", 28),
    (b"BA", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"BH", 22),
    (b"BI", 27),
    (b"BR", 29),
    (b"BY", 28),
    (b"CH", 21),
    (b"CR", 22),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DJ", 27),
    (b"DK", 18),
    (b"DO", 28),
    (b"EE", 20),
    (b"EG", 29),
    (b"ES", 24),
    (b"FI", 18),
    (b"FK", 18),
    (b"FO", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GE", 22),
    (b"GI", 23),
    (b"GL", 18),
    (b"GR", 27),
    (b"GT", 28),
    (b"HN", 28),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IL", 23),
    (b"IQ", 23),
    (b"IS", 26),
    (b"IT", 27),
    (b"JO", 30),
    (b"KW", 30),
    (b"KZ", 20),
    (b"LB", 28),
    (b"LC", 32),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"LY", 25),
    (b"MC", 27),
    (b"MD", 24),
    (b"ME", 22),
    (b"MK", 19),
    (b"MN", 20),
    (b"MR", 27),
    (b"MT", 31),
    (b"MU", 30),
    (b"NI", 28),
    (b"NL", 18),
    (b"NO", 15),
    (b"OM", 23),
    (b"PK", 24),
    (b"PL", 28),
    (b"PS", 29),
    (b"PT", 25),
    (b"QA", 29),
    (b"RO", 24),
    (b"RS", 22),
    (b"RU", 33),
    (b"SA", 24),
    (b"SC", 31),
    (b"SD", 18),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"SO", 23),
    (b"ST", 25),
    (b"SV", 28),
    (b"TL", 23),
    (b"TN", 24),
    (b"TR", 26),
    (b"UA", 29),
    (b"VA", 22),
    (b"VG", 24),
    (b"XK", 20),
    (b"YE", 30),
];

/// The registered IBAN length for a country code, if the registry lists it.
pub fn iban_length(country: &[u8]) -> Option<usize> {
    IBAN_LENGTHS
        .iter()
        .find(|(code, _)| code.as_slice() == country)
        .map(|&(_, len)| len)
}

/// IBAN: shape, registry length for known countries, and ISO 7064 mod-97 == 1.
pub fn iban(text: &[u8]) -> bool {
    let Some((v, len)) = compact::<34>(text, b" \t\r\n") else {
        return false;
    };
    let v = &v[..len];
    if !(15..=34).contains(&len)
        || !v[..2].iter().all(u8::is_ascii_uppercase)
        || !v[2..4].iter().all(u8::is_ascii_digit)
        || !v[4..].iter().all(u8::is_ascii_alphanumeric)
    {
        return false;
    }
    if let Some(expected) = iban_length(&v[..2]) {
        if expected != len {
            return false;
        }
    }
    let mut rem = 0u32;
    for &c in v[4..].iter().chain(&v[..4]) {
        if c.is_ascii_digit() {
            rem = (rem * 10 + u32::from(c - b'0')) % 97;
        } else {
            rem = (rem * 100 + u32::from(c - b'A' + 10)) % 97;
        }
    }
    rem == 1
}

/// For a grouped IBAN candidate (`DE89 3704 …`), the byte length of the leading IBAN that
/// validates: the registry length when the country is known, else the longest valid prefix
/// ending on a group boundary. `None` when no prefix is an IBAN.
pub fn iban_grouped(text: &[u8]) -> Option<usize> {
    let country = text.get(..2)?;
    // Byte offsets where a prefix may end: the end of each group.
    let mut ends: Vec<(usize, usize)> = Vec::new(); // (byte end, alnum count)
    let mut count = 0;
    for (i, &b) in text.iter().enumerate() {
        if b.is_ascii_alphanumeric() {
            count += 1;
            if text.get(i + 1).is_none_or(|&n| n == b' ') {
                ends.push((i + 1, count));
            }
        }
    }
    if let Some(want) = iban_length(country) {
        let &(end, _) = ends.iter().find(|&&(_, n)| n == want)?;
        return iban(&text[..end]).then_some(end);
    }
    ends.iter()
        .rev()
        .find(|&&(end, _)| iban(&text[..end]))
        .map(|&(end, _)| end)
}

/// Japan My Number: mod-11 check digit with weights 2..7,2..6 from the right.
pub fn jp_mynumber(text: &[u8]) -> bool {
    let Some((d, len)) = digits::<12>(text) else {
        return false;
    };
    if len != 12 {
        return false;
    }
    let mut sum = 0u32;
    for n in 1..=11usize {
        let weight = if n <= 6 { n + 1 } else { n - 5 } as u32;
        sum += u32::from(d[11 - n]) * weight;
    }
    let rem = sum % 11;
    let check = if rem <= 1 { 0 } else { 11 - rem };
    check == u32::from(d[11])
}

/// France NIR: control key `97 - (body mod 97)`, Corsica `2A`→19 / `2B`→18 in the body.
pub fn fr_nir(text: &[u8]) -> bool {
    let Some((v, len)) = compact::<15>(text, b" \t.-") else {
        return false;
    };
    if len != 15 {
        return false;
    }
    let v = &v[..15];
    let structural = matches!(v[0], b'1' | b'2')
        && v[1..5].iter().all(u8::is_ascii_digit)
        && (v[5..7].iter().all(u8::is_ascii_digit)
            || (v[5] == b'2' && matches!(v[6], b'A' | b'B')))
        && v[7..15].iter().all(u8::is_ascii_digit);
    if !structural {
        return false;
    }
    let mut body = [0u8; 13];
    body.copy_from_slice(&v[..13]);
    match body[6] {
        b'A' => body[5..7].copy_from_slice(b"19"),
        b'B' => body[5..7].copy_from_slice(b"18"),
        _ => {}
    }
    let rem = body
        .iter()
        .fold(0u64, |acc, &b| (acc * 10 + u64::from(b - b'0')) % 97);
    let control = u64::from(v[13] - b'0') * 10 + u64::from(v[14] - b'0');
    97 - rem == control
}

const ES_DNI_LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";

/// Spain DNI (8 digits + letter) or NIE (X/Y/Z → 0/1/2, 7 digits, letter): mod-23 letter.
pub fn es_dni(text: &[u8]) -> bool {
    let Some((v, len)) = compact::<9>(text, b" \t-") else {
        return false;
    };
    if len != 9 || !v[8].is_ascii_uppercase() {
        return false;
    }
    let lead = match v[0] {
        b'X' => 0,
        b'Y' => 1,
        b'Z' => 2,
        b @ b'0'..=b'9' => u32::from(b - b'0'),
        _ => return false,
    };
    if !v[1..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let number = v[1..8]
        .iter()
        .fold(lead, |acc, &b| acc * 10 + u32::from(b - b'0'));
    ES_DNI_LETTERS[(number % 23) as usize] == v[8]
}

/// Odd-position values of the codice fiscale check table, indexed by digit then letter.
const CF_ODD_DIGITS: [u32; 10] = [1, 0, 5, 7, 9, 13, 15, 17, 19, 21];
const CF_ODD_LETTERS: [u32; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

/// Italy codice fiscale: rigid layout plus the mod-26 check character.
pub fn it_codice_fiscale(text: &[u8]) -> bool {
    let Some((v, len)) = compact::<16>(text, b" \t") else {
        return false;
    };
    if len != 16 {
        return false;
    }
    let layout = b"AAAAAA00A00A000A";
    let shape_ok = v.iter().zip(layout).all(|(&c, &l)| {
        if l == b'A' {
            c.is_ascii_uppercase()
        } else {
            c.is_ascii_digit()
        }
    });
    if !shape_ok {
        return false;
    }
    let mut sum = 0u32;
    for (i, &c) in v[..15].iter().enumerate() {
        let odd = i % 2 == 0; // position 1 (index 0) is odd
        sum += match (odd, c.is_ascii_digit()) {
            (true, true) => CF_ODD_DIGITS[usize::from(c - b'0')],
            (true, false) => CF_ODD_LETTERS[usize::from(c - b'A')],
            (false, true) => u32::from(c - b'0'),
            (false, false) => u32::from(c - b'A'),
        };
    }
    b'A' + (sum % 26) as u8 == v[15]
}

const SG_WEIGHTS: [u32; 7] = [2, 7, 6, 5, 4, 3, 2];
const SG_ST: &[u8; 11] = b"JZIHGFEDCBA";
const SG_FG: &[u8; 11] = b"XWUTRQPNMLK";
/// ICA's M-series table, read at index `10 - r` (P = 11 - r, letter P-1).
const SG_M: &[u8; 11] = b"KLJNPQRTUWX";

/// Singapore NRIC/FIN check letter, including the 2022 M series per ICA's published
/// algorithm (offset 3, letter `KLJNPQRTUWX[10 - r]`).
pub fn sg_nric(text: &[u8]) -> bool {
    let Some((v, len)) = compact::<9>(text, b" \t") else {
        return false;
    };
    if len != 9 || !v[1..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let weighted: u32 = SG_WEIGHTS
        .iter()
        .zip(&v[1..8])
        .map(|(w, &d)| w * u32::from(d - b'0'))
        .sum();
    let check = v[8];
    match v[0] {
        b'S' => SG_ST[(weighted % 11) as usize] == check,
        b'T' => SG_ST[((weighted + 4) % 11) as usize] == check,
        b'F' => SG_FG[(weighted % 11) as usize] == check,
        b'G' => SG_FG[((weighted + 4) % 11) as usize] == check,
        b'M' => SG_M[10 - ((weighted + 3) % 11) as usize] == check,
        _ => false,
    }
}

const VERHOEFF_D: [[u8; 10]; 10] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
];
const VERHOEFF_P: [[u8; 10]; 8] = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
];

/// Verhoeff over a full digit string (check digit last).
pub fn verhoeff(d: &[u8]) -> bool {
    let mut c = 0u8;
    for (i, &digit) in d.iter().rev().enumerate() {
        c = VERHOEFF_D[usize::from(c)][usize::from(VERHOEFF_P[i % 8][usize::from(digit)])];
    }
    c == 0
}

/// India Aadhaar: 12 digits, first not 0/1, Verhoeff-valid.
pub fn in_aadhaar(text: &[u8]) -> bool {
    let Some((d, len)) = digits::<12>(text) else {
        return false;
    };
    len == 12 && d[0] >= 2 && verhoeff(&d[..12])
}

/// Germany Steuer-ID: exactly one digit repeated (2 or 3 times) in the first ten, and the
/// ISO 7064 MOD 11,10 check digit.
pub fn de_steuer_id(text: &[u8]) -> bool {
    let Some((d, len)) = digits::<11>(text) else {
        return false;
    };
    if len != 11 {
        return false;
    }
    let mut counts = [0u8; 10];
    for &v in &d[..10] {
        counts[usize::from(v)] += 1;
    }
    let mut repeated = counts.iter().filter(|&&c| c >= 2);
    match (repeated.next(), repeated.next()) {
        (Some(&c), None) if c <= 3 => {}
        _ => return false,
    }
    let mut product = 10u32;
    for &v in &d[..10] {
        let mut sum = (u32::from(v) + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = match 11 - product {
        10 => 0,
        c => c,
    };
    check == u32::from(d[10])
}

/// Netherlands BSN 11-proef: Σ d_i·(9..2) − d_9 ≡ 0 (mod 11), not all zeros.
pub fn nl_bsn(text: &[u8]) -> bool {
    let Some((d, len)) = digits::<9>(text) else {
        return false;
    };
    if len != 9 || d.iter().all(|&v| v == 0) {
        return false;
    }
    let sum: i32 = d[..8]
        .iter()
        .enumerate()
        .map(|(i, &v)| i32::from(v) * (9 - i as i32))
        .sum::<i32>()
        - i32::from(d[8]);
    sum % 11 == 0
}

/// UK NINO: format-only (no checksum); never-issued prefixes are rejected.
pub fn uk_nino(text: &[u8]) -> bool {
    let Some((v, len)) = compact::<9>(text, b" \t") else {
        return false;
    };
    if len != 9
        || !v[..2].iter().all(u8::is_ascii_uppercase)
        || !v[2..8].iter().all(u8::is_ascii_digit)
        || !matches!(v[8], b'A'..=b'D')
    {
        return false;
    }
    let prefix = [v[0], v[1]];
    const NEVER_ISSUED: [&[u8; 2]; 7] = [b"BG", b"GB", b"NK", b"KN", b"TN", b"NT", b"ZZ"];
    if NEVER_ISSUED.iter().any(|p| **p == prefix) {
        return false;
    }
    !b"DFIQUV".contains(&v[0]) && !b"DFIOQUV".contains(&v[1])
}

#[cfg(test)]
mod tests;
