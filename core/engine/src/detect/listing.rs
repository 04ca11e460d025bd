//! Directory listings: `ls -l`, `tree`, and bare path lists from `find`, `ls` or `grep -l`.

use super::{Sample, is_path_like};
use crate::needles::AnyOf;

/// Mostly `ls -l` entries or tree lines, or nothing but paths and file names.
pub(super) fn is_listing(sample: &Sample) -> bool {
    let structured = sample.share_of(|l| is_ls_long(l) || is_ls_total(l) || is_tree_line(l), 0.6);
    if structured.is_some_and(|n| n >= 2) {
        return true;
    }
    let names = sample.share_of(is_name_line, 0.8);
    // Path-like lines are looked for only when names alone could make a listing.
    names.is_some_and(|n| n >= 1) && sample.lines.iter().any(|l| is_path_like(l.trim_end_matches(':')))
}

/// `drwxr-xr-x  2 root root 4096 Oct 24  2024 name`.
pub(crate) fn is_ls_long(line: &str) -> bool {
    let b = line.as_bytes();
    if b.len() < 12 || !b"-dlcbpsD".contains(&b[0]) {
        return false;
    }
    if !b[1..10].iter().all(|c| b"rwxsStT-".contains(c)) {
        return false;
    }
    let rest = line[10..].trim_start_matches(['.', '@', '+']);
    rest.starts_with(' ') && rest.trim_start().starts_with(|c: char| c.is_ascii_digit())
}

/// `total 160`.
pub(crate) fn is_ls_total(line: &str) -> bool {
    line.strip_prefix("total ")
        .is_some_and(|n| n.trim().trim_end_matches(['K', 'M', 'G']).parse::<f64>().is_ok())
}

/// A `tree` line: box-drawing prefix, or the `N directories, M files` summary.
pub(crate) fn is_tree_line(line: &str) -> bool {
    BRANCHES.in_text(line)
        || line.starts_with("│   ")
        || (line.trim_end().ends_with(" files") && DIRECTORIES.in_text(line))
}

/// A branch of `tree`'s drawing.
static BRANCHES: AnyOf<2> = AnyOf::new(["├── ", "└── "]);
/// `tree`'s closing count (`3 directories, 12 files`).
static DIRECTORIES: AnyOf<1> = AnyOf::new([" director"]);

/// One file name or path alone on a line (or an `ls -R` `dir:` heading).
pub(crate) fn is_name_line(line: &str) -> bool {
    let t = line.trim_end().trim_end_matches(':');
    !t.is_empty()
        && !line.starts_with(char::is_whitespace)
        && t.chars().any(char::is_alphabetic)
        && t.chars().all(|c| c.is_alphanumeric() || (c.is_ascii() && b"._-/+@~#%,=".contains(&(c as u8))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_ls_lines() {
        assert!(is_ls_long("drwxr-xr-x  2 root root 4096 Oct 24  2024 name"));
        assert!(is_ls_long("-rw-r--r--. 1 u g 12 Jan  1 00:00 a.txt"));
        assert!(is_ls_long("lrwxrwxrwx  1 root root    7 Oct 24  2024 bin -> usr/bin"));
        assert!(!is_ls_long("-rw this is prose"));
        assert!(is_ls_total("total 160"));
        assert!(is_tree_line("├── src"));
    }
}
