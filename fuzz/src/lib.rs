//! What every fuzz target checks, as plain functions: libFuzzer calls them from
//! `fuzz_targets/` (`just fuzz`), and `tests/replay.rs` runs them over every committed input
//! (the seeds, and each input that once found a bug) as an ordinary test.
//!
//! Each check panics on a broken property; libFuzzer reports a panic as a crash and saves the
//! input. Properties: no panic, bounded time (libFuzzer's `-timeout`, and a budget checked
//! here), determinism, never larger, valid JSON out, untouched bytes untouched.

use std::time::{Duration, Instant};

use headroom_core::{ContentKind, Dialect, Mode, Options};
use serde_json::value::RawValue;

/// The SSE parser the proxy runs, compiled here as it is (it depends on nothing of the proxy).
#[path = "../../host-native/proxy/src/retrieval/sse.rs"]
pub mod sse;

/// What one input may take, far above any real request (the proxy's own compression budget
/// is 250 ms): past it the input is reported as a hang.
const BUDGET: Duration = Duration::from_secs(2);

fn count(text: &str) -> u32 {
    headroom_tokenizer::O200k::count(text)
}

/// The tokenizer's tables load on first use (seconds in an instrumented build): before the
/// clock starts, so the budget measures the engine.
fn warm() {
    static WARM: std::sync::Once = std::sync::Once::new();
    WARM.call_once(headroom_tokenizer::O200k::warm_up);
}

/// A request body in any dialect and mode: the first byte chooses them, the rest is the body.
pub fn request(data: &[u8]) {
    let Some((&choice, body)) = data.split_first() else { return };
    let dialect =
        [Dialect::AnthropicMessages, Dialect::OpenAiChat, Dialect::OpenAiResponses][usize::from(choice % 3)];
    let mut opts = Options {
        mode: if choice & 4 == 0 { Mode::Cache } else { Mode::Token },
        min_tokens: if choice & 8 == 0 { 20 } else { 200 },
        ..Options::default()
    };
    if choice & 16 != 0 {
        opts.context_limit = Some(2000);
    }
    warm();
    let started = Instant::now();
    let first = headroom_core::compress_request(dialect, body, &opts, &count);
    assert!(started.elapsed() < BUDGET, "took {:?}", started.elapsed());
    let again = headroom_core::compress_request(dialect, body, &opts, &count);
    assert_eq!(format!("{first:?}"), format!("{again:?}"), "not deterministic");
    let Ok(outcome) = first else { return };
    let Some(new) = outcome.body else { return };
    let old = std::str::from_utf8(body).expect("a rewritten body was UTF-8");
    let new = std::str::from_utf8(&new).expect("the engine writes UTF-8");
    assert!(serde_json::from_str::<serde_json::Value>(new).is_ok(), "the rewrite is not JSON: {new}");
    for block in &outcome.report {
        assert!(block.tokens_after <= block.tokens_before, "a block grew: {block:?}");
    }
    untouched_members(old, new);
}

/// Every top-level member the engine has no business with is byte-identical, in order.
fn untouched_members(old: &str, new: &str) {
    const REWRITTEN: [&str; 4] = ["messages", "input", "system", "tools"];
    let parse = |s: &str| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(s).ok();
    let raw = |s| serde_json::from_str::<std::collections::BTreeMap<String, Box<RawValue>>>(s).ok();
    let (Some(_), Some(before), Some(after)) = (parse(old), raw(old), raw(new)) else { return };
    for (name, value) in &before {
        if REWRITTEN.contains(&name.as_str()) {
            continue;
        }
        let kept = after.get(name).map(|v| v.get());
        assert_eq!(kept, Some(value.get()), "member {name} changed");
    }
}

/// Any text through every transform, with each kind hint and without.
pub fn content(data: &[u8]) {
    let Some((&choice, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let kinds = [
        None,
        Some(ContentKind::Json),
        Some(ContentKind::Log),
        Some(ContentKind::Search),
        Some(ContentKind::Diff),
        Some(ContentKind::Code),
        Some(ContentKind::StackTrace),
        Some(ContentKind::TestOutput),
        Some(ContentKind::Listing),
        Some(ContentKind::Prose),
    ];
    let kind = kinds[usize::from(choice) % kinds.len()].clone();
    let opts = Options { min_tokens: 1 + u32::from(choice / 10), ..Options::default() };
    warm();
    let started = Instant::now();
    let first = headroom_core::compress_content(&text, kind.clone(), &opts, &count);
    assert!(started.elapsed() < BUDGET, "took {:?}", started.elapsed());
    let again = headroom_core::compress_content(&text, kind, &opts, &count);
    assert_eq!(first, again, "not deterministic");
    if let Some(out) = &first.text {
        assert!(first.tokens_after < first.tokens_before, "not smaller: {first:?}");
        assert!(count(out) <= count(&text), "larger than the input");
    }
}

/// Any bytes, cut into chunks anywhere (the first byte chooses the cuts): the events' raw
/// bytes are exactly the input (nothing lost, nothing invented), whatever the cuts.
pub fn sse(data: &[u8]) {
    let Some((&step, bytes)) = data.split_first() else { return };
    let step = usize::from(step).max(1);
    let whole = events(bytes, &[bytes.len().max(1)]);
    let cuts: Vec<usize> = (0..bytes.len()).map(|i| 1 + (i * step) % 17).collect();
    let chunked = events(bytes, &cuts);
    assert_eq!(whole, chunked, "the cuts changed the events");
    let joined: Vec<u8> = whole.iter().flat_map(|e| e.raw.iter().copied()).collect();
    let rest_at = joined.len();
    assert_eq!(&bytes[..rest_at], &joined[..], "the events are not the input");
    for event in &whole {
        assert!(event.raw.len() <= bytes.len());
    }
}

fn events(bytes: &[u8], cuts: &[usize]) -> Vec<sse::Event> {
    let mut parser = sse::Parser::default();
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < bytes.len() {
        let n = cuts[i % cuts.len()].min(bytes.len() - at);
        out.extend(parser.push(&bytes[at..at + n]));
        at += n;
        i += 1;
    }
    out.extend(parser.finish());
    out
}
