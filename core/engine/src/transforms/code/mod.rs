//! Source code: an outline that keeps what an agent navigates by and drops the insides of
//! long function bodies.
//!
//! Structure comes from indentation (Python) or matched braces (Rust, Go, JS/TS, Java,
//! C/C++), never from a parser, so excerpts (`sed -n 70,180p`) and numbered listings
//! (`cat -n`, `nl -ba`, `grep -n`) work too: the number prefix is set aside, indentation is
//! measured after it, and kept lines come out verbatim with their numbers.
//!
//! Kept: imports, module- and class-level statements, decorators and attributes, every
//! signature (all of its lines), the first line of docstrings, the first lines of each long
//! body, `raise`/`throw`/`panic!` lines, closing braces, and the whole of any function whose
//! signature or body mentions the query (or any class whose signature does). Dropped: the
//! rest of bodies over [`LONG_BODY`] lines, the middles of long docstrings and of long
//! multi-line literals, each run replaced by one marker line at the body's indentation.

mod brace;
mod classify;
mod python;
mod source;
#[cfg(test)]
mod tests;

use super::lines::{MIN_ELIDED_RUN, pays};
use super::{Ctx, Rewrite};
use crate::marker::{Marker, Unit};
use source::{Lang, Source};

/// Shorter texts are read whole: an outline would save little and hide a lot.
const MIN_LINES: usize = 80;
/// Bodies with more non-blank lines than this are shortened.
const LONG_BODY: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A function or method: its body may be elided.
    Function,
    /// A class, impl, trait, struct, module: its members are outlined one by one.
    Container,
    /// One long statement (docstring, data literal): its middle may be elided.
    Span,
}

/// A structural unit; all ranges are inclusive 0-based line indices.
#[derive(Debug, Clone)]
struct Block {
    kind: Kind,
    /// Decorators/attributes and the whole signature.
    head: (usize, usize),
    /// Empty when `body.0 > body.1`.
    body: (usize, usize),
    /// The closing line kept with the head (`}`, a docstring's closing quotes).
    close: Option<usize>,
    /// How many non-blank body lines are kept at the top of an elided body.
    keep_first: usize,
    /// A function's docstring: first line, end of its kept head, last line.
    doc: Option<(usize, usize, usize)>,
    /// A nested definition whose signature is worth keeping inside an elided body.
    named: bool,
}

impl Block {
    fn end(&self) -> usize {
        self.close.unwrap_or(self.body.1).max(self.head.1)
    }
}

/// Compress `text`; `None` when there is nothing worth doing.
pub fn compress(text: &str, ctx: &Ctx) -> Option<Rewrite> {
    // Code has no lossless rewrite that keeps it verbatim; everything here drops lines. And a
    // command that asked for a slice of a file (`sed -n '40,90p'`, `head -n 50`) asked for
    // exactly this code: it is what the question is about.
    if !ctx.lossy || ctx.query.is_focused() {
        return None;
    }
    let src = Source::new(text);
    if src.len() < MIN_LINES {
        return None;
    }
    let lang = source::detect(&src)?;
    let blocks = match lang {
        Lang::Python => python::blocks(&src),
        _ => brace::blocks(&src, lang),
    };
    let (keep, anchor) = plan(&src, &blocks, ctx, lang);
    render(&src, &keep, &anchor, ctx.key).map(|out| Rewrite::lossy(out, "code:outline"))
}

/// Which lines to keep, and for each dropped line the line whose indentation its marker takes.
fn plan(src: &Source, blocks: &[Block], ctx: &Ctx, lang: Lang) -> (Vec<bool>, Vec<usize>) {
    let n = src.len();
    let blank = |i: usize| src.code(i).trim().is_empty();
    let mentions: Vec<bool> = (0..n).map(|i| ctx.query.mentions(src.code(i))).collect();
    let any = |a: usize, b: usize| mentions[a..=b].iter().any(|m| *m);
    // The question is about these: no line of them is touched.
    let mut protect = vec![false; n];
    for b in blocks {
        let hit = match b.kind {
            Kind::Container => any(b.head.0, b.head.1),
            _ => any(b.head.0, b.end()),
        };
        if hit {
            protect[b.head.0..=b.end()].fill(true);
        }
    }
    let mut in_function = vec![false; n];
    for b in blocks.iter().filter(|b| b.kind == Kind::Function && b.body.0 <= b.body.1) {
        in_function[b.body.0..=b.body.1].fill(true);
    }
    let mut keep = vec![true; n];
    let mut anchor: Vec<usize> = (0..n).collect();
    let mut drop_range = |keep: &mut Vec<bool>, s: usize, e: usize| {
        let at = (s..=e).find(|&i| !blank(i)).unwrap_or(s);
        for i in s..=e {
            keep[i] = false;
            anchor[i] = at;
        }
    };
    let keep_first = |keep: &mut Vec<bool>, from: usize, to: usize, count: usize| {
        for i in (from..=to).filter(|&i| !blank(i)).take(count) {
            keep[i] = true;
        }
    };
    // Blocks are sorted by start, so an outer function comes before those nested in it.
    let mut elided_until = 0;
    for (idx, b) in blocks.iter().enumerate().filter(|(_, b)| b.kind == Kind::Function) {
        let (s, e) = b.body;
        if b.head.0 < elided_until || protect[b.head.0] || s > e {
            continue;
        }
        if (s..=e).filter(|&i| !blank(i)).count() <= LONG_BODY {
            continue;
        }
        drop_range(&mut keep, s, e);
        elided_until = e + 1;
        let (mut code_from, mut first) = (s, b.keep_first);
        if let Some((ds, dh, de)) = b.doc {
            keep[ds..=dh].fill(true);
            keep[de] = true;
            // The docstring's first line already says what the body does.
            (code_from, first) = (de + 1, first.saturating_sub(1));
        }
        if code_from <= e {
            keep_first(&mut keep, code_from, e, first);
        }
        for i in (s..=e).filter(|&i| raises(src.code(i), lang)) {
            keep[i] = true;
        }
        let nested = blocks[idx + 1..].iter().take_while(|x| x.head.0 <= e);
        for inner in nested.filter(|x| x.named && x.kind != Kind::Span && x.head.0 >= s) {
            keep[inner.head.0..=inner.head.1.min(e)].fill(true);
        }
    }
    for b in blocks.iter().filter(|b| b.kind == Kind::Span) {
        let (s, e) = b.body;
        if in_function[b.head.0] || protect[b.head.0] || s > e {
            continue;
        }
        drop_range(&mut keep, s, e);
        keep_first(&mut keep, s, e, b.keep_first);
    }
    (keep, anchor)
}

/// Lines that say how a function fails: worth keeping inside an elided body.
fn raises(code: &str, lang: Lang) -> bool {
    let t = code.trim_start();
    match lang {
        Lang::Python => t == "raise" || t.starts_with("raise "),
        Lang::Rust => ["panic!(", "unreachable!(", "bail!(", "unimplemented!("].iter().any(|p| t.contains(p)),
        Lang::Go => t.starts_with("panic(") || t.contains("log.Fatal"),
        Lang::Js | Lang::CLike => t.starts_with("throw ") || t.contains(" throw "),
    }
}

/// Kept lines verbatim; each dropped run of at least [`MIN_ELIDED_RUN`] lines that outweighs
/// its marker ([`pays`]) becomes one marker line, indented like the body it stands in, with the source line numbers when the
/// input was numbered. `None` when nothing would be dropped.
fn render(src: &Source, keep: &[bool], anchor: &[usize], key: &str) -> Option<String> {
    let n = src.len();
    let mut out = String::with_capacity(src.lines.iter().map(|l| l.len() + 1).sum::<usize>() / 2);
    let mut dropped = false;
    let mut i = 0;
    // Error lines survive every lossy step, whatever the outliner chose.
    let kept = |i: usize| keep[i] || crate::transforms::errors::is_error_line(src.code(i));
    while i < n {
        if kept(i) {
            out.push_str(src.lines[i]);
            out.push('\n');
            i += 1;
            continue;
        }
        let start = i;
        while i < n && !kept(i) {
            i += 1;
        }
        let mut marker = Marker::new(Unit::Lines, vec![(start + 1, i)], key);
        if let (Some(a), Some(b)) = (src.number(start), src.number(i - 1))
            && (a, b) != (start + 1, i)
        {
            marker = marker.with_note(&format!("source lines {a}-{b}"));
        }
        let at = anchor[start];
        let line = format!("{}{}{}", src.blank_prefix(at), source::indent_str(src.code(at)), marker.render());
        if i - start < MIN_ELIDED_RUN || !pays(&src.lines[start..i], &line) {
            for line in &src.lines[start..i] {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        dropped = true;
        out.push_str(&line);
        out.push('\n');
    }
    if !dropped {
        return None;
    }
    if !src.ends_with_newline {
        out.pop();
    }
    Some(out)
}
