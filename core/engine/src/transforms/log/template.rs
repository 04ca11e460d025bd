//! Drain-style template mining: variable tokens are masked, then lines of the same length
//! and first token are clustered when at least half of their constant tokens agree.

use std::collections::BTreeMap;

/// The wildcard that replaces a variable token.
pub(super) const WILD: &str = "<*>";

/// A cluster bucket is searched this far at most, so adversarial input stays linear.
const MAX_CANDIDATES: usize = 256;
/// Drain's similarity threshold, on constant positions only.
const SIMILARITY: f64 = 0.5;

/// Mask the variable tokens of `line`: anything with a digit (numbers, hex ids, uuids,
/// timestamps, IPs, versions, paths with digits), long hex words, and quoted values
/// (a quoted span of several words becomes one wildcard). `key=value` keeps its key.
pub(super) fn mask(line: &str) -> Vec<String> {
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let tok = tokens[i];
        if let Some(q) = tok.chars().next().filter(|c| matches!(c, '"' | '\'' | '`')) {
            let closes = |j: usize, t: &str| t.ends_with(q) && (j > i || t.len() > 1);
            if let Some(end) = (i..tokens.len().min(i + 16)).find(|&j| closes(j, tokens[j])) {
                out.push(WILD.to_owned());
                i = end + 1;
                continue;
            }
        }
        out.push(mask_token(tok));
        i += 1;
    }
    out
}

fn mask_token(tok: &str) -> String {
    let variable = |t: &str| {
        t.bytes().any(|b| b.is_ascii_digit()) || (t.len() >= 8 && t.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    if let Some((key, value)) = tok.split_once('=')
        && !key.is_empty()
        && !variable(key)
    {
        return if variable(value) || value.starts_with(['"', '\'']) {
            format!("{key}={WILD}")
        } else {
            tok.to_owned()
        };
    }
    if variable(tok) { WILD.to_owned() } else { tok.to_owned() }
}

/// The clusters found so far, in creation order (their ids).
#[derive(Default)]
pub(super) struct Clusters {
    templates: Vec<Vec<String>>,
    buckets: BTreeMap<(usize, String), Vec<usize>>,
}

impl Clusters {
    /// Put a masked line into the most similar cluster of its bucket (earliest on ties),
    /// or a new one; returns the cluster id.
    pub(super) fn assign(&mut self, masked: Vec<String>) -> usize {
        let key = (masked.len(), masked.first().cloned().unwrap_or_default());
        let bucket = self.buckets.entry(key).or_default();
        let mut best: Option<(usize, f64)> = None;
        for &id in bucket.iter().take(MAX_CANDIDATES) {
            let sim = similarity(&self.templates[id], &masked);
            if sim >= SIMILARITY && best.is_none_or(|(_, s)| sim > s) {
                best = Some((id, sim));
            }
        }
        match best {
            Some((id, _)) => {
                for (t, m) in self.templates[id].iter_mut().zip(&masked) {
                    if t != m {
                        *t = WILD.to_owned();
                    }
                }
                id
            }
            None => {
                let id = self.templates.len();
                self.templates.push(masked);
                bucket.push(id);
                id
            }
        }
    }

    /// The template of cluster `id`, tokens joined by single spaces.
    pub(super) fn template(&self, id: usize) -> String {
        self.templates[id].join(" ")
    }

    /// How many clusters exist.
    pub(super) fn len(&self) -> usize {
        self.templates.len()
    }
}

/// Share of agreeing positions among those constant in the template or the line. A constant
/// token against a template wildcard counts as a mismatch, as in Drain, so templates do not
/// generalise in a cascade until they match everything of their length.
fn similarity(template: &[String], masked: &[String]) -> f64 {
    let (mut constant, mut equal) = (0usize, 0usize);
    for (t, m) in template.iter().zip(masked) {
        if t == WILD && m == WILD {
            continue;
        }
        constant += 1;
        if t == m {
            equal += 1;
        }
    }
    if constant == 0 { 1.0 } else { equal as f64 / constant as f64 }
}

/// The first timestamp near the start of `line`: an ISO date with optional time and zone,
/// a syslog `Mon DD HH:MM:SS`, or a bare `HH:MM:SS[.fff]`.
pub(super) fn timestamp(line: &str) -> Option<&str> {
    let b = line.as_bytes();
    let limit = b.len().min(64);
    for i in 0..limit {
        if i > 0 && b[i - 1].is_ascii_alphanumeric() {
            continue;
        }
        if let Some(end) = iso(b, i) {
            return Some(&line[i..end]);
        }
        if b[i].is_ascii_alphabetic() {
            if let Some(end) = syslog(b, i) {
                return Some(&line[i..end]);
            }
        } else if let Some(end) = clock(b, i) {
            return Some(&line[i..end]);
        }
    }
    None
}

/// Bytes at `at` match `pat`, where `9` stands for any digit.
fn shape(b: &[u8], at: usize, pat: &[u8]) -> bool {
    b.len() >= at + pat.len()
        && pat.iter().zip(&b[at..]).all(|(p, c)| if *p == b'9' { c.is_ascii_digit() } else { p == c })
}

fn iso(b: &[u8], at: usize) -> Option<usize> {
    if !shape(b, at, b"9999-99-99") {
        return None;
    }
    let date_end = at + 10;
    match b.get(date_end) {
        Some(b'T' | b' ') => Some(clock(b, date_end + 1).unwrap_or(date_end)),
        _ => Some(date_end),
    }
}

fn clock(b: &[u8], at: usize) -> Option<usize> {
    if !shape(b, at, b"99:99:99") {
        return None;
    }
    let mut end = at + 8;
    if matches!(b.get(end), Some(b'.' | b',')) && b.get(end + 1).is_some_and(u8::is_ascii_digit) {
        end += 1;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    if b.get(end) == Some(&b'Z') {
        end += 1;
    } else if matches!(b.get(end), Some(b'+' | b'-')) {
        if shape(b, end + 1, b"99:99") {
            end += 6;
        } else if shape(b, end + 1, b"9999") {
            end += 5;
        }
    }
    Some(end)
}

fn syslog(b: &[u8], at: usize) -> Option<usize> {
    const MONTHS: [&[u8]; 12] =
        [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    if !MONTHS.iter().any(|m| shape(b, at, m)) || b.get(at + 3) != Some(&b' ') {
        return None;
    }
    let mut i = at + 4;
    if b.get(i) == Some(&b' ') {
        i += 1;
    }
    let digits = b[i.min(b.len())..].iter().take_while(|c| c.is_ascii_digit()).count();
    if !(1..=2).contains(&digits) || b.get(i + digits) != Some(&b' ') {
        return None;
    }
    clock(b, i + digits + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_variables() {
        assert_eq!(
            mask("2024-01-02T10:00:00Z INFO user=alice id=42 from 10.0.0.1 said \"hello there\" ok")
                .join(" "),
            "<*> INFO user=alice id=<*> from <*> said <*> ok"
        );
        assert_eq!(mask("deadbeefcafe done").join(" "), "<*> done");
    }

    #[test]
    fn clusters_similar_lines() {
        let mut c = Clusters::default();
        let a = c.assign(mask("INFO connected to db-1 in 5ms"));
        let b = c.assign(mask("INFO connected to cache in 7ms"));
        let d = c.assign(mask("INFO shutting down now please wait"));
        assert_eq!(a, b);
        assert_ne!(a, d);
        assert_eq!(c.template(a), "INFO connected to <*> in <*>");
    }

    #[test]
    fn finds_timestamps() {
        assert_eq!(timestamp("2025-06-24 14:36:25 status x"), Some("2025-06-24 14:36:25"));
        assert_eq!(timestamp("[2024-01-02T03:04:05.123+02:00] x"), Some("2024-01-02T03:04:05.123+02:00"));
        assert_eq!(timestamp("Mar  3 12:00:01 host sshd[1]: x"), Some("Mar  3 12:00:01"));
        assert_eq!(timestamp("I 12:01:02.5 ready"), Some("12:01:02.5"));
        assert_eq!(timestamp("version 1.2.3"), None);
    }
}
