//! Finding secrets: every detector reports byte spans, overlapping spans merge, and each span
//! is replaced by a mask naming its kind.

use crate::{config, tokens};

/// A secret found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Byte range in the input.
    pub start: usize,
    /// End of the range (exclusive).
    pub end: usize,
    /// What it is, e.g. `aws-access-key`.
    pub kind: &'static str,
}

/// The mask that replaces a secret of `kind`.
pub fn mask(kind: &str) -> String {
    format!("[secret: {kind} masked]")
}

/// Mask every secret in `text`; returns the new text and what was masked (in order).
pub fn redact(text: &str) -> (String, Vec<Found>) {
    let mut found = Vec::new();
    tokens::private_keys(text, &mut found);
    tokens::prefixed(text, &mut found);
    tokens::jwts(text, &mut found);
    tokens::bearer(text, &mut found);
    config::url_passwords(text, &mut found);
    config::assignments(text, &mut found);
    found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    // The first (outermost) span wins where spans overlap.
    let mut kept: Vec<Found> = Vec::new();
    for f in found {
        if kept.last().is_some_and(|k| f.start < k.end) {
            continue;
        }
        kept.push(f);
    }
    if kept.is_empty() {
        return (text.to_owned(), kept);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in &kept {
        out.push_str(&text[at..f.start]);
        out.push_str(&mask(f.kind));
        at = f.end;
    }
    out.push_str(&text[at..]);
    (out, kept)
}

/// Bytes that may be part of a token.
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// The end of the run of bytes satisfying `ok` from `from`.
pub(crate) fn run_end(text: &str, from: usize, ok: impl Fn(u8) -> bool) -> usize {
    text.as_bytes()[from..].iter().position(|&b| !ok(b)).map_or(text.len(), |n| from + n)
}

/// True when `at` starts a word (the byte before it is not part of a token).
pub(crate) fn word_start(text: &str, at: usize) -> bool {
    at == 0 || !is_token_byte(text.as_bytes()[at - 1])
}
