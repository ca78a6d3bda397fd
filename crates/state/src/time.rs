use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

/// A point in time with one-second precision, as seconds since the Unix epoch (UTC).
///
/// Shown and stored as RFC 3339 in UTC (`2024-05-01T12:00:00Z`) so that state records and
/// journal entries stay readable; implemented here rather than pulling in a date crate because
/// this is all the state store needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Timestamp(u64);

/// The text was not an RFC 3339 UTC timestamp of the form `YYYY-MM-DDTHH:MM:SSZ`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a timestamp: expected RFC 3339 in UTC, e.g. `2024-05-01T12:00:00Z`")]
pub struct TimestampError(String);

const SECONDS_PER_DAY: u64 = 86_400;

impl Timestamp {
    /// The current time. A clock set before 1970 reads as the epoch rather than failing: a
    /// timestamp is informational and must never stop a state write.
    pub fn now() -> Timestamp {
        Timestamp(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
    }

    pub const fn from_unix_seconds(seconds: u64) -> Timestamp {
        Timestamp(seconds)
    }

    pub const fn unix_seconds(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0 / SECONDS_PER_DAY;
        let rest = self.0 % SECONDS_PER_DAY;
        // `days` is at most u64::MAX / 86400, far inside i64.
        let (year, month, day) = civil_from_days(days as i64);
        write!(f, "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse(text).ok_or_else(|| TimestampError(text.to_owned()))
    }
}

fn parse(text: &str) -> Option<Timestamp> {
    let b = text.as_bytes();
    // ASCII only, so that the slices below fall on character boundaries.
    if !text.is_ascii()
        || b.len() != 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
    {
        return None;
    }
    if b[16] != b':' || !matches!(b[19], b'Z' | b'z') {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u64> {
        let digits = &text[range];
        digits.bytes().all(|c| c.is_ascii_digit()).then(|| digits.parse().ok())?
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if year < 1970 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Both casts are lossless: year <= 9999, month <= 12, day <= 31, and the result is >= 0.
    let days = days_from_civil(year as i64, month as u32, day as u32) as u64;
    Some(Timestamp(days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's days-from-civil algorithms (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = year - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let month = i64::from(month);
    let doy = (153 * if month > 2 { month - 3 } else { month + 9 } + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

ringform_core::serde_as_text!(Timestamp);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_instants() {
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp(951_782_400).to_string(), "2000-02-29T00:00:00Z");
        assert_eq!(Timestamp(1_714_564_800).to_string(), "2024-05-01T12:00:00Z");
        assert_eq!("2024-05-01T12:00:00Z".parse(), Ok(Timestamp(1_714_564_800)));
    }

    #[test]
    fn rejects_malformed_text() {
        for text in [
            "",
            "2024-05-01 12:00:00Z",
            "2024-05-01T12:00:00",
            "2024-13-01T12:00:00Z",
            "2023-02-29T12:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T12:00:00+01:00",
            "+024-05-01T12:00:00Z",
            "1969-12-31T23:59:59Z",
        ] {
            assert!(text.parse::<Timestamp>().is_err(), "{text}");
        }
    }

    #[test]
    fn serde_uses_rfc3339() {
        let json = serde_json::to_string(&Timestamp(1_714_564_800)).unwrap();
        assert_eq!(json, "\"2024-05-01T12:00:00Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), Timestamp(1_714_564_800));
    }

    proptest! {
        #[test]
        fn text_round_trips(seconds in 0u64..253_402_300_800) {
            let t = Timestamp(seconds);
            prop_assert_eq!(t.to_string().parse::<Timestamp>(), Ok(t));
        }

        #[test]
        fn parsing_never_panics(text in "\\PC{0,24}") {
            let _ = text.parse::<Timestamp>();
        }
    }
}
