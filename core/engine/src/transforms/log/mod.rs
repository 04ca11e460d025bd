//! Application and build logs: template mining, then sampling.
//!
//! Every line is reduced to a template (variable tokens masked, Drain-style clustering, see
//! [`template`]). Kept verbatim: the first line and the last lines, every line whose template
//! is rare in the block, every error/exception/fatal/panic/traceback line with its stack or
//! continuation lines, warnings (the first and last few of each template), lines the query
//! mentions, and the first occurrence of every template. A run of consecutive lines with
//! one template keeps its first and last line; what is between becomes a marker naming the
//! template and the run's first and last timestamps. Runs of identical lines keep only the
//! first. There is no lossless step: without `ctx.lossy` the log is left alone.

mod template;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use super::lines::{render_kept_with, split};
use super::search::{mentions_any, selective_terms};
use super::{Ctx, Rewrite};
use template::{Clusters, mask, timestamp};

/// Below this many lines a log is read whole.
const MIN_LINES: usize = 40;
/// A template seen at most this often is an anomaly and kept.
const RARE: usize = 2;
/// Consecutive lines of one template from which on the run is collapsed.
const MIN_RUN: usize = 4;
/// Lines kept at the end: summaries and exit status live there.
const TAIL: usize = 3;
/// Warnings of one template kept from the start and the end of the block.
const WARN_HEAD: usize = 10;
const WARN_TAIL: usize = 3;
/// Continuation (stack) lines kept whole up to this many; longer ones keep both ends.
const STACK_MAX: usize = 40;
const STACK_HEAD: usize = 10;
const STACK_TAIL: usize = 25;
/// The fixed part of a rendered marker line, without key and note.
const MARKER_BYTES: usize = 80;
/// Characters of a template quoted in a marker note.
const NOTE_TEMPLATE: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Severity {
    Error,
    Warning,
}

/// Compress a log; `None` when lossy steps are off or nothing would be elided.
pub fn compress(text: &str, ctx: &Ctx) -> Option<Rewrite> {
    if !ctx.lossy {
        return None;
    }
    let (lines, ends_with_newline) = split(text);
    let n = lines.len();
    if n < MIN_LINES {
        return None;
    }
    let mut clusters = Clusters::default();
    let ids: Vec<usize> = lines.iter().map(|l| clusters.assign(mask(l))).collect();
    let mut counts = vec![0usize; clusters.len()];
    for &id in &ids {
        counts[id] += 1;
    }
    let terms = selective_terms(ctx.query, &lines);

    let mut keep = vec![false; n];
    let mut seen = vec![0usize; clusters.len()];
    let mut i = 0;
    while i < n {
        let id = ids[i];
        let k = seen[id];
        seen[id] += 1;
        keep[i] |= i == 0 || i + TAIL >= n || k == 0 || counts[id] <= RARE || mentions_any(&terms, lines[i]);
        let important = match severity(lines[i]) {
            Some(Severity::Error) => true,
            Some(Severity::Warning) => k < WARN_HEAD || k + WARN_TAIL >= counts[id],
            None => false,
        };
        if important {
            keep[i] = true;
            let start = i + 1;
            let mut end = start;
            while end < n && is_continuation(lines[end]) {
                end += 1;
            }
            let long = end - start > STACK_MAX;
            for (j, kept) in keep.iter_mut().enumerate().take(end).skip(start) {
                *kept |= !long || j < start + STACK_HEAD || j + STACK_TAIL >= end;
            }
        }
        i += 1;
    }
    collapse_runs(&lines, &ids, &mut keep);
    // A marker with its note costs about a line and a half of a typical log; a short run
    // that is cheaper than its marker stays.
    let mut i = 0;
    while i < n {
        if keep[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && !keep[i] {
            i += 1;
        }
        let bytes: usize = lines[start..i].iter().map(|l| l.len() + 1).sum();
        let cost = MARKER_BYTES + ctx.key.len() + note(&lines, &ids, &clusters, start, i - 1).len();
        if bytes <= cost {
            keep[start..i].iter_mut().for_each(|k| *k = true);
        }
    }

    let out = render_kept_with(&lines, &keep, ctx.key, ends_with_newline, |a, b| {
        Some(note(&lines, &ids, &clusters, a, b))
    })?;
    Some(Rewrite::lossy(out, "log:templates"))
}

/// Runs of one template keep their first and last line; runs of identical lines keep only
/// the first, whatever else would have kept the rest (they repeat it byte for byte).
fn collapse_runs(lines: &[&str], ids: &[usize], keep: &mut [bool]) {
    for (start, end) in runs(lines.len(), |a, b| ids[a] == ids[b]) {
        keep[start] = true;
        keep[end - 1] = true;
    }
    for (start, end) in runs(lines.len(), |a, b| lines[a] == lines[b]) {
        keep[start] = true;
        keep[start + 1..end].iter_mut().for_each(|k| *k = false);
    }
}

/// Maximal runs `[start, end)` of at least [`MIN_RUN`] lines that are `same` as their first.
fn runs(n: usize, same: impl Fn(usize, usize) -> bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < n {
        let start = i;
        while i < n && same(start, i) {
            i += 1;
        }
        if i - start >= MIN_RUN {
            out.push((start, i));
        }
    }
    out
}

/// Describe an elided range: identical repeats, one template, or the commonest templates,
/// with the first and last timestamps found in it.
fn note(lines: &[&str], ids: &[usize], clusters: &Clusters, a: usize, b: usize) -> String {
    let range = &lines[a..=b];
    let mut out = if a > 0 && range.iter().all(|l| *l == lines[a - 1]) {
        format!("identical to line {a}")
    } else {
        let mut per: BTreeMap<usize, usize> = BTreeMap::new();
        for &id in &ids[a..=b] {
            *per.entry(id).or_default() += 1;
        }
        let mut by_count: Vec<(usize, usize)> = per.into_iter().collect();
        by_count.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        if by_count.len() == 1 {
            format!("all like: {}", short(&clusters.template(by_count[0].0)))
        } else {
            let shown = if range.len() <= 5 { 1 } else { 3 };
            let mut parts: Vec<String> = by_count
                .iter()
                .take(shown)
                .map(|(id, c)| format!("{c} like: {}", short(&clusters.template(*id))))
                .collect();
            let rest: usize = by_count.iter().skip(shown).map(|(_, c)| c).sum();
            if rest > 0 {
                parts.push(format!("{rest} lines of {} other templates", by_count.len() - shown));
            }
            parts.join("; ")
        }
    };
    let first = range.iter().find_map(|l| timestamp(l));
    let last = range.iter().rev().find_map(|l| timestamp(l));
    match (first, last) {
        (Some(f), Some(l)) if f == l => out.push_str(&format!("; at {f}")),
        (Some(f), Some(l)) => out.push_str(&format!("; {f} .. {l}")),
        _ => {}
    }
    out
}

fn short(template: &str) -> String {
    match template.char_indices().nth(NOTE_TEMPLATE) {
        Some((at, _)) => format!("{}...", &template[..at]),
        None => template.to_owned(),
    }
}

/// Error and warning words, matched at a word start (an `s` may follow), plus exception
/// class names such as `RuntimeError:`.
fn severity(line: &str) -> Option<Severity> {
    const ERRORS: &[&str] = &[
        "error",
        "exception",
        "fatal",
        "panic",
        "panicked",
        "traceback",
        "failed",
        "failure",
        "critical",
        "abort",
        "aborted",
        "aborting",
        "segfault",
    ];
    const WARNINGS: &[&str] = &["warn", "warning", "deprecated"];
    let lower = line.to_ascii_lowercase();
    if ERRORS.iter().any(|w| has_word(&lower, w)) || lower.contains("error:") || lower.contains("exception:")
    {
        Some(Severity::Error)
    } else if WARNINGS.iter().any(|w| has_word(&lower, w)) {
        Some(Severity::Warning)
    } else {
        None
    }
}

fn has_word(hay: &str, word: &str) -> bool {
    let b = hay.as_bytes();
    let mut from = 0;
    while let Some(pos) = hay[from..].find(word) {
        let at = from + pos;
        let end = at + word.len();
        let before = at == 0 || !b[at - 1].is_ascii_alphanumeric();
        let after = match b.get(end) {
            Some(b's') => !b.get(end + 1).is_some_and(u8::is_ascii_alphanumeric),
            Some(c) => !c.is_ascii_alphanumeric(),
            None => true,
        };
        if before && after {
            return true;
        }
        from = end;
    }
    false
}

/// Lines that belong to the error above them: indented stack frames, `at ...`,
/// `Caused by:`, rustc's `-->`/`|` gutter and `note:`/`help:` lines.
fn is_continuation(line: &str) -> bool {
    if line.trim().is_empty() {
        return false;
    }
    if line.starts_with([' ', '\t', '|']) {
        return true;
    }
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && line[digits..].trim_start().starts_with('|') {
        return true;
    }
    ["at ", "Caused by", "... ", "note:", "help:", "= note", "= help"].iter().any(|p| line.starts_with(p))
}
