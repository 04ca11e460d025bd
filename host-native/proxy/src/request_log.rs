//! The request log (`--log-file`): one JSON line per request, written by its own thread from
//! a bounded buffer (`batch_writer`), so a slow disk never holds up a request; lines that do
//! not fit are dropped and counted (`/metrics`, `/stats`).
//!
//! A line carries what the record says, never content, keys or headers. With
//! `--log-full-messages` the request's messages are added, base64 images replaced by their
//! size and strings that look like API keys redacted.

use std::path::{Path, PathBuf};

use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::accounting::{Record, Sink};

/// Bytes waiting at most (several seconds of lines at any realistic rate).
const QUEUE_BYTES: usize = 16 << 20;

/// The writer's front.
pub struct RequestLog {
    out: crate::batch_writer::BatchWriter,
    full_messages: bool,
    /// `,"sdk":"..."` when `HEADROOM_SDK` is set.
    sdk_field: String,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
    path: PathBuf,
}

impl RequestLog {
    /// Open `path` for appending and start the writer thread.
    pub fn open(
        path: &Path,
        full_messages: bool,
        sdk: Option<&str>,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        let out = crate::batch_writer::BatchWriter::spawn(
            "headroom-request-log",
            Box::new(file),
            std::time::Duration::from_millis(50),
            QUEUE_BYTES,
        )?;
        let sdk_field = sdk.map_or_else(String::new, |s| format!(",\"sdk\":{}", Value::String(s.to_owned())));
        Ok(Self { out, full_messages, sdk_field, metrics, path: path.to_owned() })
    }

    /// Write out the lines waiting (at shutdown).
    pub fn flush(&self) {
        self.out.flush();
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.out.dropped()
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The log line of `r`, newline included: the record written straight to bytes
/// ([`crate::record_json`]: no intermediate tree, no generic serialiser; this runs once per
/// request) with `timestamp`, `cached_tokens` and, when asked, the request's `messages`
/// (from its body, made safe by [`content_json`]) appended. `messages` is the record's body.
pub fn line(out: &mut Vec<u8>, r: &Record, extra: &str, messages: Option<&[u8]>) {
    crate::record_json::open_record(out, r);
    out.extend_from_slice(b",\"timestamp\":\"");
    crate::stats::time::iso_into(out, r.at_ms / 1000);
    out.extend_from_slice(b"\",\"cached_tokens\":");
    match r.usage {
        Some(u) => crate::record_json::uint(out, u.cache_read),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(extra.as_bytes());
    if let Some(body) = messages {
        out.extend_from_slice(b",\"messages\":");
        content_json(out, body, r.body_valid);
    }
    out.extend_from_slice(b"}\n");
}

impl Sink for RequestLog {
    fn record(&self, r: &Record) {
        // One buffer per thread, reused: a line is about a kilobyte, more with the messages.
        thread_local! {
            static LINE: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(1024));
        }
        let messages = self.full_messages.then_some(&r.request_body[..]);
        let written = LINE.with_borrow_mut(|buf| {
            buf.clear();
            line(buf, r, &self.sdk_field, messages);
            let written = self.out.append(buf);
            // A huge body's buffer is not kept for the thread's life.
            if buf.capacity() > 64 << 10 {
                *buf = Vec::with_capacity(1024);
            }
            written
        });
        if !written {
            self.metrics.log_dropped.inc();
        }
    }
}

/// Bytes whose presence sends a body through [`content`] (something may need scrubbing; `\u`:
/// an escape could spell one of the others).
const SCRUB_TRIGGERS: [&str; 6] = ["base64", "sk-", "key-", "Bearer ", "data:", "\\u"];

/// Whether `body` holds any of [`SCRUB_TRIGGERS`]: one pass for all six (a conversation
/// runs to hundreds of kilobytes), by a searcher built once. Should it fail to build, every
/// body counts as holding one (the tree path scrubs whatever it holds).
fn may_need_scrubbing(body: &[u8]) -> bool {
    static SEARCHER: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> = std::sync::OnceLock::new();
    SEARCHER
        .get_or_init(|| aho_corasick::AhoCorasick::new(SCRUB_TRIGGERS).ok())
        .as_ref()
        .is_none_or(|s| s.is_match(body))
}

/// The parts of a request the log keeps, as serde picks them.
#[derive(serde::Deserialize)]
struct Parts<'a> {
    #[serde(borrow)]
    system: Option<&'a RawValue>,
    #[serde(borrow)]
    instructions: Option<&'a RawValue>,
    #[serde(borrow)]
    messages: Option<&'a RawValue>,
    #[serde(borrow)]
    input: Option<&'a RawValue>,
}

/// Their names, in [`Parts::by_serde`]'s order.
const NAMES: [&str; 4] = ["system", "instructions", "messages", "input"];

impl Parts<'_> {
    /// The parts of `body` read by serde (`None`: not an object serde reads).
    fn by_serde(body: &[u8]) -> Option<[Option<&str>; 4]> {
        let p: Parts<'_> = serde_json::from_slice(body).ok()?;
        Some([p.system, p.instructions, p.messages, p.input].map(|r| r.map(RawValue::get)))
    }
}

/// [`content`] as JSON, appended to `out`. A body with nothing to scrub (most) is not turned
/// into a tree and back: its parts are copied as they are. `valid`: the body was validated
/// as a JSON object when it arrived (it is not validated again).
fn content_json(out: &mut Vec<u8>, body: &[u8], valid: bool) {
    let clean = !may_need_scrubbing(body);
    // The parts picked by one walk of the top level; serde's struct where the walk declines.
    // A `null` part is left out, as serde reads it into `None`.
    let pick = if valid { crate::top_level::members_of_valid } else { crate::top_level::members };
    let parts = clean
        .then(|| match pick(body, NAMES) {
            Some(found) => Some(found.map(|raw| raw.filter(|r| *r != "null"))),
            None => Parts::by_serde(body),
        })
        .flatten();
    if let Some(parts) = parts {
        out.reserve(body.len() + 2);
        out.push(b'{');
        let parts = NAMES.into_iter().zip(parts);
        let mut first = true;
        for (name, raw) in parts.into_iter().filter_map(|(n, r)| Some((n, r?))) {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(b"\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            out.extend_from_slice(raw.as_bytes());
        }
        out.push(b'}');
        return;
    }
    if serde_json::to_writer(&mut *out, &content(body)).is_err() {
        out.extend_from_slice(b"null");
    }
}

/// The conversation parts of a request body, made safe to log.
fn content(body: &[u8]) -> Value {
    let Ok(mut v) = serde_json::from_slice::<Value>(body) else { return Value::Null };
    let mut out = serde_json::Map::new();
    for name in ["system", "instructions", "messages", "input"] {
        if let Some(part) = v.get_mut(name) {
            scrub(part);
            out.insert(name.into(), part.take());
        }
    }
    Value::Object(out)
}

/// Replace base64 payloads by their size and redact key-shaped strings, everywhere in `v`.
fn scrub(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let is_base64 = map.get("type").and_then(Value::as_str) == Some("base64");
            for (k, child) in map.iter_mut() {
                if is_base64 && k == "data" {
                    let n = child.as_str().map_or(0, str::len);
                    *child = json!(format!("[base64 omitted: {n} chars]"));
                } else {
                    scrub(child);
                }
            }
        }
        Value::Array(list) => list.iter_mut().for_each(scrub),
        Value::String(s) => {
            if s.starts_with("data:") && s.contains(";base64,") {
                *s = format!("[data URL omitted: {} chars]", s.len());
            } else {
                *s = redact_keys(s);
            }
        }
        _ => {}
    }
}

/// Words that look like provider keys (`sk-...`, `sk-ant-...`, `Bearer ...`) redacted.
pub fn redact_keys(s: &str) -> String {
    if !s.contains("sk-") && !s.contains("Bearer ") && !s.contains("key-") {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut bearer = false;
    for (i, word) in s.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let token = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '-' && c != '_');
        let keyish = token.len() >= 12
            && (token.starts_with("sk-") || token.starts_with("key-") || bearer)
            && token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        bearer = word == "Bearer";
        if keyish { out.push_str("[redacted]") } else { out.push_str(word) }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the log writes of `body`; the same whether or not it is known to be valid.
    fn json_of(body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        content_json(&mut out, body, false);
        if std::str::from_utf8(body).is_ok_and(|t| headroom_json::scan::validate(t).is_ok()) {
            let mut trusted = Vec::new();
            content_json(&mut trusted, body, true);
            assert_eq!(trusted, out, "{}", String::from_utf8_lossy(body));
        }
        out
    }

    #[test]
    fn images_become_sizes_and_keys_are_redacted() {
        let body = br#"{"messages":[{"role":"user","content":[{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAABBBB"}},
            {"type":"text","text":"my key is sk-ant-api03-abcdefghijklmnop ok"},
            {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}]}"#;
        let c = content(body).to_string();
        assert!(c.contains("[base64 omitted: 8 chars]"), "{c}");
        assert!(c.contains("[data URL omitted"), "{c}");
        assert!(!c.contains("abcdefghijklmnop"), "{c}");
        assert_eq!(redact_keys("use Bearer abcdefghijklmnopq now"), "use Bearer [redacted] now");
        assert_eq!(redact_keys("plain text"), "plain text");
        let fast = json_of(body);
        assert!(!String::from_utf8_lossy(&fast).contains("abcdefghijklmnop"));
        let escaped = br#"{"messages":[{"role":"user","content":"\u0073k-ant-api03-abcdefghijklmnop"}]}"#;
        assert!(!String::from_utf8_lossy(&json_of(escaped)).contains("abcdefghijklmnop"));
    }

    #[test]
    fn every_trigger_sends_a_body_to_the_scrubber() {
        // Short bodies and long ones, the trigger at either end.
        for pad in [0, 100, 256, 5000] {
            let words = "plain words, a sketch ".repeat(pad / 22);
            for trigger in SCRUB_TRIGGERS {
                for content in [format!("{trigger} {words}"), format!("{words}{trigger}")] {
                    let body = format!(r#"{{"messages":[{{"role":"user","content":"{content}"}}]}}"#);
                    assert!(may_need_scrubbing(body.as_bytes()), "{trigger} in {} bytes", body.len());
                }
            }
            let body = format!(r#"{{"messages":[{{"role":"user","content":"{words}"}}]}}"#);
            assert!(!may_need_scrubbing(body.as_bytes()), "{} bytes", body.len());
        }
    }

    #[test]
    fn the_walk_copies_what_serde_picks() {
        let by_serde = |body: &[u8]| {
            let parts = Parts::by_serde(body)?;
            let fields: Vec<String> = NAMES
                .iter()
                .zip(parts)
                .filter_map(|(name, raw)| raw.map(|raw| format!("\"{name}\":{raw}")))
                .collect();
            Some(format!("{{{}}}", fields.join(",")).into_bytes())
        };
        for body in [
            &br#"{"model":"m","input":"hi","system" : [ {"type":"text","text":"be brief"} ] ,"messages":[ 1 , {"a":"}"} ]}"#[..],
            br#" {"messages":null,"system":"s","instructions":"do it"} "#,
            br#"{"model":"m"}"#,
            br#"{}"#,
        ] {
            assert_eq!(Some(json_of(body)), by_serde(body), "{}", String::from_utf8_lossy(body));
        }
        // Where the walk declines (a part twice, which serde refuses too), the tree is logged.
        let twice = br#"{"messages":[1],"messages":[2]}"#;
        assert!(by_serde(twice).is_none());
        assert_eq!(serde_json::from_slice::<Value>(&json_of(twice)).unwrap(), content(twice));
    }

    #[test]
    fn a_clean_body_is_copied_as_the_tree_would_write_it() {
        let body = br#"{"model":"m","system":"be brief","messages":[{"role":"user","content":[{"type":"text","text":"hi \"there\""}]}],"max_tokens":5}"#;
        let fast: Value = serde_json::from_slice(&json_of(body)).unwrap();
        assert_eq!(fast, content(body));
        let none: Value = serde_json::from_slice(&json_of(br#"{"model":"m"}"#)).unwrap();
        assert_eq!(none, content(br#"{"model":"m"}"#));
    }
}
