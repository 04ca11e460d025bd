//! Content detection: decide what kind of text a block is, cheaply and deterministically.
//!
//! Only a bounded sample of lines is inspected (the head and the tail of big texts), so
//! detection is linear in the sample, not the block. Kinds are tried from the most specific
//! to the least: a diff contains code, a traceback inside test output is test output, grep
//! results of code are search results, and whatever has no structure is prose.

mod code;
mod diff;
mod json;
pub(crate) mod listing;
mod log;
mod search;
mod test_output;
pub(crate) mod trace;

use crate::kind::ContentKind;

/// Lines looked at from the start of a big text.
const HEAD_LINES: usize = 80;
/// Lines looked at from the end of a big text (summaries and exceptions live there).
const TAIL_LINES: usize = 30;
/// Lines longer than this are judged on their first bytes only.
const LINE_CAP: usize = 512;

/// The lines detection looks at: non-blank, without `\r`, each capped at [`LINE_CAP`] bytes.
pub(crate) struct Sample<'a> {
    /// Non-blank sampled lines in order (head first, then tail).
    pub lines: Vec<&'a str>,
}

impl<'a> Sample<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut lines = Vec::with_capacity(HEAD_LINES + TAIL_LINES);
        let mut at = 0;
        for _ in 0..HEAD_LINES {
            match memchr::memchr(b'\n', &text.as_bytes()[at..]) {
                Some(nl) => {
                    push_line(&mut lines, &text[at..at + nl]);
                    at += nl + 1;
                }
                None => {
                    push_line(&mut lines, &text[at..]);
                    at = text.len();
                    break;
                }
            }
        }
        // The tail is found from the end so a huge block is never walked twice.
        let rest = &text[at..];
        if !rest.is_empty() {
            // The starts of the last lines, found backwards by `memchr`; the earliest is the
            // start of `rest` when it holds fewer lines.
            let mut starts = [0usize; TAIL_LINES];
            let mut n = 0;
            for nl in memchr::memrchr_iter(b'\n', rest.as_bytes()).take(TAIL_LINES) {
                starts[n] = nl + 1;
                n += 1;
            }
            if n < TAIL_LINES {
                starts[n] = 0;
                n += 1;
            }
            for k in (0..n).rev() {
                let line_end = if k == 0 { rest.len() } else { starts[k - 1] - 1 };
                push_line(&mut lines, &rest[starts[k]..line_end]);
            }
        }
        Self { lines }
    }

    /// Count of sampled lines that satisfy `pred`.
    pub(crate) fn count(&self, pred: impl Fn(&str) -> bool) -> usize {
        self.lines.iter().filter(|l| pred(l)).count()
    }

    /// The count of sampled lines that satisfy `pred` when it is at least `frac` of them
    /// (as [`Sample::share`] judges), `None` otherwise: the lines stop being read as soon as
    /// the rest could no longer reach the share.
    pub(crate) fn share_of(&self, pred: impl Fn(&str) -> bool, frac: f64) -> Option<usize> {
        let need = frac * self.lines.len() as f64;
        let mut n = 0;
        for (i, l) in self.lines.iter().enumerate() {
            if pred(l) {
                n += 1;
            } else if ((n + self.lines.len() - i - 1) as f64) < need {
                return None;
            }
        }
        self.share(n, frac).then_some(n)
    }

    /// True when `n` is at least `frac` of the sampled lines.
    pub(crate) fn share(&self, n: usize, frac: f64) -> bool {
        !self.lines.is_empty() && n as f64 >= frac * self.lines.len() as f64
    }
}

fn push_line<'a>(lines: &mut Vec<&'a str>, line: &'a str) {
    let line = line.strip_suffix('\r').unwrap_or(line);
    // Blank exactly when `trim` would leave nothing, without walking back from the end.
    if line.trim_start().is_empty() {
        return;
    }
    lines.push(cap(line));
}

fn cap(line: &str) -> &str {
    if line.len() <= LINE_CAP {
        return line;
    }
    let mut end = LINE_CAP;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

/// True when [`detect`] would call `text` a diff (checked on its own by steps that must
/// never touch a diff's leading spaces).
pub(crate) fn is_diff(text: &str) -> bool {
    diff::is_diff(&Sample::new(text))
}

/// Detect the kind of `text`.
pub fn detect(text: &str) -> ContentKind {
    if text.trim().is_empty() {
        return ContentKind::Prose;
    }
    let sample = Sample::new(text);
    if json::is_json(text, &sample) {
        return ContentKind::Json;
    }
    if diff::is_diff(&sample) {
        return ContentKind::Diff;
    }
    if test_output::is_test_output(&sample) {
        return ContentKind::TestOutput;
    }
    let log_lines = sample.count(log::is_log_line);
    let logs = sample.share(log_lines, 0.4) && log_lines >= 2;
    if !logs && trace::is_stack_trace(&sample) {
        return ContentKind::StackTrace;
    }
    if search::is_search(&sample) {
        return ContentKind::Search;
    }
    if listing::is_listing(&sample) {
        return ContentKind::Listing;
    }
    // Python warnings (a warning line plus the indented source line under it) read like a
    // log, but only decide the kind when nothing more specific matched.
    let mut warned = 0;
    let mut after_warning = false;
    for line in &sample.lines {
        if log::is_warning_line(line) {
            warned += 1;
            after_warning = true;
        } else if after_warning && line.starts_with(' ') {
            warned += 1;
            after_warning = false;
        } else {
            after_warning = false;
        }
    }
    if logs || (warned >= 2 && sample.share(log_lines + warned, 0.4)) {
        return ContentKind::Log;
    }
    if code::is_code(&sample) {
        return ContentKind::Code;
    }
    ContentKind::Prose
}

/// `line.split_once(':')`, found by `memchr` (the standard library's search for one
/// character walks the line a word at a time, and this runs on most sampled lines).
pub(crate) fn split_once_colon(line: &str) -> Option<(&str, &str)> {
    memchr::memchr(b':', line.as_bytes()).map(|i| (&line[..i], &line[i + 1..]))
}

/// True when `s` looks like a file path: no spaces or quoting characters, and either a
/// directory separator or a short extension.
pub(crate) fn is_path_like(s: &str) -> bool {
    if s.len() < 2 || s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return false;
    }
    if s.chars().any(|c| c.is_whitespace() || (c.is_ascii() && b"\"'()<>[]{}=,;*|`$!?".contains(&(c as u8))))
    {
        return false;
    }
    if memchr::memchr(b'/', s.as_bytes()).is_some() {
        return s.chars().any(char::is_alphanumeric);
    }
    match s.rsplit_once('.') {
        Some((stem, ext)) => {
            !stem.is_empty()
                && (1..=8).contains(&ext.len())
                && ext.chars().all(|c| c.is_ascii_alphanumeric())
                && ext.chars().any(|c| c.is_ascii_lowercase())
        }
        None => false,
    }
}

#[cfg(test)]
mod tests;
