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
/// A shared prefix shorter than this is not worth a header line.
const MIN_PREFIX: usize = 6;
/// Fewer paths than this are not worth factoring.
const MIN_FACTORED: usize = 5;

/// Compress `text`; `None` when there is nothing worth doing.
pub fn compress(text: &str, ctx: &Ctx) -> Option<Rewrite> {
    let (lines, ends_with_newline) = lines::split(text);
    let nonblank = lines.iter().filter(|l| !l.trim().is_empty()).count();
    let tree = lines.iter().filter(|l| is_tree_line(l)).count();
    let long = lines.iter().filter(|l| is_ls_long(l)).count();
    if tree * 3 >= nonblank {
        let keep = select(
            ctx,
            &lines,
            MAX_TREE_LINES,
            |l| is_tree_line(l),
            |l| l.starts_with("├── ") || l.starts_with("└── ") || !is_tree_line(l),
        )?;
        let out = render(&lines, &keep, ctx, ends_with_newline, |l| is_tree_line(l))?;
        return Some(Rewrite::lossy(out, "listing:tree-cut"));
    }
    if long * 2 >= nonblank {
        let keep = select(
            ctx,
            &lines,
            MAX_ENTRIES,
            |l| is_ls_long(l),
            |l| l.starts_with('d'),
        )?;
        let out = render(&lines, &keep, ctx, ends_with_newline, |l| is_ls_long(l))?;
        return Some(Rewrite::lossy(out, "listing:ls-cut"));
    }
    paths(&lines, ctx, ends_with_newline)
}

/// `find` / `ls` / `grep -l` output: factor the shared prefix, then cut if still huge.
fn paths(lines: &[&str], ctx: &Ctx, ends_with_newline: bool) -> Option<Rewrite> {
    let entry = |l: &str| is_name_line(l) && !l.ends_with(':');
    let prefix = shared_prefix(lines);
    let rel: Vec<&str> = match prefix {
        Some(p) => lines.iter().map(|l| &l[p.len()..]).collect(),
        None => lines.to_vec(),
    };
    let header = prefix.map(|p| format!("[paths below are under {p}]\n"));
    let cut = if ctx.lossy {
        select(ctx, lines, MAX_ENTRIES, entry, |_| false)
    } else {
        None
    };
    let body = match &cut {
        Some(keep) => render(&rel, keep, ctx, ends_with_newline, |l| !l.trim().is_empty())?,
        None => {
            let mut s = rel.join("\n");
            if ends_with_newline {
                s.push('\n');
            }
            s
        }
    };
    let (text, step) = match (header, cut.is_some()) {
        (Some(h), true) => (h + &body, "listing:prefix+cut"),
        (Some(h), false) => (h + &body, "listing:prefix"),
        (None, true) => (body, "listing:cut"),
        (None, false) => return None,
    };
    Some(if cut.is_some() {
        Rewrite::lossy(text, step)
    } else {
        Rewrite::lossless(text, step)
    })
}

/// The longest directory prefix (ending in `/`) every line starts with, when all lines are
/// bare paths; removing it is then unambiguous and reversible.
fn shared_prefix<'a>(lines: &[&'a str]) -> Option<&'a str> {
    if lines.len() < MIN_FACTORED || !lines.iter().all(|l| is_name_line(l) && !l.ends_with(':')) {
        return None;
    }
    let first = lines[0];
    let mut len = first.len();
    for l in &lines[1..] {
        len = len.min(
            first
                .bytes()
                .zip(l.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    let cut = first[..len].rfind('/')? + 1;
    // Every remaining path must stay non-empty, or a line would vanish into the header.
    (cut >= MIN_PREFIX && lines.iter().all(|l| l.len() > cut)).then(|| &first[..cut])
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
