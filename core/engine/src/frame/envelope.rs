//! JSON envelopes: a tool result that is a small JSON object around the real output,
//! `{"returncode": 0, "output": "..."}` (mini-swe-agent's tool mode), `{"output": "...",
//! "metadata": {...}}` (Codex's older `shell`), `{"stdout": ..., "stderr": ...}`. The output
//! field is unwrapped; the bytes around its string literal are kept exactly.

use crate::request::raw;

/// Fields that hold the output, in order of preference when several are strings.
const OUTPUT_FIELDS: &[&str] = &["output", "stdout", "content", "text", "result", "stderr"];
/// More fields than this: a data record, not an envelope.
const MAX_FIELDS: usize = 8;
/// The output must be at least this share of the envelope's bytes.
const MIN_SHARE: f64 = 0.5;

/// `(head, decoded output, tail)` where `head` and `tail` are the envelope's bytes around the
/// output's string literal.
pub(super) fn split(text: &str) -> Option<(&str, String, &str)> {
    let trimmed = text.trim();
    if !(trimmed.starts_with('{') && trimmed.ends_with('}')) {
        return None;
    }
    // Only an object naming an output field is worth parsing (JSON outputs are often large).
    if !OUTPUT_FIELDS.iter().any(|f| trimmed.contains(&format!("\"{f}\""))) {
        return None;
    }
    let root = raw::parse(text)?;
    let obj = raw::Object::parse(root)?;
    if obj.fields().count() > MAX_FIELDS {
        return None;
    }
    let (field, value) = OUTPUT_FIELDS
        .iter()
        .filter_map(|name| obj.get(name).and_then(|v| raw::as_str(v).map(|s| (v, s))))
        .max_by_key(|(_, s)| s.len())?;
    if (value.len() as f64) < MIN_SHARE * text.len() as f64 {
        return None;
    }
    let span = raw::span(text, field);
    Some((&text[..span.start], value.into_owned(), &text[span.end..]))
}
