//! Stack traces: collapse recursion (the same block of frames repeated) to one copy, and
//! elide the middle of very deep stacks. Everything that is not a frame (exception lines,
//! headers, "During handling of ..." chains, messages) is always kept verbatim, as are the
//! outermost frames, the innermost frames and frames the query mentions.

use super::lines::{self, render_kept_with};
use super::query::Query;
use super::{Ctx, Rewrite};
use crate::detect::trace::{Frame, frames};

/// Frames kept at the outer end of a stack (where the program entered).
const OUTER_KEPT: usize = 3;
/// Frames kept at the inner end (where it raised): these are the ones that get read.
const INNER_KEPT: usize = 8;
/// The longest cycle of frames looked for in recursion.
const MAX_PERIOD: usize = 8;
/// A block must repeat at least this many times in a row to be collapsed.
const MIN_REPEATS: usize = 3;
/// Below this many lines a stack trace is left alone.
const MIN_LINES: usize = 30;

/// Compress `text`; `None` when there is nothing worth doing.
pub fn compress(text: &str, ctx: &Ctx) -> Option<Rewrite> {
    if !ctx.lossy {
        return None;
    }
    let (lines, ends_with_newline) = lines::split(text);
    if lines.len() < MIN_LINES {
        return None;
    }
    let mut keep = vec![true; lines.len()];
    let notes = elide_frames(&lines, &mut keep, ctx.query);
    let out = render_kept_with(&lines, &keep, ctx.key, ends_with_newline, |a, b| notes.describe(a, b))?;
    Some(Rewrite::lossy(out, "stack-trace:frames"))
}

/// What was dropped, so markers can say it in frames, not only lines.
#[derive(Debug, Default)]
pub(crate) struct FrameNotes {
    frame_starts: Vec<usize>,
    /// (first dropped line, block length in frames, extra copies dropped).
    repeats: Vec<(usize, usize, usize)>,
}

impl FrameNotes {
    /// A note for the dropped lines `first..=last` (0-based).
    pub(crate) fn describe(&self, first: usize, last: usize) -> Option<String> {
        let n = self.frame_starts.iter().filter(|&&s| s >= first && s <= last).count();
        if n == 0 {
            return None;
        }
        let mut note = format!("{n} stack frame{}", if n == 1 { "" } else { "s" });
        for &(at, period, copies) in &self.repeats {
            if at >= first && at <= last {
                note.push_str(&format!(
                    "; recursion: the {period}-frame block above repeated {copies} more time{}",
                    if copies == 1 { "" } else { "s" }
                ));
            }
        }
        Some(note)
    }
}

/// The query restricted to terms that single out at most half of `candidates`: a term that
/// every line mentions (the directory a command ran in) says nothing about which to keep.
pub(crate) fn narrow(query: &Query, candidates: &[&str]) -> Query {
    let lowered: Vec<String> = candidates.iter().map(|l| l.to_lowercase()).collect();
    // One searcher per term for all the lines (`contains` builds one per line), and a term
    // is dropped as soon as more than half the lines mention it.
    let selective: Vec<&str> = query
        .terms()
        .iter()
        .filter(|t| {
            let finder = memchr::memmem::Finder::new(t.as_bytes());
            let mut mentions = 0;
            lowered.iter().all(|l| {
                mentions += usize::from(finder.find(l.as_bytes()).is_some());
                mentions * 2 <= lowered.len()
            })
        })
        .map(String::as_str)
        .collect();
    Query::new(&selective.join(" "))
}

/// Mark frames to drop in `keep` (lines already dropped stay dropped). Shared with the
/// test-output transform, which runs it over the tracebacks inside a test report.
pub(crate) fn elide_frames(lines: &[&str], keep: &mut [bool], query: &Query) -> FrameNotes {
    let all = frames(lines);
    let mut notes = FrameNotes { frame_starts: all.iter().map(|f| f.start).collect(), repeats: Vec::new() };
    let frame_lines: Vec<&str> = all.iter().map(|f| lines[f.start]).collect();
    let query = narrow(query, &frame_lines);
    for stack in stacks(lines, &all) {
        let mut dropped = vec![false; stack.len()];
        collapse_recursion(lines, stack, &mut dropped, &mut notes);
        elide_middle(lines, stack, &mut dropped, &query);
        for (frame, _) in stack.iter().zip(&dropped).filter(|(_, d)| **d) {
            keep[frame.start..frame.end].iter_mut().for_each(|k| *k = false);
        }
    }
    notes
}

/// Runs of frames printed back to back (Python's own `[Previous line repeated N more times]`
/// notes do not break a run): one stack each.
fn stacks<'f>(lines: &[&str], all: &'f [Frame]) -> Vec<&'f [Frame]> {
    let adjacent = |a: &Frame, b: &Frame| {
        a.style == b.style
            && lines[a.end..b.start].iter().all(|l| l.trim_start().starts_with("[Previous line repeated "))
    };
    let mut out = Vec::new();
    let mut from = 0;
    for i in 1..=all.len() {
        if i == all.len() || !adjacent(&all[i - 1], &all[i]) {
            out.push(&all[from..i]);
            from = i;
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

fn same_block(lines: &[&str], stack: &[Frame], a: usize, b: usize, period: usize) -> bool {
    (0..period).all(|k| {
        let (x, y) = (stack[a + k], stack[b + k]);
        lines[x.start..x.end] == lines[y.start..y.end]
    })
}

/// Keep the first copy of a block of frames repeated back to back; drop the other copies.
fn collapse_recursion(lines: &[&str], stack: &[Frame], dropped: &mut [bool], notes: &mut FrameNotes) {
    let mut i = 0;
    while i < stack.len() {
        let mut best = None;
        for period in 1..=MAX_PERIOD.min((stack.len() - i) / MIN_REPEATS) {
            let mut copies = 1;
            while i + (copies + 1) * period <= stack.len()
                && same_block(lines, stack, i, i + copies * period, period)
            {
                copies += 1;
            }
            // Dropping fewer frames than this would not pay for the marker.
            if copies >= MIN_REPEATS && (copies - 1) * period >= MIN_REPEATS {
                best = Some((period, copies));
                break;
            }
        }
        match best {
            Some((period, copies)) => {
                dropped[i + period..i + copies * period].iter_mut().for_each(|d| *d = true);
                notes.repeats.push((stack[i + period].start, period, copies - 1));
                i += copies * period;
            }
            None => i += 1,
        }
    }
}

/// In a deep stack keep the outer and inner ends and the frames the query mentions.
fn elide_middle(lines: &[&str], stack: &[Frame], dropped: &mut [bool], query: &Query) {
    let live: Vec<usize> = (0..stack.len()).filter(|&i| !dropped[i]).collect();
    let (head, tail) =
        if stack[0].style.innermost_first() { (INNER_KEPT, OUTER_KEPT) } else { (OUTER_KEPT, INNER_KEPT) };
    if live.len() <= head + tail + lines::MIN_ELIDED_RUN {
        return;
    }
    // The first frame in each file stays: agents open the files a trace names.
    let mut files_seen: Vec<&str> =
        live.iter().map(|&i| frame_file(lines[stack[i].start])).take(head).collect();
    for &i in &live[head..live.len() - tail] {
        let f = stack[i];
        let file = frame_file(lines[f.start]);
        let new_file = !file.is_empty() && !files_seen.contains(&file);
        if new_file {
            files_seen.push(file);
        }
        if !new_file && !lines[f.start..f.end].iter().any(|l| query.mentions(l)) {
            dropped[i] = true;
        }
    }
}

/// The source file a frame line names: `File "x.py", line 3` (Python), `at f (x.js:3:1)` /
/// `at a.B(X.java:3)` (JS, Java), `x.rs:3:5` / `x.go:3` (Rust, Go); empty when none.
fn frame_file(line: &str) -> &str {
    let t = line.trim();
    if let Some(rest) = t.strip_prefix("File \"") {
        return rest.split('"').next().unwrap_or("");
    }
    let inner = match (t.rfind('('), t.rfind(')')) {
        (Some(a), Some(b)) if a < b => &t[a + 1..b],
        _ => t.rsplit(' ').next().unwrap_or(""),
    };
    inner.split(':').next().unwrap_or("")
}

/// Test support shared by the line-eliding transforms of this family.
#[cfg(test)]
pub(crate) mod check {
    use crate::marker::Marker;

    /// Kept lines plus elided counts equal the original line count, every original line
    /// that is kept appears in order, and markers cite `key`. `extra` is the number of
    /// added header lines.
    pub(crate) fn accounts(original: &str, out: &str, key: &str, extra: usize) {
        let markers = Marker::find_all(out);
        assert!(!markers.is_empty(), "no marker in:\n{out}");
        assert!(markers.iter().all(|m| m.key == key));
        let kept: Vec<&str> = out.lines().filter(|l| Marker::parse(l).is_none()).collect();
        let dropped: usize = markers.iter().map(|m| m.count).sum();
        assert_eq!(kept.len() - extra + dropped, original.lines().count(), "{out}");
        let mut orig = original.lines();
        for line in &kept[extra..] {
            assert!(orig.any(|o| o.ends_with(line)), "kept line not in original order: {line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::query::Query;

    // Cut from corpus/swe-agent-trajectories/sympy__sympy-21379.traj.json (message 7).
    const SYMPY: &str = r#"Traceback (most recent call last):
  File "/testbed/sympy/core/assumptions.py", line 454, in getit
    return self._assumptions[fact]
KeyError: 'zero'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/testbed/reproduce_issue.py", line 13, in test_reproduce
    result = expr.subs({1: 1.0})
  File "/testbed/sympy/core/basic.py", line 949, in subs
    rv = rv._subs(old, new, **kwargs)
  File "/testbed/sympy/core/cache.py", line 72, in wrapper
    retval = cfunc(*args, **kwargs)
  File "/testbed/sympy/core/basic.py", line 1063, in _subs
    rv = fallback(self, old, new)
  File "/testbed/sympy/core/basic.py", line 1040, in fallback
    rv = self.func(*args)
  File "/testbed/sympy/core/function.py", line 473, in __new__
    result = super().__new__(cls, *args, **options)
  File "/testbed/sympy/functions/elementary/exponential.py", line 369, in eval
    if arg.is_zero:
  File "/testbed/sympy/core/assumptions.py", line 458, in getit
    return _ask(fact, self)
  File "/testbed/sympy/core/assumptions.py", line 513, in _ask
    _ask(pk, obj)
  File "/testbed/sympy/core/assumptions.py", line 513, in _ask
    _ask(pk, obj)
  File "/testbed/sympy/core/assumptions.py", line 513, in _ask
    _ask(pk, obj)
  [Previous line repeated 3 more times]
  File "/testbed/sympy/core/assumptions.py", line 501, in _ask
    a = evaluate(obj)
  File "/testbed/sympy/functions/elementary/hyperbolic.py", line 251, in _eval_is_real
    return (im%pi).is_zero
  File "/testbed/sympy/core/expr.py", line 280, in __mod__
    return Mod(self, other)
  File "/testbed/sympy/core/mod.py", line 169, in eval
    G = gcd(p, q)
  File "/testbed/sympy/polys/polytools.py", line 5306, in gcd
    (F, G), opt = parallel_poly_from_expr((f, g), *gens, **args)
  File "/testbed/sympy/polys/polytools.py", line 4340, in parallel_poly_from_expr
    return _parallel_poly_from_expr(exprs, opt)
  File "/testbed/sympy/polys/polytools.py", line 4399, in _parallel_poly_from_expr
    raise PolynomialError("Piecewise generators do not make sense")
sympy.polys.polyerrors.PolynomialError: Piecewise generators do not make sense
Reproducing issue...
"#;

    fn run(text: &str, query: &str) -> Option<Rewrite> {
        let q = Query::new(query);
        compress(text, &Ctx { query: &q, key: "h:k", lossy: true })
    }

    #[test]
    fn real_traceback_keeps_ends_exceptions_and_query() {
        let out = run(SYMPY, "python reproduce_issue.py hyperbolic").expect("rewritten");
        assert!(out.lossy);
        check::accounts(SYMPY, &out.text, "h:k", 0);
        for must in [
            "KeyError: 'zero'",
            "During handling of the above exception",
            "reproduce_issue.py\", line 13",
            "hyperbolic.py\", line 251",
            "polytools.py\", line 4399",
            "raise PolynomialError",
            "sympy.polys.polyerrors.PolynomialError: Piecewise",
            "[Previous line repeated 3 more times]",
        ] {
            assert!(out.text.contains(must), "lost {must}:\n{}", out.text);
        }
        assert!(out.text.contains("stack frames, retrieve"), "{}", out.text);
        assert_eq!(run(SYMPY, "python reproduce_issue.py hyperbolic"), Some(out));
        let q = Query::new("");
        assert!(compress(SYMPY, &Ctx { query: &q, key: "h:k", lossy: false }).is_none());
    }

    #[test]
    fn collapses_a_two_frame_cycle() {
        let mut text = String::from(
            "Traceback (most recent call last):\n  File \"m.py\", line 9, in <module>\n    a(1)\n",
        );
        for _ in 0..40 {
            text.push_str("  File \"m.py\", line 2, in a\n    return b(n)\n  File \"m.py\", line 5, in b\n    return a(n)\n");
        }
        text.push_str("RecursionError: maximum recursion depth exceeded\n");
        let out = run(&text, "").expect("rewritten");
        check::accounts(&text, &out.text, "h:k", 0);
        assert!(out.text.contains("the 2-frame block above repeated 39 more times"), "{}", out.text);
        assert!(out.text.ends_with("RecursionError: maximum recursion depth exceeded\n"));
        assert!(out.text.len() < text.len() / 5);
    }

    #[test]
    fn java_keeps_innermost_first_frames() {
        let mut text = String::from("java.lang.IllegalStateException: boom\n");
        for i in 0..60 {
            text.push_str(&format!("\tat com.example.Layer.call{i}(Layer.java:{})\n", i + 10));
        }
        let out = run(&text, "").expect("rewritten");
        check::accounts(&text, &out.text, "h:k", 0);
        assert!(out.text.contains("Layer.call0(") && out.text.contains("Layer.call7("));
        assert!(!out.text.contains("Layer.call8(") && out.text.contains("Layer.call59("));
        assert!(out.text.contains("49 stack frames"), "{}", out.text);
    }
}
