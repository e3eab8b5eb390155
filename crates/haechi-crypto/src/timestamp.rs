//! Timestamps as the reference writes and reads them: `Date.prototype.toISOString()` (UTC,
//! milliseconds, `Z`) and the ISO 8601 forms that `Date.parse` accepts.
//!
//! One deliberate difference: a date-time without `Z` or an offset is local time to JavaScript,
//! which makes an expiry depend on the host's time zone. We refuse it instead of guessing.

use crate::error::CryptoError;

/// JavaScript's time value range: ±8.64e15 ms around the epoch.
const MAX_MILLIS: i64 = 8_640_000_000_000_000;
const MILLIS_PER_DAY: i64 = 86_400_000;

pub(crate) use haechi_core::clock::{iso_now as now_iso, now_ms as now_millis};

/// `new Date(ms).toISOString()`: `YYYY-MM-DDTHH:mm:ss.sssZ`, with `±YYYYYY` outside 0000–9999.
pub(crate) fn iso_from_millis(ms: i64) -> String {
    let days = ms.div_euclid(MILLIS_PER_DAY);
    let of_day = ms.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let year_text = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else if year < 0 {
        format!("-{:06}", -year)
    } else {
        format!("+{year:06}")
    };
    format!(
        "{year_text}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        of_day / 3_600_000,
        of_day / 60_000 % 60,
        of_day / 1000 % 60,
        of_day % 1000
    )
}

/// Normalize a caller's expiry to the envelope form (`Date.parse` then `toISOString`).
pub(crate) fn normalize_expiry(text: &str) -> Result<String, CryptoError> {
    parse_millis(text)
        .map(iso_from_millis)
        .ok_or(CryptoError::InvalidTimestamp { field: "expiresAt" })
}

/// Parse the ISO 8601 forms of `Date.parse` to epoch milliseconds, with V8's leniencies
/// (lowercase `t`/`z`, a space for `T`, `+hhmm` offsets, any number of fraction digits,
/// day-of-month overflow into the next month, `24:00`). `None` when it is not a timestamp,
/// or when a time is given without a zone (see the module note).
pub(crate) fn parse_millis(text: &str) -> Option<i64> {
    let mut cur = Cursor {
        bytes: text.as_bytes(),
        at: 0,
    };
    let year = match cur.peek() {
        Some(sign @ (b'+' | b'-')) => {
            cur.at += 1;
            let magnitude = cur.digits(6)?;
            if sign == b'-' {
                if magnitude == 0 {
                    return None; // "-000000" is not a year in ECMAScript
                }
                -magnitude
            } else {
                magnitude
            }
        }
        _ => cur.digits(4)?,
    };
    let (mut month, mut day) = (1, 1);
    if cur.eat(b'-') {
        month = cur.digits(2)?;
        if cur.eat(b'-') {
            day = cur.digits(2)?;
        }
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut time_ms = 0;
    if cur.eat_any(b"Tt ") {
        let hour = cur.digits(2)?;
        if !cur.eat(b':') {
            return None;
        }
        let minute = cur.digits(2)?;
        let (mut second, mut millis) = (0, 0);
        if cur.eat(b':') {
            second = cur.digits(2)?;
            if cur.eat(b'.') {
                millis = cur.fraction_millis()?;
            }
        }
        if hour > 24 || minute > 59 || second > 59 {
            return None;
        }
        if hour == 24 && (minute, second, millis) != (0, 0, 0) {
            return None;
        }
        let offset_minutes = if cur.eat_any(b"Zz") {
            0
        } else {
            let sign = match cur.peek() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return None, // local time: refused on purpose
            };
            cur.at += 1;
            let oh = cur.digits(2)?;
            cur.eat(b':');
            let om = cur.digits(2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 60 + om)
        };
        time_ms = ((hour * 60 + minute - offset_minutes) * 60 + second) * 1000 + millis;
    }
    if cur.at != cur.bytes.len() {
        return None;
    }
    let days = days_from_civil(year, month, 1) + (day - 1);
    let ms = days.checked_mul(MILLIS_PER_DAY)?.checked_add(time_ms)?;
    (ms.abs() <= MAX_MILLIS).then_some(ms)
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.eat_any(&[byte])
    }

    fn eat_any(&mut self, set: &[u8]) -> bool {
        match self.peek() {
            Some(b) if set.contains(&b) => {
                self.at += 1;
                true
            }
            _ => false,
        }
    }

    /// Exactly `count` ASCII digits.
    fn digits(&mut self, count: usize) -> Option<i64> {
        let slice = self.bytes.get(self.at..self.at + count)?;
        let mut value = 0i64;
        for b in slice {
            if !b.is_ascii_digit() {
                return None;
            }
            value = value * 10 + i64::from(b - b'0');
        }
        self.at += count;
        Some(value)
    }

    /// One or more digits of a fraction of a second, truncated to milliseconds.
    fn fraction_millis(&mut self) -> Option<i64> {
        let start = self.at;
        let mut millis = 0i64;
        while let Some(b) = self.peek().filter(u8::is_ascii_digit) {
            let place = self.at - start;
            if place < 3 {
                millis += i64::from(b - b'0') * [100, 10, 1][place];
            }
            self.at += 1;
        }
        (self.at > start).then_some(millis)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn normalized(text: &str) -> Option<String> {
        parse_millis(text).map(iso_from_millis)
    }

    // Expected values printed by node v20 (`new Date(Date.parse(s)).toISOString()`).
    #[test]
    fn parses_like_date_parse_and_prints_like_to_iso_string() {
        let cases: &[(&str, Option<&str>)] = &[
            ("2000-01-01T00:00:00.000Z", Some("2000-01-01T00:00:00.000Z")),
            ("2000-02-30T00:00:00Z", Some("2000-03-01T00:00:00.000Z")),
            ("2000-01-01", Some("2000-01-01T00:00:00.000Z")),
            ("2000-01", Some("2000-01-01T00:00:00.000Z")),
            ("2000", Some("2000-01-01T00:00:00.000Z")),
            ("2000-01-01T00:00Z", Some("2000-01-01T00:00:00.000Z")),
            (
                "2000-01-01T00:00:00.123456Z",
                Some("2000-01-01T00:00:00.123Z"),
            ),
            (
                "2000-01-01T00:00:00+09:00",
                Some("1999-12-31T15:00:00.000Z"),
            ),
            ("2000-01-01T00:00:00+0900", Some("1999-12-31T15:00:00.000Z")),
            ("2000-01-01 00:00:00Z", Some("2000-01-01T00:00:00.000Z")),
            ("2000-01-01t00:00:00z", Some("2000-01-01T00:00:00.000Z")),
            ("+002000-01-01T00:00:00Z", Some("2000-01-01T00:00:00.000Z")),
            (
                "-000001-01-01T00:00:00Z",
                Some("-000001-01-01T00:00:00.000Z"),
            ),
            ("2000-01-01T24:00:00Z", Some("2000-01-02T00:00:00.000Z")),
            ("2000-01-01T00:00:00.1Z", Some("2000-01-01T00:00:00.100Z")),
            ("2001-02-29T00:00:00Z", Some("2001-03-01T00:00:00.000Z")),
            ("2000-01-01T23:59:60Z", None),
            ("2000-13-01T00:00:00Z", None),
            ("garbage", None),
            ("", None),
            ("2000-01-01T00:00:00.Z", None),
            ("20000-01-01T00:00:00Z", None),
            ("2000-1-1T00:00:00Z", None),
            ("-000000-01-01T00:00:00Z", None),
            // Local time is refused on purpose (JavaScript would use the host's zone).
            ("2000-01-01T00:00:00", None),
        ];
        for (input, expected) in cases {
            assert_eq!(normalized(input).as_deref(), *expected, "input {input:?}");
        }
    }

    #[test]
    fn prints_extended_years_like_javascript() {
        assert_eq!(
            iso_from_millis(253_402_300_800_000),
            "+010000-01-01T00:00:00.000Z"
        );
        assert_eq!(iso_from_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso_from_millis(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn rejects_values_outside_the_javascript_range() {
        assert!(parse_millis("+275760-09-13T00:00:00Z").is_some());
        assert!(parse_millis("+275760-09-13T00:00:00.001Z").is_none());
    }

    #[test]
    fn now_is_an_iso_string_with_millis() {
        let now = now_iso();
        assert_eq!(now.len(), 24);
        assert!(now.ends_with('Z'));
        assert_eq!(parse_millis(&now).map(iso_from_millis), Some(now));
    }
}
