//! Validator vectors: published worked examples and their off-by-one neighbours.

use super::*;

#[test]
fn luhn_and_card() {
    assert!(luhn(b"4242 4242 4242 4242"));
    assert!(luhn(b"4111-1111-1111-1111"));
    assert!(!luhn(b"4242 4242 4242 4241"));
    assert!(!luhn(b"424242424242")); // 12 digits
                                     // 1_700_000_000_004 reads as a 2023 epoch-ms timestamp; Luhn-valid but not a card.
    assert!(luhn(b"1700000000004"));
    assert!(!card(b"1700000000004"));
    // No network issues 13-digit cards under a leading 1, separators or not.
    assert!(!card(b"1700 0000 0000 4"));
    // A Luhn-valid 14-digit SIRET is not a Diners/Maestro number.
    assert!(luhn(b"73282932000074"));
    assert!(!card(b"73282932000074"));
    assert!(!card(b"0000 0000 0000 0000"));
    // A 13-digit Visa (prefix 4) stays a card.
    assert!(card(b"4222222222222"));
}

#[test]
fn kr_rrn_checksum() {
    assert!(kr_rrn(b"900101-1234568"));
    assert!(!kr_rrn(b"900101-1234567"));
    assert!(kr_rrn(b"9001011234568"));
    // Checksum-valid but month 41: not a birth date.
    assert!(!kr_rrn(b"4941483222106"));
}

#[test]
fn ssn_ranges() {
    assert!(us_ssn(b"078-05-1120"));
    for bad in [
        "666-12-1234",
        "900-12-1234",
        "000-12-1234",
        "078-00-1120",
        "078-05-0000",
    ] {
        assert!(!us_ssn(bad.as_bytes()), "{bad}");
    }
}

#[test]
fn iban_checks() {
    assert!(iban(b"DE89370400440532013000"));
    assert!(iban(b"DE89 3704 0044 0532 0130 00"));
    assert!(!iban(b"DE89370400440532013001"));
    assert!(iban(b"GB82WEST12345698765432"));
    // Right checksum family, wrong registry length for DE.
    assert!(!iban(b"DE8937040044053201300"));
    assert_eq!(iban_grouped(b"DE89 3704 0044 0532 0130 00"), Some(27));
    assert_eq!(iban_grouped(b"DE89 3704 0044 0532 0130 00 EUR"), Some(27));
    assert_eq!(iban_grouped(b"DE89 3704 0044 0532 0130 01"), None);
}

#[test]
fn national_ids() {
    assert!(jp_mynumber(b"123456789018"));
    assert!(!jp_mynumber(b"123456789010"));
    assert!(fr_nir(b"185057800604830"));
    assert!(fr_nir(b"1 85 05 78 006 048 30"));
    assert!(!fr_nir(b"185057800604831"));
    assert!(es_dni(b"12345678Z"));
    assert!(es_dni(b"X1234567L"));
    assert!(es_dni(b"x1234567l"));
    assert!(!es_dni(b"12345678A"));
    assert!(it_codice_fiscale(b"RSSMRA85T10A562S"));
    assert!(!it_codice_fiscale(b"RSSMRA85T10A562X"));
    assert!(sg_nric(b"S1234567D"));
    assert!(sg_nric(b"F1234567N"));
    assert!(!sg_nric(b"S1234567A"));
    // ICA's M-series worked example.
    assert!(sg_nric(b"M1234567K"));
    assert!(!sg_nric(b"M1234567X"));
    assert!(in_aadhaar(b"234567890124"));
    assert!(!in_aadhaar(b"234567890125"));
    assert!(!in_aadhaar(b"123456789018"));
    assert!(de_steuer_id(b"02476291358"));
    assert!(!de_steuer_id(b"02476291357"));
    assert!(nl_bsn(b"111222333"));
    assert!(nl_bsn(b"123456782"));
    assert!(!nl_bsn(b"123456789"));
    assert!(!nl_bsn(b"000000000"));
    assert!(uk_nino(b"AB123456C"));
    assert!(uk_nino(b"AB 12 34 56 C"));
    assert!(!uk_nino(b"BG123456C"));
    assert!(!uk_nino(b"AO123456C"));
}

#[test]
fn kr_phone_trunk_rule() {
    assert!(kr_phone(b"01012345678"));
    assert!(kr_phone(b"010-1234-5678"));
    assert!(kr_phone(b"+82 10 1234 5678"));
    assert!(!kr_phone(b"1781129892"));
}
