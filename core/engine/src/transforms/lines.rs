//! The shared lossy primitive for line-oriented text: keep some lines verbatim, replace each
//! run of dropped lines with one exact marker line.

use super::errors::is_error_line;
use crate::marker::{Marker, Unit};

/// Runs shorter than this are kept verbatim: a marker line would cost about as much.
pub const MIN_ELIDED_RUN: usize = 3;

/// True when `run` (lines without terminators) is longer than the marker line that would
/// replace it. A marker's key and counts tokenise worse than the names and words it stands
/// for, so bytes are a generous stand-in for tokens: a run that does not outweigh its marker
/// is kept whole, and a lossy step never makes a part of a block bigger.
pub fn pays(run: &[&str], marker: &str) -> bool {
    run.iter().map(|l| l.len() + 1).sum::<usize>() > marker.len() + 1
}

/// Split into lines without terminators. `"a\nb\n"` gives `["a", "b"]` and `ends_with_newline`
/// tells the caller to put the final newline back.
pub fn split(text: &str) -> (Vec<&str>, bool) {
    let ends = text.ends_with('\n');
    let body = if ends { &text[..text.len() - 1] } else { text };
    (crate::split::lines(body).collect(), ends)
}

/// Render `lines` keeping those with `keep[i]`; every dropped run of at least
/// [`MIN_ELIDED_RUN`] lines that outweighs its marker ([`pays`]) becomes one marker line
/// citing `key` (other runs are kept).
/// Line numbers in markers are 1-based positions in `lines` plus `line_offset`.
/// Returns `None` when nothing would be dropped.
pub fn render_kept(lines: &[&str], keep: &[bool], key: &str, ends_with_newline: bool) -> Option<String> {
    render_kept_with(lines, keep, key, ends_with_newline, |_, _| None)
}

/// Like [`render_kept`], with a note for each elided run: `note(first, last)` receives the
/// 0-based inclusive indices of the run.
pub fn render_kept_with(
    lines: &[&str],
    keep: &[bool],
    key: &str,
    ends_with_newline: bool,
    note: impl FnMut(usize, usize) -> Option<String>,
) -> Option<String> {
    // Error lines survive every lossy step, whatever the transform chose.
    let kept: Vec<bool> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| keep.get(i).copied().unwrap_or(true) || is_error_line(l))
        .collect();
    render_with_errors_kept(lines, &kept, key, ends_with_newline, note)
}

/// [`render_kept_with`] for a `keep` (one flag per line) that already keeps every error line,
/// so no line is tested again.
pub fn render_with_errors_kept(
    lines: &[&str],
    kept: &[bool],
    key: &str,
    ends_with_newline: bool,
    mut note: impl FnMut(usize, usize) -> Option<String>,
) -> Option<String> {
    let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum::<usize>() / 2);
    let mut dropped_any = false;
    let mut i = 0;
    while i < lines.len() {
        if kept[i] {
            out.push_str(lines[i]);
            out.push('\n');
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && !kept[i] {
            i += 1;
        }
        // A run this short stays whatever its marker would cost: none is rendered.
        let elided = i - start >= MIN_ELIDED_RUN && {
            let mut marker = Marker::new(Unit::Lines, vec![(start + 1, i)], key);
            if let Some(n) = note(start, i - 1) {
                marker = marker.with_note(&n);
            }
            let rendered = marker.render();
            pays(&lines[start..i], &rendered) && {
                out.push_str(&rendered);
                out.push('\n');
                true
            }
        };
        if !elided {
            for line in &lines[start..i] {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        dropped_any = true;
    }
    if !dropped_any {
        return None;
    }
    if !ends_with_newline {
        out.pop();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elides_long_runs_only() {
        let long = "x".repeat(40);
        let text = format!("a\n{long}\n{long}\n{long}\ne\n{long}\ng\n");
        let (lines, nl) = split(&text);
        let keep = [true, false, false, false, true, false, true];
        let out = render_kept(&lines, &keep, "h:k", nl).expect("dropped");
        assert_eq!(
            out,
            format!(
                "a\n[... 3 lines elided (lines 2-4), retrieve: headroom_retrieve(\"h:k\") ...]\ne\n{long}\ng\n"
            )
        );
        assert!(render_kept(&lines, &[true; 7], "h:k", nl).is_none());
    }

    #[test]
    fn keeps_runs_shorter_than_their_marker() {
        // Three short lines cost less than the marker that would replace them.
        let (lines, nl) = split("a\nb\nc\nd\ne\n");
        let keep = [true, false, false, false, true];
        assert!(render_kept(&lines, &keep, "h:k", nl).is_none());
        assert!(!pays(
            &lines[1..4],
            "[... 3 lines elided (lines 2-4), retrieve: headroom_retrieve(\"h:k\") ...]"
        ));
        assert!(pays(&["y".repeat(90).as_str()], "[... 1 line elided ...]"));
    }
}
