//! Unified diffs (`git diff`, `git show`, `diff -u`): every file header, hunk header and
//! changed line stays; only unchanged context beyond 3 lines around a change is elided, and
//! lock/generated files are reduced to their header plus one marker with their +/- counts.
//!
//! Hunk headers are never rewritten, so the line numbers an agent reads from them stay exact
//! even where context was elided (the marker says how many context lines are missing).
//! Nothing here is lossless, so without `ctx.lossy` the diff is left alone.

use super::lines::{render_kept_with, split};
use super::{Ctx, Rewrite};

/// Unchanged lines kept on each side of a change, as `git diff` does by default.
const CONTEXT: usize = 3;
/// A marker line with the context note, without its key.
const MARKER_BYTES: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// File headers, commit preamble, anything outside a hunk.
    Meta,
    HunkHeader,
    Context,
    Change,
}

#[derive(Debug, Default)]
struct File {
    path: String,
    added: usize,
    removed: usize,
    hunks: usize,
}

/// Compress a unified diff; `None` when nothing would be elided.
pub fn compress(text: &str, ctx: &Ctx) -> Option<Rewrite> {
    if !ctx.lossy {
        return None;
    }
    let (lines, ends_with_newline) = split(text);
    let (roles, owner, files) = parse(&lines);
    if files.is_empty() {
        return None;
    }
    let generated: Vec<bool> =
        files.iter().map(|f| is_generated(&f.path) && !ctx.query.mentions(&f.path)).collect();

    let mut keep = vec![true; lines.len()];
    let mut summarised = false;
    for (i, role) in roles.iter().enumerate() {
        if *role != Role::Meta && owner[i].is_some_and(|f| generated[f]) {
            keep[i] = false;
            summarised = true;
        }
    }
    let trimmed = trim_context(&lines, &roles, &mut keep, ctx);

    let out = render_kept_with(&lines, &keep, ctx.key, ends_with_newline, |first, _| {
        let file = owner[first].map(|f| &files[f]);
        match file {
            Some(f) if owner[first].is_some_and(|i| generated[i]) => Some(format!(
                "generated file {}: {} hunks, +{} -{} lines",
                f.path, f.hunks, f.added, f.removed
            )),
            Some(_) => Some("unchanged context".to_owned()),
            None => None,
        }
    })?;
    let step = match (trimmed, summarised) {
        (true, true) => "diff:context+generated",
        (false, true) => "diff:generated",
        _ => "diff:context",
    };
    Some(Rewrite::lossy(out, step))
}

/// Classify every line and attribute hunk lines to their file. Hunk bodies are delimited by
/// the counts in their headers, so a removed line that reads `--- x` is not a new file.
fn parse(lines: &[&str]) -> (Vec<Role>, Vec<Option<usize>>, Vec<File>) {
    let mut roles = Vec::with_capacity(lines.len());
    let mut owner = Vec::with_capacity(lines.len());
    let mut files: Vec<File> = Vec::new();
    let mut header_open = false;
    let (mut old_left, mut new_left) = (0usize, 0usize);
    for (i, line) in lines.iter().enumerate() {
        let cur = files.len().checked_sub(1);
        if old_left > 0 || new_left > 0 {
            let role = match line.as_bytes().first() {
                None | Some(b' ') => {
                    old_left = old_left.saturating_sub(1);
                    new_left = new_left.saturating_sub(1);
                    Some(Role::Context)
                }
                Some(b'-') => {
                    old_left = old_left.saturating_sub(1);
                    if let Some(f) = cur {
                        files[f].removed += 1;
                    }
                    Some(Role::Change)
                }
                Some(b'+') => {
                    new_left = new_left.saturating_sub(1);
                    if let Some(f) = cur {
                        files[f].added += 1;
                    }
                    Some(Role::Change)
                }
                Some(b'\\') => Some(Role::Change),
                _ => None,
            };
            if let Some(role) = role {
                roles.push(role);
                owner.push(cur);
                continue;
            }
            // A hunk shorter than its header claims: stop trusting the counts.
            (old_left, new_left) = (0, 0);
        }
        let next = lines.get(i + 1).copied().unwrap_or("");
        if line.starts_with("diff --git ") || line.starts_with("diff -") || line.starts_with("Index: ") {
            files.push(File { path: header_path(line), ..File::default() });
            header_open = true;
        } else if line.starts_with("--- ") && next.starts_with("+++ ") {
            if !header_open {
                files.push(File::default());
                header_open = true;
            }
            if let Some(f) = files.last_mut() {
                let new = side_path(&next[4..]);
                f.path = if new == "/dev/null" { side_path(&line[4..]) } else { new };
            }
        } else if let Some((old, new)) = hunk_counts(line).filter(|_| cur.is_some()) {
            (old_left, new_left) = (old, new);
            header_open = false;
            if let Some(f) = cur {
                files[f].hunks += 1;
            }
            roles.push(Role::HunkHeader);
            owner.push(cur);
            continue;
        } else if line.starts_with('\\') {
            roles.push(Role::Change);
            owner.push(cur);
            continue;
        }
        roles.push(Role::Meta);
        owner.push(files.len().checked_sub(1));
    }
    (roles, owner, files)
}

/// Drop unchanged lines more than [`CONTEXT`] lines away from every change of their hunk,
/// except lines the query mentions. Returns whether anything was marked for dropping.
fn trim_context(lines: &[&str], roles: &[Role], keep: &mut [bool], ctx: &Ctx) -> bool {
    let mut any = false;
    let mut i = 0;
    while i < lines.len() {
        if roles[i] != Role::Context || !keep[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && roles[i] == Role::Context {
            i += 1;
        }
        let after_change = start > 0 && roles[start - 1] == Role::Change;
        let before_change = i < lines.len() && roles[i] == Role::Change;
        let head = if after_change { CONTEXT } else { 0 };
        let tail = if before_change { CONTEXT } else { 0 };
        if i - start <= head + tail {
            continue;
        }
        // The marker costs about as much as a few short lines: only elide what it saves.
        let bytes: usize = lines[start + head..i - tail].iter().map(|l| l.len() + 1).sum();
        if bytes <= MARKER_BYTES + ctx.key.len() {
            continue;
        }
        for (j, kept) in keep.iter_mut().enumerate().take(i - tail).skip(start + head) {
            if !ctx.query.mentions(lines[j]) {
                *kept = false;
                any = true;
            }
        }
    }
    any
}

/// `@@ -a,b +c,d @@` gives the old and new line counts of the hunk body.
fn hunk_counts(line: &str) -> Option<(usize, usize)> {
    let rest = line.strip_prefix("@@ -")?;
    let end = rest.find(" @@")?;
    let (old, new) = rest[..end].split_once(" +")?;
    let count = |s: &str| -> Option<usize> {
        match s.split_once(',') {
            Some((start, n)) => {
                start.parse::<usize>().ok()?;
                n.parse().ok()
            }
            None => s.parse::<usize>().ok().map(|_| 1),
        }
    };
    Some((count(old)?, count(new)?))
}

/// The new-side path of a `diff --git a/x b/y` (or `diff -u x y`) line.
fn header_path(line: &str) -> String {
    if let Some(rest) = line.strip_prefix("diff --git ")
        && let Some(at) = rest.rfind(" b/")
    {
        return rest[at + 3..].to_owned();
    }
    line.rsplit(' ').next().unwrap_or("").to_owned()
}

/// The path on a `---`/`+++` line, without its timestamp and `a/`/`b/` prefix.
fn side_path(s: &str) -> String {
    let p = s.split('\t').next().unwrap_or(s).trim_end();
    p.strip_prefix("a/").or_else(|| p.strip_prefix("b/")).unwrap_or(p).to_owned()
}

/// Lock files and build output: their line-level content is noise for an agent.
fn is_generated(path: &str) -> bool {
    const LOCKS: &[&str] = &[
        "Cargo.lock",
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "Pipfile.lock",
        "uv.lock",
        "go.sum",
        "composer.lock",
        "Gemfile.lock",
        "flake.lock",
    ];
    let name = path.rsplit('/').next().unwrap_or(path);
    LOCKS.contains(&name)
        || [".min.js", ".min.css", ".js.map", ".css.map"].iter().any(|s| name.ends_with(s))
        || path.starts_with("dist/")
        || path.contains("/dist/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marker::Marker;
    use crate::transforms::query::Query;

    fn ctx(q: &Query) -> Ctx<'_> {
        Ctx { query: q, key: "h:test", lossy: true }
    }

    /// Kept lines plus marker counts must account for every original line.
    fn check_accounting(original: &str, out: &str) {
        let markers = Marker::find_all(out);
        let kept = out.lines().filter(|l| Marker::parse(l).is_none()).count();
        let dropped: usize = markers.iter().map(|m| m.count).sum();
        assert_eq!(kept + dropped, original.lines().count(), "{out}");
        let orig: Vec<&str> = original.lines().collect();
        for m in &markers {
            let generated = m.note.as_deref().is_some_and(|n| n.starts_with("generated"));
            for &(a, b) in &m.ranges {
                assert!(generated || orig[a - 1..b].iter().all(|l| l.is_empty() || l.starts_with(' ')));
            }
        }
    }

    fn wide_context_diff() -> String {
        let mut d = String::from("diff --git a/src/app.py b/src/app.py\nindex 1111111..2222222 100644\n");
        d.push_str("--- a/src/app.py\n+++ b/src/app.py\n@@ -1,30 +1,30 @@\n");
        for i in 0..12 {
            d.push_str(&format!(" line {i} of the unchanged function body\n"));
        }
        d.push_str("-old_call()\n+new_call()\n");
        for i in 13..30 {
            d.push_str(&format!(" line {i} of the unchanged function body\n"));
        }
        d
    }

    #[test]
    fn trims_context_but_keeps_changes_and_headers() {
        let q = Query::default();
        let d = wide_context_diff();
        let r = compress(&d, &ctx(&q)).expect("trimmed");
        assert!(r.lossy);
        assert_eq!(r.transform, "diff:context");
        for line in d.lines().filter(|l| l.starts_with(['+', '-', '@', 'd', 'i'])) {
            assert!(r.text.contains(line), "{line}");
        }
        assert!(r.text.contains(" line 11 of the unchanged function body\n-old_call()"));
        assert!(r.text.contains("+new_call()\n line 13 of the unchanged function body\n line 14 of the unchanged function body\n line 15 of the unchanged function body\n[..."));
        let m = Marker::find_all(&r.text);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].ranges, vec![(6, 14)]);
        check_accounting(&d, &r.text);
        assert_eq!(compress(&d, &ctx(&q)), Some(r));
    }

    #[test]
    fn query_mentioned_context_survives() {
        let q = Query::new("where is line 4 used");
        let d = wide_context_diff().replace(" line 4 of", " special_marker_fn() of");
        let q2 = Query::new("special_marker_fn");
        let r = compress(&d, &ctx(&q2)).expect("trimmed");
        assert!(r.text.contains(" special_marker_fn()"));
        check_accounting(&d, &r.text);
        assert!(compress(&d, &Ctx { query: &q, key: "h:k", lossy: false }).is_none());
    }

    #[test]
    fn lockfiles_are_summarised() {
        let mut d = String::from(
            "diff --git a/Cargo.lock b/Cargo.lock\nindex 3..4 100644\n--- a/Cargo.lock\n+++ b/Cargo.lock\n@@ -10,6 +10,9 @@\n",
        );
        d.push_str(" [[package]]\n name = \"a\"\n-version = \"1.0\"\n+version = \"1.1\"\n");
        d.push_str("+checksum = \"3f9a0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f\"\n+dep = \"y\"\n+z = 1\n");
        d.push_str(" a\n b\n");
        d.push_str(
            "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1 +1 @@\n-a\n+b\n",
        );
        let q = Query::default();
        let r = compress(&d, &ctx(&q)).expect("summarised");
        assert_eq!(r.transform, "diff:generated");
        assert!(r.text.starts_with("diff --git a/Cargo.lock b/Cargo.lock\nindex 3..4 100644\n--- a/Cargo.lock\n+++ b/Cargo.lock\n[... 10 lines elided (lines 5-14); generated file Cargo.lock: 1 hunks, +4 -1 lines"));
        assert!(r.text.ends_with("@@ -1 +1 @@\n-a\n+b\n"));
        check_accounting(&d, &r.text);
        let asked = Query::new("git diff Cargo.lock");
        assert!(compress(&d, &ctx(&asked)).is_none());
    }

    #[test]
    fn removed_line_looking_like_header_stays_in_hunk() {
        let d = "--- x.txt\t2024-01-01\n+++ x.txt\t2024-01-02\n@@ -1,9 +1,9 @@\n--- not a header\n+++ still body\n a\n b\n c\n d\n e\n f\n g\n h\n";
        let (roles, _, files) = parse(&d.lines().collect::<Vec<_>>());
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].path, "x.txt");
        assert_eq!(roles[3], Role::Change);
        assert_eq!(roles[4], Role::Change);
    }

    /// A real `git diff` (sympy__sympy-24661 trajectory, swe-agent corpus) with default
    /// context: nothing is elided, so the diff is declined.
    #[test]
    fn default_git_diff_is_left_alone() {
        let d = "diff --git a/sympy/parsing/sympy_parser.py b/sympy/parsing/sympy_parser.py\nindex 52711d1324..1d2b3d4e5f 100644\n--- a/sympy/parsing/sympy_parser.py\n+++ b/sympy/parsing/sympy_parser.py\n@@ -1110,6 +1110,14 @@ class EvaluateFalseTransformer(ast.NodeTransformer):\n         ast.BitAnd: 'And',\n         ast.BitXor: 'Not',\n     }\n+    relational_operators = {\n+        ast.Lt: 'Lt',\n+        ast.Gt: 'Gt',\n+    }\n     functions = (\n         'Abs', 'im', 're', 'sign', 'arg', 'conjugate',\n         'acos', 'acot', 'acsc', 'asec', 'asin', 'atan',\n";
        let q = Query::default();
        assert!(compress(d, &ctx(&q)).is_none());
    }
}
