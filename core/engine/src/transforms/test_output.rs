//! Test-runner output (pytest, sympy's runner, cargo test, go test, jest, unittest): collapse
//! long runs of passing-test lines and the middle of deep tracebacks. Headers, failures,
//! errors, assertion messages, summaries and anything the query mentions are kept verbatim.

use super::lines::{self, render_kept_with};
use super::stack_trace::{elide_frames, narrow};
use super::{Ctx, Rewrite};

/// A run of passing-test lines shorter than this stays: the marker would not pay.
const MIN_PASS_RUN: usize = 5;

/// Compress `text`; `None` when there is nothing worth doing.
pub fn compress(text: &str, ctx: &Ctx) -> Option<Rewrite> {
    if !ctx.lossy {
        return None;
    }
    let (lines, ends_with_newline) = lines::split(text);
    let candidates: Vec<&str> = lines.iter().copied().filter(|l| is_passing(l)).collect();
    let query = narrow(ctx.query, &candidates);
    let passing: Vec<bool> = lines
        .iter()
        .map(|l| is_passing(l) && !query.mentions(l))
        .collect();
    let mut keep: Vec<bool> = passing.iter().map(|p| !p).collect();
    restore_short_runs(&mut keep, MIN_PASS_RUN);
    let frames = elide_frames(&lines, &mut keep, ctx.query);
    let out = render_kept_with(&lines, &keep, ctx.key, ends_with_newline, |a, b| {
        let passed = passing[a..=b].iter().filter(|p| **p).count();
        let mut parts = Vec::new();
        if passed > 0 {
            parts.push(format!(
                "{passed} passing-test line{}",
                if passed == 1 { "" } else { "s" }
            ));
        }
        parts.extend(frames.describe(a, b));
        (!parts.is_empty()).then(|| parts.join("; "))
    })?;
    Some(Rewrite::lossy(out, "test-output:passing+frames"))
}

fn restore_short_runs(keep: &mut [bool], min: usize) {
    let mut i = 0;
    while i < keep.len() {
        if keep[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < keep.len() && !keep[i] {
            i += 1;
        }
        if i - start < min {
            keep[start..i].iter_mut().for_each(|k| *k = true);
        }
    }
}

/// A line that only reports tests that passed (or were skipped as expected).
fn is_passing(line: &str) -> bool {
    let t = line.trim();
    if t.is_empty() {
        return false;
    }
    // pytest -v: `path::test_x PASSED [ 10%]`
    if t.contains("::") {
        let mut words = t.split_whitespace();
        let first = words.next().unwrap_or("");
        return first.contains("::") && words.next() == Some("PASSED");
    }
    // cargo test and unittest -v: `test x ... ok`, `test_x (mod.Cls) ... ok`
    if t.ends_with(" ... ok") || t.ends_with(" ... ignored") {
        return true;
    }
    // go test -v
    if ["--- PASS: ", "=== RUN ", "=== PAUSE ", "=== CONT "]
        .iter()
        .any(|p| t.starts_with(p))
    {
        return true;
    }
    // jest
    if t.starts_with("✓ ") || t.starts_with("√ ") || t.starts_with("PASS ") {
        return true;
    }
    is_progress_line(t)
}

/// pytest `path.py ....s.. [ 42%]` and sympy `path.py[28] .....` or a continuation of dots,
/// with no failure letters in the progress.
fn is_progress_line(t: &str) -> bool {
    let body = t.strip_suffix("[OK]").unwrap_or(t);
    let body = match body.rfind('[') {
        Some(at) if body.ends_with("%]") => &body[..at],
        _ => body,
    };
    let (head, dots) = match body.split_once(' ') {
        Some((head, rest)) if !head.chars().all(|c| ".sxfw".contains(c)) => (Some(head), rest),
        _ => (None, body),
    };
    if let Some(head) = head {
        let file = head.split('[').next().unwrap_or("");
        if !(file.ends_with(".py") && (head.len() == file.len() || head.ends_with(']'))) {
            return false;
        }
    }
    let dots = dots.trim();
    let progress = dots.chars().filter(|c| !c.is_whitespace()).count();
    dots.chars()
        .all(|c| c.is_whitespace() || ".sxfw".contains(c))
        && (progress > 0 || head.is_some())
        && dots.contains('.')
}
