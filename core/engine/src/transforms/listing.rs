//! Directory listings. `find`-style path lists lose their shared directory prefix losslessly
//! (one header line says what it was). Only very long listings are cut, and then every kept
//! line stays exactly as it was: `ls -l` rows keep all their columns, `tree` keeps its
//! drawing, and directories, top-level entries, query matches and both ends are always kept.

use super::lines::{self, render_kept_with};
use super::stack_trace::narrow;
use super::{Ctx, Rewrite};
use crate::detect::listing::{is_ls_long, is_name_line, is_tree_line};

/// Listings up to this many entries are never cut.
const MAX_ENTRIES: usize = 80;
/// A `tree` is cut only above this many lines: its shape is the information.
const MAX_TREE_LINES: usize = 200;
/// Entries kept at the start and at the end of a cut listing.
const HEAD: usize = 20;
const TAIL: usize = 10;

/// Compress `text`; `None` when there is nothing worth doing.
pub fn compress(text: &str, ctx: &Ctx) -> Option<Rewrite> {
    let (lines, ends_with_newline) = lines::split(text);
    let nonblank = lines.iter().filter(|l| !l.trim().is_empty()).count();
    let tree = lines.iter().filter(|l| is_tree_line(l)).count();
    let long = lines.iter().filter(|l| is_ls_long(l)).count();
    if tree * 3 >= nonblank {
        let keep = select(ctx, &lines, MAX_TREE_LINES, is_tree_line, |l| {
            l.starts_with("├── ") || l.starts_with("└── ") || !is_tree_line(l)
        })?;
        let out = render(&lines, &keep, ctx, ends_with_newline, is_tree_line)?;
        return Some(Rewrite::lossy(out, "listing:tree-cut"));
    }
    if long * 2 >= nonblank {
        let keep = select(ctx, &lines, MAX_ENTRIES, is_ls_long, |l| l.starts_with('d'))?;
        let out = render(&lines, &keep, ctx, ends_with_newline, is_ls_long)?;
        return Some(Rewrite::lossy(out, "listing:ls-cut"));
    }
    paths(&lines, ctx, ends_with_newline)
}

/// `find` / `ls` / `grep -l` output: cut only when huge. Paths stay whole: agents copy them
/// into their next command, so a factored-out prefix would be copied wrong.
fn paths(lines: &[&str], ctx: &Ctx, ends_with_newline: bool) -> Option<Rewrite> {
    let entry = |l: &str| is_name_line(l) && !l.ends_with(':');
    if !ctx.lossy {
        return None;
    }
    let keep = select(ctx, lines, MAX_ENTRIES, entry, |_| false)?;
    let text = render(lines, &keep, ctx, ends_with_newline, |l| !l.trim().is_empty())?;
    Some(Rewrite::lossy(text, "listing:cut"))
}

/// Which lines to keep when a listing has more than `max` entries: everything that is not an
/// entry, the first and last entries, entries `always` names and those the query mentions.
fn select(
    ctx: &Ctx,
    lines: &[&str],
    max: usize,
    entry: impl Fn(&str) -> bool,
    always: impl Fn(&str) -> bool,
) -> Option<Vec<bool>> {
    if !ctx.lossy {
        return None;
    }
    let entries: Vec<usize> = (0..lines.len()).filter(|&i| entry(lines[i])).collect();
    if entries.len() <= max {
        return None;
    }
    let names: Vec<&str> = entries.iter().map(|&i| lines[i]).collect();
    let query = narrow(ctx.query, &names);
    let mut keep = vec![true; lines.len()];
    for (n, &i) in entries.iter().enumerate() {
        let end = n < HEAD || n + TAIL >= entries.len();
        if !end && !always(lines[i]) && !query.mentions(lines[i]) {
            keep[i] = false;
        }
    }
    Some(keep)
}

fn render(
    lines: &[&str],
    keep: &[bool],
    ctx: &Ctx,
    ends_with_newline: bool,
    entry: impl Fn(&str) -> bool,
) -> Option<String> {
    render_kept_with(lines, keep, ctx.key, ends_with_newline, |a, b| {
        let n = lines[a..=b].iter().filter(|l| entry(l)).count();
        Some(format!("{n} entr{}", if n == 1 { "y" } else { "ies" }))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::query::Query;
    use crate::transforms::stack_trace::check;

    fn run(text: &str, query: &str, lossy: bool) -> Option<Rewrite> {
        let q = Query::new(query);
        compress(text, &Ctx { query: &q, key: "h:k", lossy })
    }

    // Cut from corpus/swe-agent-trajectories/sympy__sympy-*.traj.json: `find sympy/geometry -name "test_*.py"`.
    const FIND: &str = "sympy/geometry/tests/test_curve.py\nsympy/geometry/tests/test_geometrysets.py\nsympy/geometry/tests/test_point.py\nsympy/geometry/tests/test_line.py\nsympy/geometry/tests/test_parabola.py\nsympy/geometry/tests/test_entity.py\nsympy/geometry/tests/test_util.py\n";

    #[test]
    fn short_path_lists_stay_whole() {
        assert!(run(FIND, "", true).is_none());
        assert!(run(FIND, "", false).is_none());
    }

    fn ls_la(n: usize) -> String {
        let mut text = String::from("total 4242\ndrwxr-xr-x  1 root root  4096 Oct 24  2024 .\n");
        for i in 0..n {
            let kind = if i % 25 == 0 { 'd' } else { '-' };
            text.push_str(&format!(
                "{kind}rw-r--r--  1 root root  {:>5} Oct 24  2024 file_{i:03}.py\n",
                100 + i
            ));
        }
        text
    }

    #[test]
    fn cuts_only_long_ls_listings_and_keeps_rows_whole() {
        assert!(run(&ls_la(60), "", true).is_none());
        let text = ls_la(200);
        let out = run(&text, "ls -la file_123.py", true).expect("cut");
        assert!(out.lossy);
        check::accounts(&text, &out.text, "h:k", 0);
        for kept in out.text.lines().filter(|l| !l.starts_with("[... ")) {
            assert!(text.lines().any(|o| o == kept), "row changed: {kept}");
        }
        assert!(
            out.text.contains("file_123.py")
                && out.text.contains("file_199.py")
                && out.text.contains("file_150.py")
        );
        assert!(out.text.contains("entries"));
        assert_eq!(run(&text, "ls -la file_123.py", true), Some(out));
        assert!(run(&text, "", false).is_none());
    }

    #[test]
    fn cuts_long_path_lists_keeping_whole_paths() {
        let text: String = (0..300).map(|i| format!("./sympy/matrices/m{i}.py\n")).collect();
        let out = run(&text, "find sympy -name m77.py", true).expect("cut");
        assert_eq!(out.transform, "listing:cut");
        check::accounts(&text, &out.text, "h:k", 0);
        assert!(out.text.lines().any(|l| l == "./sympy/matrices/m77.py"));
    }
}
