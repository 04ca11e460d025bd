//! Unified diffs (`git diff`, `diff -u`, combined diffs).

use super::Sample;

/// A `diff --git` header, or a `---`/`+++` file pair, together with a hunk header.
pub(super) fn is_diff(sample: &Sample) -> bool {
    let lines = &sample.lines;
    let git_header = lines.iter().any(|l| {
        l.starts_with("diff --git ") || l.starts_with("diff --cc ") || l.starts_with("diff --combined ")
    });
    let file_pair = lines.windows(2).any(|w| w[0].starts_with("--- ") && w[1].starts_with("+++ "));
    let hunk = lines.iter().any(|l| is_hunk_header(l));
    hunk && (git_header || file_pair)
}

/// `@@ -a,b +c,d @@` (and the `@@@` of combined diffs).
fn is_hunk_header(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("@@") else {
        return false;
    };
    let rest = rest.trim_start_matches('@');
    let Some(rest) = rest.strip_prefix(" -") else {
        return false;
    };
    rest.starts_with(|c: char| c.is_ascii_digit()) && rest.contains(" @@")
}
