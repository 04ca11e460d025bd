//! grep / ripgrep results.
//!
//! Rows are kept exactly as the tool printed them (`path:line:content`): agents cite and
//! copy whole result lines into their next step, and a regrouped row (path moved into a
//! heading) is a line they can no longer find verbatim. Measured on real Claude Code
//! sessions, regrouping was the only cause of the next step's references lost in cache mode
//! (DECISIONS D30), for a tenth of the results' tokens.
//!
//! Lossy (only past a generous cap): files with very many matches keep their first and last
//! matches, definitions and query-mentioned matches (with their context rows); the rest of
//! each file becomes a marker with exact counts and original line ranges naming the file, so
//! every path of the input still appears in the output.

mod parse;
#[cfg(test)]
mod tests;

use parse::Row;

use super::lines::{MIN_ELIDED_RUN, split};
use super::query::Query;
use super::{Ctx, Rewrite};
use crate::marker::{Marker, Unit};

/// A file with more matches than this is sampled.
const FILE_CAP: usize = 40;
/// When the whole block has more matches than this, files above [`BUSY_FILE`] are sampled.
const TOTAL_CAP: usize = 150;
const BUSY_FILE: usize = 12;
/// Matches always kept at the start and end of a sampled file.
const HEAD: usize = 4;
const TAIL: usize = 2;

/// Compress search results; `None` when sampling does not apply.
pub fn compress(text: &str, ctx: &Ctx) -> Option<Rewrite> {
    if !ctx.lossy {
        return None;
    }
    let (lines, ends_with_newline) = split(text);
    let parsed = parse::parse(&lines)?;
    let mut keep = select(&parsed, ctx.query)?;
    let mut out = render(&parsed, &lines, &mut keep, ctx.key);
    if !ends_with_newline {
        out.pop();
    }
    // Short runs are put back while rendering, so sampling may end up dropping nothing.
    keep.iter().any(|k| !k).then(|| Rewrite::lossy(out, "search:sampled"))
}

fn file_key(p: &parse::Parsed, row: &Row) -> Option<usize> {
    match row {
        Row::Hit { file, .. } => Some(file.unwrap_or(p.paths.len())),
        Row::Heading(f) => Some(*f),
        _ => None,
    }
}

/// Which lines to keep when sampling; `None` when no file is over the cap.
fn select(p: &parse::Parsed, query: &Query) -> Option<Vec<bool>> {
    let mut counts = vec![0usize; p.paths.len() + 1];
    let mut contents = Vec::new();
    for row in &p.rows {
        if let Row::Hit { matched: true, content, .. } = row {
            counts[file_key(p, row).unwrap_or(0)] += 1;
            contents.push(*content);
        }
    }
    let total: usize = counts.iter().sum();
    let reduce: Vec<bool> =
        counts.iter().map(|&c| c > FILE_CAP || (total > TOTAL_CAP && c > BUSY_FILE)).collect();
    if !reduce.iter().any(|r| *r) {
        return None;
    }
    let terms = selective_terms(query, &contents);
    let mut keep = vec![true; p.rows.len()];
    let mut seen = vec![0usize; counts.len()];
    for (i, row) in p.rows.iter().enumerate() {
        if let Row::Hit { matched: true, content, .. } = row {
            let f = file_key(p, row).unwrap_or(0);
            let k = seen[f];
            seen[f] += 1;
            keep[i] = !reduce[f]
                || k < HEAD
                || k + TAIL >= counts[f]
                || is_definition(content)
                || mentions_any(&terms, content);
        }
    }
    // Context rows follow their nearest match in the same block (no separator or file
    // change between them): a kept match keeps its context, a dropped one loses it.
    for i in 0..p.rows.len() {
        let Row::Hit { matched: false, .. } = p.rows[i] else {
            continue;
        };
        let f = file_key(p, &p.rows[i]);
        if !reduce[f.unwrap_or(0)] {
            continue;
        }
        let near = |range: &mut dyn Iterator<Item = usize>| -> bool {
            for j in range {
                match p.rows[j] {
                    Row::Hit { matched: true, .. } if file_key(p, &p.rows[j]) == f => {
                        return keep[j];
                    }
                    Row::Hit { .. } if file_key(p, &p.rows[j]) == f => {}
                    _ => return false,
                }
            }
            false
        };
        keep[i] = near(&mut (0..i).rev()) || near(&mut (i + 1..p.rows.len()));
    }
    for i in 0..p.rows.len() {
        if p.rows[i] == Row::Sep {
            let before = i == 0 || keep[i - 1];
            let after = keep.get(i + 1).copied().unwrap_or(true);
            keep[i] = before && after;
        }
    }
    Some(keep)
}

/// Query terms that discriminate between rows: a term found in more than a quarter of them
/// (the searched pattern itself, typically) would keep everything and says nothing.
pub(crate) fn selective_terms(query: &Query, texts: &[&str]) -> Vec<String> {
    if query.is_empty() || texts.is_empty() {
        return Vec::new();
    }
    let lowered: Vec<String> = texts.iter().map(|t| t.to_lowercase()).collect();
    query
        .terms()
        .iter()
        .filter(|t| lowered.iter().filter(|l| l.contains(t.as_str())).count() * 4 <= lowered.len())
        .cloned()
        .collect()
}

/// True when `text` contains any of the (lowercased) `terms`.
pub(crate) fn mentions_any(terms: &[String], text: &str) -> bool {
    if terms.is_empty() {
        return false;
    }
    let lower = text.to_lowercase();
    terms.iter().any(|t| lower.contains(t.as_str()))
}

/// Lines that define something: agents jump to these.
fn is_definition(content: &str) -> bool {
    let mut s = content.trim_start();
    // `nl -ba file | grep -n` puts the file's own line number before the code.
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && s[digits..].starts_with(['\t', ' ']) {
        s = s[digits..].trim_start();
    }
    const MODIFIERS: &[&str] = &[
        "pub(crate) ",
        "pub ",
        "export ",
        "async ",
        "static ",
        "public ",
        "private ",
        "protected ",
        "unsafe ",
    ];
    while let Some(rest) = MODIFIERS.iter().find_map(|m| s.strip_prefix(m)) {
        s = rest;
    }
    const KEYWORDS: &[&str] = &[
        "def ",
        "class ",
        "fn ",
        "function ",
        "struct ",
        "enum ",
        "trait ",
        "impl ",
        "impl<",
        "interface ",
        "func ",
        "module ",
        "type ",
        "macro_rules! ",
    ];
    KEYWORDS.iter().any(|k| s.starts_with(k))
}

/// Render kept rows as they were and one marker per dropped run of a file.
fn render(p: &parse::Parsed, lines: &[&str], keep: &mut [bool], key: &str) -> String {
    // Error lines survive every lossy step, whatever the selection chose.
    for (k, line) in keep.iter_mut().zip(lines) {
        *k |= super::errors::is_error_line(line);
    }
    // A separator belongs to the file of the rows before it.
    let mut owner = Vec::with_capacity(p.rows.len());
    let mut last = None;
    for row in &p.rows {
        last = file_key(p, row).or(if *row == Row::Sep { last } else { None });
        owner.push(last);
    }
    let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    let mut i = 0;
    while i < lines.len() {
        if !keep[i] {
            let start = i;
            while i < lines.len() && !keep[i] && owner[i] == owner[start] {
                i += 1;
            }
            if i - start < MIN_ELIDED_RUN {
                keep[start..i].iter_mut().for_each(|k| *k = true);
                i = start;
                continue;
            }
            let rows = &p.rows[start..i];
            let matches = rows.iter().filter(|r| matches!(r, Row::Hit { matched: true, .. })).count();
            let context = rows.iter().filter(|r| matches!(r, Row::Hit { matched: false, .. })).count();
            let mut note = format!("{matches} matches");
            if context > 0 {
                note.push_str(&format!(" + {context} context lines"));
            }
            if let Some(path) = owner[start].and_then(|f| p.paths.get(f)) {
                note.push_str(" of ");
                note.push_str(path);
            }
            let marker = Marker::new(Unit::Lines, vec![(start + 1, i)], key).with_note(&note);
            out.push_str(&marker.render());
            out.push('\n');
            continue;
        }
        out.push_str(lines[i]);
        out.push('\n');
        i += 1;
    }
    out
}
