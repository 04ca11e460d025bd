//! Prose is often a person's own text, so it is treated conservatively: only exact
//! repetition is removed (a paragraph that already appeared, a line repeated back to back),
//! and only a huge text is cut, keeping its head, its tail, headings and whatever the query
//! mentions. Every removal is marked and the original stays retrievable.

use std::collections::BTreeMap;

use super::lines::{self, render_kept_with};
use super::stack_trace::narrow;
use super::{Ctx, Rewrite};

/// Texts longer than this many lines may be cut.
const HUGE_LINES: usize = 400;
const HEAD: usize = 150;
const TAIL: usize = 60;
/// A repeated paragraph shorter than this (in bytes) is left alone: it is probably a
/// separator or a short formula, and cheap anyway.
const MIN_PARAGRAPH_BYTES: usize = 40;

/// Compress `text`; `None` when there is nothing worth doing.
pub fn compress(text: &str, ctx: &Ctx) -> Option<Rewrite> {
    if !ctx.lossy {
        return None;
    }
    let (lines, ends_with_newline) = lines::split(text);
    let mut keep = vec![true; lines.len()];
    // First dropped line of each removal, with what it was.
    let mut notes: BTreeMap<usize, String> = BTreeMap::new();
    repeated_lines(&lines, &mut keep, &mut notes);
    repeated_paragraphs(&lines, &mut keep, &mut notes);
    let mut step = "prose:dedup";
    if lines.len() > HUGE_LINES {
        step = "prose:dedup+cut";
        let query = narrow(ctx.query, &lines);
        for (i, line) in lines.iter().enumerate() {
            let end = i < HEAD || i + TAIL >= lines.len();
            let heading = line.starts_with('#') || line.starts_with("===") || line.starts_with("---");
            if !end && !heading && !query.mentions(line) {
                keep[i] = false;
            }
        }
    }
    let out = render_kept_with(&lines, &keep, ctx.key, ends_with_newline, |a, b| {
        let found: Vec<&str> = notes.range(a..=b).map(|(_, n)| n.as_str()).take(3).collect();
        (!found.is_empty()).then(|| found.join("; "))
    })?;
    Some(Rewrite::lossy(out, step))
}

/// The same non-blank line repeated back to back: keep the first copy.
fn repeated_lines(lines: &[&str], keep: &mut [bool], notes: &mut BTreeMap<usize, String>) {
    let mut i = 1;
    while i < lines.len() {
        let first = i - 1;
        if lines[first].trim().is_empty() || lines[i] != lines[first] {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < lines.len() && lines[end] == lines[first] {
            keep[end] = false;
            end += 1;
        }
        notes.insert(i, format!("line {} repeated {} more times", first + 1, end - i));
        i = end + 1;
    }
}

/// A paragraph (a run of non-blank lines) identical to an earlier one: drop it with the
/// blank lines that separate it from the text before.
fn repeated_paragraphs(lines: &[&str], keep: &mut [bool], notes: &mut BTreeMap<usize, String>) {
    let mut seen: BTreeMap<&[&str], usize> = BTreeMap::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        let start = i;
        while i < lines.len() && !lines[i].trim().is_empty() {
            i += 1;
        }
        let para = &lines[start..i];
        if para.iter().map(|l| l.len()).sum::<usize>() < MIN_PARAGRAPH_BYTES {
            continue;
        }
        match seen.get(para) {
            Some(&first) if keep[start..i].iter().all(|k| *k) => {
                let mut from = start;
                while from > 0 && lines[from - 1].trim().is_empty() && keep[from - 1] {
                    from -= 1;
                }
                keep[from..i].iter_mut().for_each(|k| *k = false);
                notes.insert(from, format!("repeat of lines {}-{}", first + 1, first + para.len()));
            }
            Some(_) => {}
            None => {
                seen.insert(para, start);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transforms::query::Query;
    use crate::transforms::stack_trace::check;

    fn run(text: &str, query: &str) -> Option<Rewrite> {
        let q = Query::new(query);
        compress(text, &Ctx { query: &q, key: "h:k", lossy: true })
    }

    const PARA: &str = "The caplog fixture keeps its records per test phase.\nClearing it replaces the list instead of emptying it.\n";

    #[test]
    fn removes_repeated_paragraphs_only() {
        let text = format!("Intro line.\n\n{PARA}\nMiddle.\n\n{PARA}\nEnd.\n");
        let out = run(&text, "").expect("deduped");
        check::accounts(&text, &out.text, "h:k", 0);
        assert!(out.text.contains("repeat of lines 3-4"), "{}", out.text);
        assert_eq!(out.text.matches("Clearing it replaces").count(), 1);
        assert!(run("One paragraph.\n\nAnother one.\n", "").is_none());
    }

    #[test]
    fn collapses_a_line_repeated_back_to_back() {
        let text = format!("start\n{}end\n", "Warning: retrying connection\n".repeat(12));
        let out = run(&text, "").expect("deduped");
        check::accounts(&text, &out.text, "h:k", 0);
        assert!(out.text.contains("line 2 repeated 11 more times"));
    }

    #[test]
    fn huge_text_keeps_ends_and_query() {
        let text: String = (0..1000).map(|i| format!("Sentence number {i} of a long report.\n")).collect();
        let out = run(&text, "number 640").expect("cut");
        check::accounts(&text, &out.text, "h:k", 0);
        assert!(
            out.text.contains("Sentence number 640 of")
                && out.text.contains("number 999 of")
                && out.text.contains("number 0 of")
        );
        assert!(!out.text.contains("number 500 of"));
        assert!(compress(&text, &Ctx { query: &Query::new(""), key: "h:k", lossy: false }).is_none());
    }
}
