//! The text log's lines, written as `tracing-subscriber`'s default (`Full`) format writes them
//! when colours are off and no span is open: the timestamp (RFC 3339, microseconds, UTC), the
//! level padded to five characters, the target and `: `, then the fields ([`FastFields`]).
//! The default writes the timestamp through a calendar type and `core::fmt` and the level and
//! target through `write!` of styled wrappers: on one line per request that was about a
//! quarter of the line's cost. Anything else (colours, an open span) goes to the default
//! format itself, so a line is byte for byte the default's (a test compares the two).
//!
//! [`FastFields`]: crate::log_fields::FastFields

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::time::SystemTime as DefaultTimer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The event formatter for the text log.
#[derive(Debug, Default)]
pub struct FastFormat {
    default: Format<Full, DefaultTimer>,
}

impl<S, N> FormatEvent<S, N> for FastFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        if writer.has_ansi_escapes() || ctx.event_scope().is_some() {
            return self.default.format_event(ctx, writer, event);
        }
        let mut stamp = [0u8; TIMESTAMP_LEN];
        match timestamp(SystemTime::now(), &mut stamp) {
            // ASCII digits and separators only.
            Some(text) => writer.write_str(std::str::from_utf8(text).map_err(|_| fmt::Error)?)?,
            // A clock before 1970 or past year 9999: the default's own timer.
            None => {
                use tracing_subscriber::fmt::time::FormatTime;
                if DefaultTimer.format_time(&mut writer).is_err() {
                    writer.write_str("<unknown time>")?;
                }
            }
        }
        let meta = event.metadata();
        writer.write_str(match *meta.level() {
            Level::TRACE => " TRACE ",
            Level::DEBUG => " DEBUG ",
            Level::INFO => "  INFO ",
            Level::WARN => "  WARN ",
            Level::ERROR => " ERROR ",
        })?;
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        ctx.format_fields(writer.by_ref(), event)?;
        writer.write_char('\n')
    }
}

/// `2026-12-05T13:02:34.390982Z`.
const TIMESTAMP_LEN: usize = 27;

/// `at` as the default timer writes it, for years 1970 to 9999 (`None` otherwise).
fn timestamp(at: SystemTime, out: &mut [u8; TIMESTAMP_LEN]) -> Option<&[u8]> {
    let since = at.duration_since(UNIX_EPOCH).ok()?;
    let secs = i64::try_from(since.as_secs()).ok()?;
    let (y, m, d) = crate::stats::time::civil_from_days(secs.div_euclid(86_400));
    if y > 9999 {
        return None;
    }
    let s = secs.rem_euclid(86_400);
    let mut put = |at: usize, n: i64, width: usize| {
        let mut n = n;
        for k in (0..width).rev() {
            out[at + k] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, y, 4);
    put(5, i64::from(m), 2);
    put(8, i64::from(d), 2);
    put(11, s / 3600, 2);
    put(14, s / 60 % 60, 2);
    put(17, s % 60, 2);
    put(20, i64::from(since.subsec_micros()), 6);
    for (i, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':'), (19, b'.'), (26, b'Z')] {
        out[i] = c;
    }
    Some(&out[..])
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::log_fields::FastFields;
    use crate::log_fields::tests::Buf;

    fn stamp(at: SystemTime) -> String {
        let mut out = [0u8; TIMESTAMP_LEN];
        timestamp(at, &mut out).map(|t| String::from_utf8(t.to_vec()).expect("ascii")).unwrap_or_default()
    }

    #[test]
    fn timestamps_are_the_default_timers() {
        // Checked against `date -u -d @SECONDS +%Y-%m-%dT%H:%M:%S`.
        for (secs, micros, text) in [
            (0, 0, "1970-01-01T00:00:00.000000Z"),
            (951_782_400, 1, "2000-02-29T00:00:00.000001Z"),
            (1_733_356_799, 999_999, "2024-12-04T23:59:59.999999Z"),
            (1_796_476_954, 390_982, "2026-12-05T13:22:34.390982Z"),
            (4_102_444_800, 500_000, "2100-01-01T00:00:00.500000Z"),
            (253_402_300_799, 0, "9999-12-31T23:59:59.000000Z"),
        ] {
            let at = UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_micros(micros);
            assert_eq!(stamp(at), text);
        }
        // Outside 1970-9999 the default timer writes it.
        assert_eq!(stamp(UNIX_EPOCH + Duration::from_secs(253_402_300_800)), "");
        assert_eq!(stamp(UNIX_EPOCH - Duration::from_secs(1)), "");
    }

    /// Every level, targets, messages and fields through the default format and through ours.
    #[test]
    fn lines_are_the_default_formats_byte_for_byte() {
        let events = || {
            tracing::trace!(n = 1u64, "trace");
            tracing::debug!(n = 2u64, "debug");
            tracing::info!(request_id = %"hr-1", latency_ms = 0.25, error = "", "request");
            tracing::warn!(target: "some::other::target", "a warning");
            tracing::error!(status = 502u16, "an error");
            tracing::info!(only = true);
        };
        let run = |fast: bool| {
            let buf = Buf::default();
            let builder = tracing_subscriber::fmt()
                .with_max_level(Level::TRACE)
                .with_writer(buf.clone())
                .with_ansi(false)
                .fmt_fields(FastFields);
            let before = SystemTime::now();
            if fast {
                tracing::subscriber::with_default(
                    builder.event_format(FastFormat::default()).finish(),
                    events,
                );
            } else {
                tracing::subscriber::with_default(builder.finish(), events);
            }
            let after = SystemTime::now();
            let text = String::from_utf8(buf.0.lock().expect("lock").clone()).expect("utf-8");
            // The timestamps are read from the clock: each lies between the two readings (the
            // format's fixed width sorts as time does), the rest of the line must be equal.
            let (low, high) = (stamp(before), stamp(after));
            let rest: Vec<String> = text
                .lines()
                .map(|line| {
                    let (time, rest) = line.split_at(TIMESTAMP_LEN);
                    assert!(low.as_str() <= time && time <= high.as_str(), "{time} not in {low}..{high}");
                    rest.to_owned()
                })
                .collect();
            (rest, text.ends_with('\n'))
        };
        let (default, fast) = (run(false), run(true));
        assert_eq!(default.0.len(), 6, "{default:?}");
        assert_eq!(fast, default);
        // An open span: the default format writes the line (with the span's name).
        let buf = Buf::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(buf.clone())
            .with_ansi(false)
            .event_format(FastFormat::default())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("outer", id = 7u64);
            let _in = span.enter();
            tracing::info!("inside");
        });
        let text = String::from_utf8(buf.0.lock().expect("lock").clone()).expect("utf-8");
        assert!(text.contains("  INFO outer{id=7}: headroom_proxy::log_format::tests: inside\n"), "{text}");
    }
}
