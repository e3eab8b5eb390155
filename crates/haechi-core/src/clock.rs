//! Timestamps as the reference writes them: `Date.prototype.toISOString()` in UTC with
//! milliseconds, and retention arithmetic in whole milliseconds. Shared by the audit events,
//! the vault and the key file.

use std::time::{SystemTime, UNIX_EPOCH};

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

const MS_PER_DAY: f64 = 24.0 * 60.0 * 60.0 * 1000.0;
/// 9999-12-31T23:59:59.999Z: the last instant `toISOString()` prints with a 4-digit year.
const MAX_MS: i64 = 253_402_300_799_999;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(elapsed) => i64::try_from(elapsed.as_millis()).unwrap_or(MAX_MS),
        Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(0),
    }
}

/// `now + days`, truncated to a whole millisecond as `new Date(ms)` does; `None` when the
/// result is outside what an ISO timestamp with a 4-digit year can say.
pub fn add_days(now: i64, days: f64) -> Option<i64> {
    let ms = (now as f64 + days * MS_PER_DAY).trunc();
    (ms.is_finite() && (0.0..=MAX_MS as f64).contains(&ms)).then_some(ms as i64)
}

/// Now, as `new Date().toISOString()` writes it.
pub fn iso_now() -> String {
    iso_reusing_second(now_ms()).unwrap_or_else(|| String::from("1970-01-01T00:00:00.000Z"))
}

/// [`iso`], formatting the date and time of day once per second per thread (every audit event
/// is stamped, and a busy gateway stamps many in the same second).
fn iso_reusing_second(ms: i64) -> Option<String> {
    thread_local! {
        /// A second since the epoch and its text up to the milliseconds (`…T12:49:29.`).
        static SECOND: std::cell::RefCell<Option<(i64, String)>> = const { std::cell::RefCell::new(None) };
    }
    let (second, millis) = (ms.div_euclid(1000), ms.rem_euclid(1000));
    SECOND.with_borrow_mut(|cached| {
        if cached.as_ref().is_none_or(|(at, _)| *at != second) {
            let mut text = iso(second * 1000)?;
            text.truncate(text.len() - "000Z".len());
            *cached = Some((second, text));
        }
        let (_, prefix) = cached.as_ref()?;
        let mut text = String::with_capacity(prefix.len() + 4);
        text.push_str(prefix);
        text.push(char::from(b'0' + (millis / 100) as u8));
        text.push(char::from(b'0' + (millis / 10 % 10) as u8));
        text.push(char::from(b'0' + (millis % 10) as u8));
        text.push('Z');
        Some(text)
    })
}

/// `new Date(ms).toISOString()` for years 1970..=9999.
pub fn iso(ms: i64) -> Option<String> {
    let nanos = i128::from(ms).checked_mul(1_000_000)?;
    let at = OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()?;
    at.format(format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    ))
    .ok()
}

/// `Date.parse` for the ISO timestamps vault records carry; `None` when unparsable (such a
/// record never expires, as in the reference, where `NaN < now` is false).
pub fn parse_ms(text: &str) -> Option<i64> {
    let at = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_second_text_gives_what_iso_gives() {
        let starts = [0, 1_767_225_599_000, 1_767_225_600_000, 253_402_300_799_000];
        for start in starts {
            for ms in (start..start + 2_000)
                .step_by(7)
                .chain([start + 999, start + 1_000])
            {
                assert_eq!(iso_reusing_second(ms), iso(ms), "{ms}");
            }
        }
        assert_eq!(iso_reusing_second(MAX_MS + 1), iso(MAX_MS + 1));
    }

    #[test]
    fn formats_like_to_iso_string() {
        assert_eq!(iso(0).as_deref(), Some("1970-01-01T00:00:00.000Z"));
        assert_eq!(
            iso(1_767_225_600_123).as_deref(),
            Some("2026-01-01T00:00:00.123Z")
        );
        assert_eq!(
            parse_ms("2026-01-01T00:00:00.123Z"),
            Some(1_767_225_600_123)
        );
        assert_eq!(parse_ms("not a date"), None);
    }

    #[test]
    fn retention_truncates_to_milliseconds_and_stays_in_range() {
        assert_eq!(add_days(1000, 1.0), Some(1000 + 86_400_000));
        assert_eq!(add_days(1000, -1.0 / 86_400_000.0 / 2.0), Some(999));
        assert_eq!(add_days(1000, 1e9), None);
        assert_eq!(add_days(1000, f64::NAN), None);
        assert_eq!(add_days(0, -1.0), None);
    }
}
