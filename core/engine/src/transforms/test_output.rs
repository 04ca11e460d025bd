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
    let passing: Vec<bool> = lines.iter().map(|l| is_passing(l) && !query.mentions(l)).collect();
    let mut keep: Vec<bool> = passing.iter().map(|p| !p).collect();
    restore_short_runs(&mut keep, MIN_PASS_RUN);
    let frames = elide_frames(&lines, &mut keep, ctx.query);
    let out = render_kept_with(&lines, &keep, ctx.key, ends_with_newline, |a, b| {
        let passed = passing[a..=b].iter().filter(|p| **p).count();
        let mut parts = Vec::new();
        if passed > 0 {
            parts.push(format!("{passed} passing-test line{}", if passed == 1 { "" } else { "s" }));
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
    let mut words = t.split_whitespace();
    if words.next().is_some_and(|w| w.contains("::")) && words.next() == Some("PASSED") {
        return true;
    }
    // cargo test and unittest -v: `test x ... ok`, `test_x (mod.Cls) ... ok`
    if t.ends_with(" ... ok") || t.ends_with(" ... ignored") {
        return true;
    }
    // go test -v
    if ["--- PASS: ", "=== RUN ", "=== PAUSE ", "=== CONT "].iter().any(|p| t.starts_with(p)) {
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
    dots.chars().all(|c| c.is_whitespace() || ".sxfw".contains(c))
        && (progress > 0 || head.is_some())
        && dots.contains('.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::query::Query;
    use crate::transforms::stack_trace::check;

    // Cut from corpus/swe-agent-trajectories/sympy__sympy-16597.traj.json (`bin/test sympy/core`).
    const SYMPY: &str = "============================= test process starts ==============================
executable:         /opt/miniconda3/envs/testbed/bin/python  (3.9.20-final-0) [CPython]

sympy/core/tests/test_arit.py[85] ...................f.f........................
f......................................                                     [OK]
sympy/core/tests/test_basic.py[21] .....................                    [OK]
sympy/core/tests/test_cache.py[2] ..                                        [OK]
sympy/core/tests/test_complex.py[18] ..................                     [OK]
sympy/core/tests/test_count_ops.py[3] ...                                   [OK]
sympy/core/tests/test_diff.py[8] ........                                   [OK]
sympy/core/tests/test_equal.py[6] ......                                    [OK]
sympy/core/tests/test_eval.py[8] ...f....                                   [OK]
sympy/core/tests/test_sympify.py[45] ........................E............s..sfs
s.                                                                        [FAIL]
sympy/core/tests/test_trace.py[3] ...                                       [OK]

________________________________________________________________________________
_____________ sympy/core/tests/test_sympify.py:test_evaluate_false _____________
Traceback (most recent call last):
  File \"/testbed/sympy/core/tests/test_sympify.py\", line 412, in test_evaluate_false
    assert sympify(case, evaluate=False) == result
ValueError: Name node can't be used with 'False' constant

 tests finished: 1623 passed, 68 skipped, 42 expected to fail, 1 exceptions,
in 21.61 seconds
";

    fn run(text: &str, query: &str) -> Option<Rewrite> {
        let q = Query::new(query);
        compress(text, &Ctx { query: &q, key: "h:k", lossy: true })
    }

    #[test]
    fn sympy_run_keeps_failures_and_summary() {
        let out = run(SYMPY, "bin/test sympy/core test_diff").expect("rewritten");
        check::accounts(SYMPY, &out.text, "h:k", 0);
        for must in [
            "test process starts",
            "test_sympify.py[45]",
            "[FAIL]",
            "ValueError",
            "tests finished",
            "test_diff.py[8]",
        ] {
            assert!(out.text.contains(must), "lost {must}:\n{}", out.text);
        }
        assert!(!out.text.contains("test_cache.py"));
        assert!(out.text.contains("passing-test lines"));
        assert_eq!(run(SYMPY, "bin/test sympy/core test_diff"), Some(out));
    }

    #[test]
    fn pytest_verbose_and_cargo() {
        let mut text = String::from(
            "============================= test session starts ==============================\n",
        );
        for i in 0..30 {
            text.push_str(&format!(
                "tests/test_a.py::test_{i} PASSED                                   [{i:>3}%]\n"
            ));
        }
        text.push_str("tests/test_a.py::test_bad FAILED                                 [100%]\n");
        text.push_str("FAILED tests/test_a.py::test_bad - assert 1 == 2\n========================= 1 failed, 30 passed in 0.12s =========================\n");
        let out = run(&text, "").expect("rewritten");
        check::accounts(&text, &out.text, "h:k", 0);
        assert!(out.text.contains("test_bad FAILED") && out.text.contains("1 failed, 30 passed"));
        assert!(out.text.contains("30 passing-test lines"), "{}", out.text);

        let mut cargo = String::from("running 12 tests\n");
        for i in 0..12 {
            cargo.push_str(&format!("test m::t{i} ... ok\n"));
        }
        cargo.push_str("test m::broken ... FAILED\n\ntest result: FAILED. 12 passed; 1 failed\n");
        let out = run(&cargo, "").expect("rewritten");
        check::accounts(&cargo, &out.text, "h:k", 0);
        assert!(out.text.contains("m::broken ... FAILED"));
    }

    #[test]
    fn progress_lines() {
        assert!(is_passing("testing/test_collection.py ......s..                      [ 42%]"));
        assert!(!is_passing("testing/test_collection.py ....F..                        [ 42%]"));
        assert!(is_passing("................................................................"));
        assert!(!is_passing(
            "s.                                                                        [FAIL]"
        ));
        assert!(!is_passing("E       Failed: nomatch: 'sub/test_file.py::test_file PASSED*'"));
    }
}
