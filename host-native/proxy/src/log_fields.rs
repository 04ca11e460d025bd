//! The text log's fields, written as `tracing-subscriber`'s default formatter writes them, at a
//! fraction of its cost: the proxy logs one line of a dozen fields per request, and the
//! default writes every value through `core::fmt` (`name=value` as three formatted pieces).
//! Integers, booleans and plain strings are written directly (`itoa`), floats and other values
//! by their `Debug` alone (no styling wrappers around the name); the message, errors, strings
//! that need escapes and colours go to the default visitor, so the output is byte for byte the
//! default's (a test compares the two). Floats keep `Debug`: `ryu`'s shortest digits differ
//! from it in the last place for some 16- and 17-digit values.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::{DefaultVisitor, Writer};

/// The field formatter for the text log.
#[derive(Debug, Default, Clone, Copy)]
pub struct FastFields;

impl<'a> MakeVisitor<Writer<'a>> for FastFields {
    type Visitor = FastVisitor<'a>;

    fn make_visitor(&self, target: Writer<'a>) -> Self::Visitor {
        FastVisitor { writer: target, is_empty: true, result: Ok(()) }
    }
}

/// The visitor of [`FastFields`].
pub struct FastVisitor<'a> {
    writer: Writer<'a>,
    is_empty: bool,
    result: fmt::Result,
}

impl FastVisitor<'_> {
    /// Whether `field` must go through the default visitor whatever its value: the message,
    /// raw identifiers and `log.` metadata have rules of their own, and colours change how
    /// a name is written.
    fn special(&self, field: &Field) -> bool {
        let name = field.name();
        self.writer.has_ansi_escapes()
            || name == "message"
            || name.starts_with("r#")
            || name.starts_with("log.")
    }

    fn default_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let result = {
            let mut v = DefaultVisitor::new(self.writer.by_ref(), self.is_empty);
            v.record_debug(field, value);
            v.finish()
        };
        self.done(result);
    }

    fn default_str(&mut self, field: &Field, value: &str) {
        let result = {
            let mut v = DefaultVisitor::new(self.writer.by_ref(), self.is_empty);
            v.record_str(field, value);
            v.finish()
        };
        self.done(result);
    }

    fn done(&mut self, result: fmt::Result) {
        // The default visitor writes every field it is given (it skips `log.` metadata only
        // with `tracing-subscriber`'s `tracing-log` feature, which this build leaves off).
        self.is_empty = false;
        self.result = result;
    }

    /// `name=` after the separating space.
    fn name(&mut self, field: &Field) -> fmt::Result {
        if self.is_empty {
            self.is_empty = false;
        } else {
            self.writer.write_char(' ')?;
        }
        self.writer.write_str(field.name())?;
        self.writer.write_char('=')
    }

    fn plain(&mut self, field: &Field, value: &str) {
        self.result = self.name(field).and_then(|()| self.writer.write_str(value));
    }
}

/// `{:?}` of `v` written by hand when `v` is the double nearest a decimal of at most three
/// places (the proxy logs milliseconds rounded to microseconds), below 10^12 and not zero:
/// there, three-place decimals fall on distinct doubles, so the shortest digits that read
/// back as `v` are that decimal's own. `None` for any other value (`Debug` writes it).
fn short_decimal(v: f64, out: &mut [u8; 24]) -> Option<&str> {
    if !v.is_finite() || v == 0.0 || v.abs() >= 1e12 {
        return None;
    }
    let thousandths = (v.abs() * 1000.0).round();
    if thousandths / 1000.0 != v.abs() {
        return None;
    }
    // Below 10^15: exact as an integer.
    let n = thousandths as u64;
    let mut fraction = n % 1000;
    let mut places = 3;
    while places > 1 && fraction.is_multiple_of(10) {
        fraction /= 10;
        places -= 1;
    }
    let mut len = 0;
    let mut put = |bytes: &[u8]| {
        out[len..len + bytes.len()].copy_from_slice(bytes);
        len += bytes.len();
    };
    if v < 0.0 {
        put(b"-");
    }
    put(itoa::Buffer::new().format(n / 1000).as_bytes());
    put(b".");
    let mut frac = [b'0'; 3];
    for k in (0..places).rev() {
        frac[k] = b'0' + (fraction % 10) as u8;
        fraction /= 10;
    }
    put(&frac[..places]);
    std::str::from_utf8(&out[..len]).ok()
}

/// Whether `{:?}` of `s` is `s` in quotes: printable ASCII without `"` or `\`.
fn plain_str(s: &str) -> bool {
    s.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

impl Visit for FastVisitor<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        if self.result.is_err() {
            return;
        }
        if self.special(field) {
            return self.default_debug(field, &value);
        }
        let mut digits = [0u8; 24];
        self.result = self.name(field).and_then(|()| match short_decimal(value, &mut digits) {
            Some(text) => self.writer.write_str(text),
            None => write!(self.writer, "{value:?}"),
        });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.result.is_err() {
            return;
        }
        if self.special(field) {
            return self.default_debug(field, &value);
        }
        self.plain(field, itoa::Buffer::new().format(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.result.is_err() {
            return;
        }
        if self.special(field) {
            return self.default_debug(field, &value);
        }
        self.plain(field, itoa::Buffer::new().format(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.result.is_err() {
            return;
        }
        if self.special(field) {
            return self.default_debug(field, &value);
        }
        self.plain(field, if value { "true" } else { "false" });
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        if self.special(field) || !plain_str(value) {
            return self.default_str(field, value);
        }
        self.result = self.name(field).and_then(|()| {
            self.writer.write_char('"')?;
            self.writer.write_str(value)?;
            self.writer.write_char('"')
        });
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        if self.result.is_err() {
            return;
        }
        let result = {
            let mut v = DefaultVisitor::new(self.writer.by_ref(), self.is_empty);
            v.record_error(field, value);
            v.finish()
        };
        self.done(result);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.result.is_err() {
            return;
        }
        if self.special(field) {
            return self.default_debug(field, value);
        }
        self.result = self.name(field).and_then(|()| write!(self.writer, "{value:?}"));
    }
}

impl VisitOutput<fmt::Result> for FastVisitor<'_> {
    fn finish(self) -> fmt::Result {
        self.result
    }
}

impl VisitFmt for FastVisitor<'_> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        &mut self.writer
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// A writer the tests' subscribers write their lines into.
    #[derive(Clone, Default)]
    pub(crate) struct Buf(pub(crate) Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buf {
        type Writer = Buf;
        fn make_writer(&'a self) -> Buf {
            self.clone()
        }
    }

    #[derive(Debug)]
    struct Failed;
    impl fmt::Display for Failed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("it failed")
        }
    }
    impl std::error::Error for Failed {}

    /// The same events through the default formatter and through ours.
    fn both(events: impl Fn()) -> (String, String) {
        let run = |fast: bool| {
            let buf = Buf::default();
            let builder = tracing_subscriber::fmt().with_writer(buf.clone()).with_ansi(false).without_time();
            if fast {
                tracing::subscriber::with_default(builder.fmt_fields(FastFields).finish(), &events);
            } else {
                tracing::subscriber::with_default(builder.finish(), &events);
            }
            String::from_utf8(buf.0.lock().expect("lock").clone()).expect("utf-8")
        };
        (run(false), run(true))
    }

    #[test]
    fn short_decimals_are_written_as_debug_writes_them() {
        let mut buf = [0u8; 24];
        let mut seen = 0;
        let mut check = |v: f64| {
            if let Some(text) = short_decimal(v, &mut buf) {
                assert_eq!(text, format!("{v:?}"), "{}", v.to_bits());
                seen += 1;
            }
        };
        // Every three-place value up to 100, every microsecond-rounded one (as the proxy logs
        // them) of a spread of magnitudes, and values the path must leave to `Debug`.
        for n in 0..100_000u64 {
            check(n as f64 / 1000.0);
            check(-(n as f64) / 1000.0);
        }
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let ms = (x >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi((x % 16) as i32 - 3);
            check((ms * 1000.0).round() / 1000.0);
            check(ms);
            check(f64::from_bits(x));
        }
        for v in [1e12 - 0.001, 999_999_999_999.999, 1e12, 0.0005, 0.1 + 0.2, 1e-7, 5e-324] {
            check(v);
        }
        assert!(seen > 300_000, "{seen}");
        assert_eq!(short_decimal(0.1 + 0.2, &mut buf), None);
        assert_eq!(short_decimal(0.0, &mut buf), None);
        assert_eq!(short_decimal(12.5, &mut buf), Some("12.5"));
    }

    #[test]
    fn lines_are_the_default_formatters_byte_for_byte() {
        let floats = [
            0.0,
            -0.0,
            1e-4,
            9.99e-5,
            1e-5,
            0.1 + 0.2,
            1.0,
            12.5,
            1e15,
            9.999e15,
            1e16,
            1e17,
            1e21,
            1e-7,
            -3.25,
            -1e-5,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            f64::MAX,
            0.012_345_6,
            f64::from_bits(0x430b_05a7_af16_e882),
            0.412,
            1234.5,
            -0.001,
            999_999_999_999.999,
        ];
        let strings =
            ["openai", "", "a \"quoted\" one", "back\\slash", "tab\there", "é", "\u{1b}[31mred", "it's"];
        let (default, fast) = both(|| {
            for f in floats {
                tracing::info!(latency_ms = f, "request");
            }
            for s in strings {
                tracing::info!(provider = s, model = %s, path = ?s, "request");
            }
            tracing::info!(
                request_id = %"hr-1",
                provider = "anthropic",
                status = 200u16,
                streaming = false,
                tokens_saved = 123_456u64,
                delta = -5i64,
                big = u128::MAX,
                latency_ms = 0.512,
                error = "",
                "request"
            );
            tracing::info!(r#type = "raw", "with a raw name");
            tracing::info!(message = "a message field", other = 1u64);
            tracing::warn!(error = &Failed as &dyn std::error::Error, "an error value");
            tracing::info!("\u{1b}[31m escapes in the message");
            tracing::info!(first = 1u64, "{} formatted {:?}", "a", "b");
            tracing::info!(only = true);
            // Messages the filter escapes or leaves (C1 controls are U+0080 to U+009F only).
            for m in ["del \u{7f}", "bel \u{7}", "c1 \u{85} \u{9f}", "nbsp \u{a0} é \u{c2}", "tab\tnl\n"] {
                tracing::info!(n = 1u64, "{m}");
                tracing::info!(message = m);
            }
            // Long messages, values and lines.
            let long = "x".repeat(700);
            tracing::info!(a = 1u64, "{long}");
            tracing::info!(a = 1u64, v = ?long, w = %long, s = long.as_str(), "short");
            tracing::info!(
                a = "y".repeat(200).as_str(),
                b = "z".repeat(200).as_str(),
                c = 0.25,
                r#d = "raw in between",
                e = "w".repeat(200).as_str(),
                f = ?Some(3),
                "{}",
                "m".repeat(300)
            );
        });
        assert!(default.lines().count() >= floats.len() + strings.len() + 19, "{default}");
        assert_eq!(fast, default);
    }
}
