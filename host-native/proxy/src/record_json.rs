//! A request's record written as JSON by hand: the request log writes one line per request,
//! and serde's generic serialiser (a call per field through its traits, a formatter per
//! number) cost more than the rest of the log path. The output is byte for byte what
//! `serde_json::to_writer` writes for [`Record`] (field order, escapes, number formats; a test
//! compares the two), so the documented line does not change.

use crate::accounting::{Bill, Record, TransformTokens, Usage};

/// Append `r` as a JSON object, without its closing brace (the log line adds its own fields).
pub fn open_record(out: &mut Vec<u8>, r: &Record) {
    out.extend_from_slice(b"{\"request_id\":");
    string(out, &r.request_id);
    out.extend_from_slice(b",\"at_ms\":");
    uint(out, r.at_ms);
    out.extend_from_slice(b",\"provider\":");
    string(out, r.provider);
    out.extend_from_slice(b",\"path\":");
    string(out, r.path);
    out.extend_from_slice(b",\"model\":");
    string(out, &r.model);
    out.extend_from_slice(b",\"key_scope\":");
    string(out, &r.key_scope);
    out.extend_from_slice(b",\"session\":");
    opt_string(out, r.session.as_deref());
    out.extend_from_slice(b",\"status\":");
    uint(out, u64::from(r.status));
    out.extend_from_slice(b",\"streaming\":");
    boolean(out, r.streaming);
    out.extend_from_slice(b",\"bypass\":");
    boolean(out, r.bypass);
    out.extend_from_slice(b",\"tokens_before\":");
    uint(out, r.tokens_before);
    out.extend_from_slice(b",\"tokens_after\":");
    uint(out, r.tokens_after);
    out.extend_from_slice(b",\"tokens_saved\":");
    uint(out, r.tokens_saved);
    out.extend_from_slice(b",\"transforms\":[");
    for (i, t) in r.transforms.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        transform(out, t);
    }
    out.extend_from_slice(b"],\"compression_failed\":");
    boolean(out, r.compression_failed);
    out.extend_from_slice(b",\"compression_ms\":");
    float(out, r.compression_ms);
    out.extend_from_slice(b",\"overhead_ms\":");
    float(out, r.overhead_ms);
    out.extend_from_slice(b",\"ttfb_ms\":");
    match r.ttfb_ms {
        Some(v) => float(out, v),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"latency_ms\":");
    float(out, r.latency_ms);
    out.extend_from_slice(b",\"retrieval_rounds\":");
    uint(out, u64::from(r.retrieval_rounds));
    out.extend_from_slice(b",\"usage\":");
    match &r.usage {
        Some(u) => usage(out, u),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"bill\":");
    match &r.bill {
        Some(b) => bill(out, b),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"cache_break\":");
    opt_string(out, r.cache_break);
    out.extend_from_slice(b",\"error_kind\":");
    opt_string(out, r.error_kind);
    out.extend_from_slice(b",\"client_aborted\":");
    boolean(out, r.client_aborted);
    out.extend_from_slice(b",\"cache_hit\":");
    boolean(out, r.cache_hit);
}

fn transform(out: &mut Vec<u8>, t: &TransformTokens) {
    out.extend_from_slice(b"{\"name\":");
    string(out, &t.name);
    out.extend_from_slice(b",\"blocks\":");
    uint(out, u64::from(t.blocks));
    out.extend_from_slice(b",\"tokens_before\":");
    uint(out, t.tokens_before);
    out.extend_from_slice(b",\"tokens_after\":");
    uint(out, t.tokens_after);
    out.extend_from_slice(b",\"ms\":");
    float(out, t.ms);
    out.push(b'}');
}

fn usage(out: &mut Vec<u8>, u: &Usage) {
    out.extend_from_slice(b"{\"uncached_input\":");
    uint(out, u.uncached_input);
    out.extend_from_slice(b",\"cache_read\":");
    uint(out, u.cache_read);
    out.extend_from_slice(b",\"cache_write_5m\":");
    uint(out, u.cache_write_5m);
    out.extend_from_slice(b",\"cache_write_1h\":");
    uint(out, u.cache_write_1h);
    out.extend_from_slice(b",\"output\":");
    uint(out, u.output);
    out.extend_from_slice(b",\"reasoning\":");
    uint(out, u.reasoning);
    out.push(b'}');
}

fn bill(out: &mut Vec<u8>, b: &Bill) {
    out.extend_from_slice(b"{\"actual\":");
    usage(out, &b.actual);
    out.extend_from_slice(b",\"direct\":");
    usage(out, &b.direct);
    out.extend_from_slice(b",\"billed\":");
    float(out, b.billed);
    out.extend_from_slice(b",\"billed_direct\":");
    float(out, b.billed_direct);
    out.push(b'}');
}

/// An unsigned integer.
pub fn uint(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A float as serde_json writes it (its own number formatter, called directly), `null` when
/// not finite.
pub fn float(out: &mut Vec<u8>, v: f64) {
    use serde_json::ser::Formatter as _;
    if !v.is_finite() || serde_json::ser::CompactFormatter.write_f64(out, v).is_err() {
        out.extend_from_slice(b"null");
    }
}

fn boolean(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

fn opt_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// A JSON string with serde_json's escapes: `"` and `\`, the short forms of backspace, form
/// feed, newline, carriage return and tab, `\u00XX` for other control characters; everything
/// else (non-ASCII included) as it is.
pub fn string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Nearly every string here needs no escape: checked in one pass without a branch per
    // byte (it vectorises), then copied whole.
    let plain = !bytes.iter().fold(false, |any, &b| any | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if plain {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    out.push(b'"');
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x0c => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0..=0x1f => b'u',
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.push(b'\\');
        out.push(short);
        if short == b'u' {
            out.extend_from_slice(&[
                b'0',
                b'0',
                crate::hex::DIGITS[usize::from(b >> 4)],
                crate::hex::DIGITS[usize::from(b & 0xf)],
            ]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            request_id: crate::accounting::RequestId::from("hr-0123abcd-1f").expect("fits"),
            at_ms: 1_764_900_000_123,
            provider: "anthropic",
            path: "/v1/messages",
            model: "claude \"sonnet\"\\4.5\u{1}\u{8}\u{c}\n\r\t\u{1f}é\u{2028}".into(),
            key_scope: "k-9f8e".into(),
            session: Some("s-1".into()),
            status: 529,
            streaming: true,
            bypass: false,
            tokens_before: 123_456,
            tokens_after: 7,
            tokens_saved: 123_449,
            transforms: vec![
                TransformTokens {
                    name: "log:templates".into(),
                    blocks: 3,
                    tokens_before: 100,
                    tokens_after: 5,
                    ms: 0.1 + 0.2,
                },
                TransformTokens { name: "json".into(), ms: 1e-7, ..TransformTokens::default() },
            ],
            compression_failed: true,
            compression_ms: 12.0,
            overhead_ms: 1e21,
            ttfb_ms: Some(f64::NAN),
            latency_ms: 0.000_123_4,
            retrieval_rounds: 2,
            usage: Some(Usage { uncached_input: 1, cache_read: u64::MAX, output: 9, ..Usage::default() }),
            bill: Some(Bill {
                actual: Usage { cache_write_1h: 4, reasoning: 2, ..Usage::default() },
                direct: Usage { cache_write_5m: 8, ..Usage::default() },
                billed: 1234.5,
                billed_direct: f64::INFINITY,
            }),
            cache_break: Some("proxy"),
            error_kind: Some("overloaded"),
            client_aborted: true,
            cache_hit: false,
            request_body: bytes::Bytes::from_static(b"{\"never\":\"written\"}"),
            body_valid: true,
        }
    }

    /// The hand-written record is what serde writes for it, byte for byte, for every shape a
    /// field can take (present and absent options, escapes, odd floats, empty lists).
    #[test]
    fn the_record_is_written_as_serde_writes_it() {
        let full = record();
        let empty = Record {
            session: None,
            transforms: Vec::new(),
            ttfb_ms: None,
            usage: None,
            bill: None,
            cache_break: None,
            error_kind: None,
            model: String::new(),
            ..record()
        };
        for r in [full, empty] {
            let mut ours = Vec::new();
            open_record(&mut ours, &r);
            ours.push(b'}');
            let theirs = serde_json::to_vec(&r).expect("serde");
            assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(theirs).unwrap());
        }
    }

    #[test]
    fn every_control_character_is_escaped_as_serde_escapes_it() {
        let all: String = (0u8..0x80).map(char::from).chain("é😀".chars()).collect();
        let mut ours = Vec::new();
        string(&mut ours, &all);
        assert_eq!(ours, serde_json::to_vec(&all).unwrap());
    }
}
