//! UTC calendar arithmetic for history timestamps and rollup buckets (no time zone data:
//! everything the proxy stores and shows is UTC).

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count.
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `2026-12-05T01:02:03Z`.
pub fn iso(unix: u64) -> String {
    let mut out = Vec::with_capacity(20);
    iso_into(&mut out, unix);
    String::from_utf8(out).unwrap_or_default()
}

/// [`iso`] appended to `out` (the request log writes one per line: no formatter, no string).
pub fn iso_into(out: &mut Vec<u8>, unix: u64) {
    let secs = unix as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    if (0..=9999).contains(&y) {
        let digits = |n: i64, width: usize, out: &mut Vec<u8>| {
            for k in (0..width).rev() {
                out.push(b'0' + (n / 10_i64.pow(k as u32) % 10) as u8);
            }
        };
        digits(y, 4, out);
        out.push(b'-');
        digits(i64::from(m), 2, out);
        out.push(b'-');
        digits(i64::from(d), 2, out);
        out.push(b'T');
        digits(s / 3600, 2, out);
        out.push(b':');
        digits(s / 60 % 60, 2, out);
        out.push(b':');
        digits(s % 60, 2, out);
        out.push(b'Z');
    } else {
        // Years past four digits (a corrupt clock): the general formatter.
        let text = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60);
        out.extend_from_slice(text.as_bytes());
    }
}

/// A rollup period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Hour.
    Hourly,
    /// UTC day.
    Daily,
    /// ISO week (Monday).
    Weekly,
    /// Calendar month.
    Monthly,
}

impl Period {
    /// All, in order.
    pub const ALL: [Self; 4] = [Self::Hourly, Self::Daily, Self::Weekly, Self::Monthly];

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hourly => "hourly",
            Self::Daily => "daily",
            Self::Weekly => "weekly",
            Self::Monthly => "monthly",
        }
    }

    /// Start (Unix seconds) of the period holding `unix`.
    pub fn start(self, unix: u64) -> u64 {
        let secs = unix as i64;
        let day = secs.div_euclid(86_400);
        let start = match self {
            Self::Hourly => secs - secs.rem_euclid(3600),
            Self::Daily => day * 86_400,
            // 1970-01-01 was a Thursday: Monday is 3 days before it.
            Self::Weekly => (day - (day + 3).rem_euclid(7)) * 86_400,
            Self::Monthly => {
                let (y, m, _) = civil_from_days(day);
                days_from_civil(y, m, 1) * 86_400
            }
        };
        start.max(0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar() {
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso(1_764_896_645), "2025-12-05T01:04:05Z");
        let t = 1_764_896_645; // a Friday
        assert_eq!(iso(Period::Hourly.start(t)), "2025-12-05T01:00:00Z");
        assert_eq!(iso(Period::Daily.start(t)), "2025-12-05T00:00:00Z");
        assert_eq!(iso(Period::Weekly.start(t)), "2025-12-01T00:00:00Z");
        assert_eq!(iso(Period::Monthly.start(t)), "2025-12-01T00:00:00Z");
        assert_eq!(iso(Period::Monthly.start(951_782_400)), "2000-02-01T00:00:00Z"); // 2000-02-29
        assert_eq!(iso(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(iso(253_402_300_800), "10000-01-01T00:00:00Z");
        for unix in (0..4_000_000_000u64).step_by(86_399 * 97 + 7) {
            let (y, m, d) = civil_from_days(unix as i64 / 86_400);
            let s = unix % 86_400;
            let general = format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60);
            assert_eq!(iso(unix), general);
        }
    }
}
