//! Numbered listings: Claude Code's `Read` (`12\t...`; `    12→...` before 2.1), `cat -n`
//! and `nl -ba`. A listing here is a run of consecutively numbered lines (a file or a slice
//! of it from any offset), optionally after a few lines of something else (a
//! `<system-reminder>`) and before a tail (a truncation note).

use super::map_markers;
use crate::marker::{Marker, Unit};

/// Fewer numbered lines than this are not worth a frame.
const MIN_ROWS: usize = 3;
/// Lines before the first numbered one (reminders an agent puts in front).
const MAX_HEAD_LINES: usize = 12;
/// How far ahead a kept line may be looked for when a rewrite is mapped back.
const LOOKAHEAD: usize = 64;

/// A numbered listing's rows: each line's number prefix and number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Listing {
    head: String,
    prefixes: Vec<String>,
    /// The number of the first row; the others follow one by one.
    first: usize,
    /// The listing's lines without their numbers (to map a rewrite back).
    contents: Vec<String>,
    tail: String,
}

/// `(prefix length, number)` of a line starting with spaces, digits and a tab or `→`.
fn row(line: &str) -> Option<(usize, usize)> {
    let b = line.as_bytes();
    let spaces = b.iter().take_while(|c| **c == b' ').count();
    let digits = b[spaces..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let number = line[spaces..spaces + digits].parse().ok()?;
    let rest = &line[spaces + digits..];
    if rest.starts_with('\t') {
        Some((spaces + digits + 1, number))
    } else if rest.starts_with('→') {
        Some((spaces + digits + '→'.len_utf8(), number))
    } else {
        None
    }
}

impl Listing {
    /// The listing in `text` and its lines without numbers; `None` when `text` is not one.
    pub(super) fn parse(text: &str) -> Option<(Self, String)> {
        // Cheap reject: the first line or one of the next few must start like a row.
        let mut offset = 0;
        let mut head_end = None;
        for _ in 0..=MAX_HEAD_LINES {
            let line_end = text[offset..].find('\n').map_or(text.len(), |n| offset + n);
            if row(&text[offset..line_end]).is_some() {
                head_end = Some(offset);
                break;
            }
            if line_end >= text.len() {
                break;
            }
            offset = line_end + 1;
        }
        let head_end = head_end?;
        let mut prefixes = Vec::new();
        let mut contents = Vec::new();
        let mut first = 0;
        let mut at = head_end;
        let mut end = head_end;
        while at < text.len() {
            let line_end = text[at..].find('\n').map_or(text.len(), |n| at + n);
            let line = &text[at..line_end];
            let Some((len, number)) = row(line) else { break };
            if prefixes.is_empty() {
                first = number;
            } else if number != first + prefixes.len() {
                break;
            }
            prefixes.push(line[..len].to_owned());
            contents.push(line[len..].to_owned());
            end = (line_end + 1).min(text.len());
            at = line_end + 1;
        }
        if prefixes.len() < MIN_ROWS {
            return None;
        }
        let mut inner = contents.join("\n");
        if text[..end].ends_with('\n') {
            inner.push('\n');
        }
        let listing = Self {
            head: text[..head_end].to_owned(),
            prefixes,
            first,
            contents,
            tail: text[end..].to_owned(),
        };
        Some((listing, inner))
    }

    /// The rewrite with each kept line numbered as it was and markers citing the listing's
    /// numbers; `None` when the rewrite does not keep whole lines in order (a structural
    /// rewrite such as a JSON table).
    pub(super) fn renumber(&self, rewrite: &str) -> Option<String> {
        let ends_with_newline = rewrite.ends_with('\n');
        let body = rewrite.strip_suffix('\n').unwrap_or(rewrite);
        let mut out = String::with_capacity(rewrite.len() + self.prefixes.len() * 4 + self.head.len());
        out.push_str(&self.head);
        let mut next = 0;
        for line in crate::split::lines(body) {
            if let Some(at) = line.find("[... ")
                && let Some((marker, _)) = Marker::parse(&line[at..])
            {
                if marker.unit == Unit::Lines {
                    next = next.max(marker.ranges.iter().map(|r| r.1).max().unwrap_or(0));
                    let first = self.first;
                    out.push_str(&map_markers(line, |a, b| vec![(first + a - 1, first + b - 1)]));
                } else {
                    out.push_str(line);
                }
                out.push('\n');
                continue;
            }
            let found = self.contents.iter().skip(next).take(LOOKAHEAD).position(|c| c == line)?;
            let i = next + found;
            out.push_str(&self.prefixes[i]);
            out.push_str(line);
            out.push('\n');
            next = i + 1;
        }
        if !ends_with_newline {
            out.pop();
        }
        out.push_str(&self.tail);
        Some(out)
    }

    /// A structural rewrite of the listing, after one line saying which numbered lines it
    /// stands for and where the numbered original is.
    pub(super) fn unnumbered(&self, rewrite: &str, transform: &str, key: &str) -> String {
        let last = self.first + self.prefixes.len() - 1;
        let mut out = self.head.clone();
        out.push_str(&format!(
            "[lines {}-{last} below as {transform}, without their numbers; numbered original: \
             headroom_retrieve(\"{key}\")]\n",
            self.first
        ));
        out.push_str(rewrite);
        if !rewrite.ends_with('\n') && !self.tail.is_empty() {
            out.push('\n');
        }
        out.push_str(&self.tail);
        out
    }
}
