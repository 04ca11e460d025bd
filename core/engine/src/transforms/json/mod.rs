//! JSON tool outputs (an object, an array of records, or NDJSON).
//!
//! Lossless first: arrays of similar records become tables (constant fields hoisted, one row
//! of cells per record, see [`table`]) and everything else is laid out compactly, one member
//! or record per line when it does not fit on one. Values are re-emitted as the same JSON:
//! numbers keep their source digits (`arbitrary_precision`; serde_json only respells `1e3` as
//! `1e+3`), keys their order (`preserve_order`), strings their text (escapes like `\u4e2d` come
//! out as the character, which is cheaper). When
//! lossy steps are allowed, arrays of more than [`select::LOSSY_MIN_ITEMS`] items keep their
//! ends, anomalies, errors, rare values and query matches; each dropped run becomes one marker
//! line standing where the items were.

mod render;
mod select;
mod table;
#[cfg(test)]
mod tests;

use serde_json::Value;

use super::{Ctx, Rewrite};

/// Compress `text`; `None` when there is nothing worth doing.
pub fn compress(text: &str, ctx: &Ctx) -> Option<Rewrite> {
    let body = text.trim();
    let (value, ndjson) = match serde_json::from_str::<Value>(body) {
        Ok(value @ (Value::Array(_) | Value::Object(_))) => (value, false),
        Ok(_) => return None,
        Err(_) => (parse_ndjson(body)?, true),
    };
    let (mut out, mut dropped, mut tabled) = render(&value, ndjson, ctx);
    if dropped {
        // Dropping items must buy a real saving over the lossless form, else keep them all.
        let full = render(&value, ndjson, &Ctx { lossy: false, ..*ctx });
        if out.len() * 4 > full.0.len() * 3 {
            (out, dropped, tabled) = full;
        }
    }
    if !dropped && out.len() >= text.len() {
        return None;
    }
    let step = if tabled { "json:table" } else { "json:compact" };
    Some(if dropped { Rewrite::lossy(out, format!("{step}+sample")) } else { Rewrite::lossless(out, step) })
}

/// The rendered text, whether items were dropped, and whether a table was made.
fn render(value: &Value, ndjson: bool, ctx: &Ctx) -> (String, bool, bool) {
    let mut renderer = render::Renderer::new(ctx);
    let out = renderer.document(value, ndjson);
    (out, renderer.dropped, renderer.tabled)
}

/// NDJSON: at least two lines, each one JSON object (blank lines ignored).
fn parse_ndjson(body: &str) -> Option<Value> {
    let mut records = Vec::new();
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match serde_json::from_str::<Value>(line) {
            Ok(record @ Value::Object(_)) => records.push(record),
            _ => return None,
        }
    }
    (records.len() >= 2).then_some(Value::Array(records))
}
