//! The budget's clock: where periods start. `UTC`, a fixed offset (`+02:00`) or a named IANA
//! zone (`Europe/Berlin`) from the tz database compiled into the binary, so a daily budget
//! resets at local midnight across daylight-saving changes (a day is then 23 or 25 hours).

use jiff::civil::Date;
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, ToSpan as _, ZonedDateTime};

use super::budget::Period;

/// A time zone with the name it was given (kept in the spend file: spend kept under another
/// clock does not measure this budget).
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetTz {
    name: String,
    zone: TimeZone,
}

impl Default for BudgetTz {
    fn default() -> Self {
        Self::utc()
    }
}

impl BudgetTz {
    /// UTC.
    pub fn utc() -> Self {
        Self { name: "UTC".into(), zone: TimeZone::UTC }
    }

    /// A fixed offset, `seconds` east of UTC (named `UTC` or `+HH:MM`).
    pub fn fixed(seconds: i32) -> Result<Self, String> {
        if seconds == 0 {
            return Ok(Self::utc());
        }
        let offset = Offset::from_seconds(seconds).map_err(|e| e.to_string())?;
        let (sign, abs) = if seconds < 0 { ('-', -seconds) } else { ('+', seconds) };
        Ok(Self {
            name: format!("{sign}{:02}:{:02}", abs / 3600, abs % 3600 / 60),
            zone: offset.to_time_zone(),
        })
    }

    /// `UTC`, `Z`, `GMT`, `±HH:MM` / `±HHMM` / `±HH` (optionally after `UTC`), or an IANA zone
    /// name such as `Europe/Berlin`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" || t.eq_ignore_ascii_case("gmt") {
            return Ok(Self::utc());
        }
        let signed = t.strip_prefix("UTC").unwrap_or(t);
        if signed.starts_with(['+', '-']) {
            let bad = || {
                format!(
                    "budget time zone `{s}`: expected an offset such as +02:00 or -05:30 (at most ±14:00)"
                )
            };
            return parse_offset(signed).map_err(|()| bad()).and_then(|o| Self::fixed(o).map_err(|_| bad()));
        }
        match TimeZone::get(t) {
            Ok(zone) => Ok(Self { name: zone.iana_name().unwrap_or(t).to_owned(), zone }),
            Err(_) => Err(format!(
                "budget time zone `{s}`: not a time zone of the tz database (expected UTC, a fixed offset such as +02:00, or a name such as Europe/Berlin)"
            )),
        }
    }

    /// The name it is shown and kept under.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The zone's offset from UTC at `unix`, in seconds.
    pub fn offset_at(&self, unix: u64) -> i32 {
        Timestamp::from_second(unix as i64).map_or(0, |t| self.zone.to_offset(t).seconds())
    }

    /// The start and end (Unix seconds) of the `period` holding `unix`, on this clock: clock
    /// hours, local days from midnight (or the first instant of a day that skips midnight), or
    /// calendar months.
    pub fn bounds(&self, period: Period, unix: u64) -> (u64, u64) {
        let Ok(t) = Timestamp::from_second(unix as i64) else { return (unix, unix + 3600) };
        let now = t.to_zoned_datetime(self.zone.clone());
        let start_of = |d: Date| {
            d.to_zoned_datetime(self.zone.clone()).ok().map(|z: ZonedDateTime| z.timestamp().as_second())
        };
        let bounds = match period {
            // Every offset in use is a whole number of quarter hours: the local hour starts at
            // the same instant whichever offset is in force around it.
            Period::Hourly => {
                let local = unix as i64 + i64::from(now.offset().seconds());
                let start = unix as i64 - local.rem_euclid(3600);
                Some((start, start + 3600))
            }
            Period::Daily => {
                let day = now.date();
                start_of(day).zip(day.tomorrow().ok().and_then(start_of))
            }
            Period::Monthly => {
                let first = now.date().first_of_month();
                start_of(first).zip(first.checked_add(1.month()).ok().and_then(start_of))
            }
        };
        let (start, end) = bounds.unwrap_or((unix as i64, unix as i64 + 3600));
        (start.max(0) as u64, end.max(0) as u64)
    }

    /// `unix` as a local date and time with its offset, e.g. `2026-03-30T00:00:00+02:00`.
    pub fn local(&self, unix: u64) -> String {
        match Timestamp::from_second(unix as i64) {
            Ok(t) => {
                let z = t.to_zoned_datetime(self.zone.clone());
                let o = z.offset().seconds();
                let (sign, abs) = if o < 0 { ('-', -o) } else { ('+', o) };
                format!(
                    "{}{sign}{:02}:{:02}",
                    z.datetime().strftime("%Y-%m-%dT%H:%M:%S"),
                    abs / 3600,
                    abs % 3600 / 60
                )
            }
            Err(_) => crate::stats::time::iso(unix),
        }
    }
}

/// `±HH:MM` / `±HHMM` / `±HH` as seconds east of UTC, at most 14 hours.
fn parse_offset(t: &str) -> Result<i32, ()> {
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => return Err(()),
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !(digits.len() == 2 || digits.len() == 4) {
        return Err(());
    }
    let h: i32 = digits[..2].parse().map_err(|_| ())?;
    let m: i32 = if digits.len() == 4 { digits[2..].parse().map_err(|_| ())? } else { 0 };
    if h > 14 || m > 59 || (h == 14 && m > 0) {
        return Err(());
    }
    Ok(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> u64 {
        s.parse::<Timestamp>().expect("timestamp").as_second() as u64
    }

    #[test]
    fn names_and_offsets_parse() {
        assert_eq!(BudgetTz::parse("UTC").expect("utc").name(), "UTC");
        assert_eq!(BudgetTz::parse("+00:00").expect("zero").name(), "UTC");
        assert_eq!(BudgetTz::parse("+02:00").expect("fixed").offset_at(0), 7200);
        assert_eq!(BudgetTz::parse("-0530").expect("fixed").name(), "-05:30");
        assert_eq!(BudgetTz::parse("UTC+01").expect("fixed").name(), "+01:00");
        assert_eq!(BudgetTz::parse("Europe/Berlin").expect("named").name(), "Europe/Berlin");
        assert!(BudgetTz::parse("+25:00").is_err());
        assert!(BudgetTz::parse("+14:30").is_err());
        assert!(BudgetTz::parse("Mars/Olympus").expect_err("unknown").contains("tz database"));
    }

    #[test]
    fn daily_periods_follow_local_midnight_across_dst() {
        let berlin = BudgetTz::parse("Europe/Berlin").expect("zone");
        // 2026-03-29: clocks go 02:00 -> 03:00 in Berlin, a 23-hour day.
        let (s, e) = berlin.bounds(Period::Daily, at("2026-03-29T12:00:00Z"));
        assert_eq!((s, e), (at("2026-03-28T23:00:00Z"), at("2026-03-29T22:00:00Z")));
        assert_eq!(e - s, 23 * 3600);
        assert_eq!(berlin.local(e), "2026-03-30T00:00:00+02:00");
        // 2026-10-25: 03:00 -> 02:00, a 25-hour day.
        let (s, e) = berlin.bounds(Period::Daily, at("2026-10-25T12:00:00Z"));
        assert_eq!((s, e), (at("2026-10-24T22:00:00Z"), at("2026-10-25T23:00:00Z")));
        assert_eq!(e - s, 25 * 3600);
        // New York's spring-forward day (2026-03-08), seen just before its end.
        let ny = BudgetTz::parse("America/New_York").expect("zone");
        let (s, e) = ny.bounds(Period::Daily, at("2026-03-09T03:59:59Z"));
        assert_eq!((s, e), (at("2026-03-08T05:00:00Z"), at("2026-03-09T04:00:00Z")));
        assert_eq!(ny.local(s), "2026-03-08T00:00:00-05:00");
        assert_eq!(ny.local(e), "2026-03-09T00:00:00-04:00");
    }

    #[test]
    fn hourly_and_monthly_periods_across_dst() {
        let berlin = BudgetTz::parse("Europe/Berlin").expect("zone");
        // The repeated hour of the fall-back night is two periods, an hour each.
        let first = berlin.bounds(Period::Hourly, at("2026-10-25T00:30:00Z"));
        let second = berlin.bounds(Period::Hourly, at("2026-10-25T01:30:00Z"));
        assert_eq!(first, (at("2026-10-25T00:00:00Z"), at("2026-10-25T01:00:00Z")));
        assert_eq!(second, (at("2026-10-25T01:00:00Z"), at("2026-10-25T02:00:00Z")));
        // A half-hour zone's hours start at :30 UTC.
        let kolkata = BudgetTz::parse("Asia/Kolkata").expect("zone");
        assert_eq!(
            kolkata.bounds(Period::Hourly, at("2026-06-01T10:10:00Z")),
            (at("2026-06-01T09:30:00Z"), at("2026-06-01T10:30:00Z"))
        );
        // March 2026 in Berlin starts at +01:00 and ends at +02:00.
        let (s, e) = berlin.bounds(Period::Monthly, at("2026-03-15T00:00:00Z"));
        assert_eq!((s, e), (at("2026-02-28T23:00:00Z"), at("2026-03-31T22:00:00Z")));
        // Fixed offsets and UTC as before.
        let utc = BudgetTz::utc();
        assert_eq!(utc.bounds(Period::Daily, 1_796_435_058), (1_796_428_800, 1_796_515_200));
        let plus2 = BudgetTz::parse("+02:00").expect("fixed");
        assert_eq!(plus2.bounds(Period::Daily, 1_796_435_058), (1_796_428_800 - 7200, 1_796_515_200 - 7200));
    }
}
