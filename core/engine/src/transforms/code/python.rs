//! Python structure from indentation: `def`/`class` blocks with their decorators and
//! (possibly multi-line) signatures, docstrings, and long multi-line literals.

use super::source::{Source, indent};
use super::{Block, Kind};

/// Multi-line statements longer than this (data tables, long string constants) are shortened.
const DATA_SPAN: usize = 12;
/// Docstrings outside functions longer than this keep only their first and last lines.
const DOC_SPAN: usize = 8;

/// Per physical line: how it fits into logical lines.
#[derive(Clone, Copy, Default)]
struct Lex {
    /// First line of a logical line (not blank, not a comment, not inside a string or brackets).
    stmt: bool,
    blank: bool,
    comment: bool,
    /// For `stmt` lines: the last physical line of the logical line.
    end: usize,
    /// The code (comment removed) ends with `:` outside any string.
    colon: bool,
    /// The last line, when a statement is still open at the end of the text.
    open: bool,
}

pub(super) fn blocks(src: &Source) -> Vec<Block> {
    let n = src.len();
    let lex = lex(src);
    let mut owner = vec![None; n];
    for s in (0..n).filter(|&s| lex[s].stmt) {
        for slot in &mut owner[s..=lex[s].end] {
            *slot = Some(s);
        }
    }
    let code_of = |i: usize| src.code(i).trim_start();
    let mut out = Vec::new();
    for i in (0..n).filter(|&i| lex[i].stmt) {
        let t = code_of(i);
        let end = lex[i].end;
        // A statement still open at the end of the text may be a lexing accident (an
        // excerpt cut inside a string): never shorten it.
        let closed = end + 1 < n || !lex[end].open;
        let kind = if t.starts_with("def ") || t.starts_with("async def ") {
            Kind::Function
        } else if t.starts_with("class ") {
            Kind::Container
        } else {
            if !closed {
                continue;
            }
            if is_string_start(t) && end - i + 1 > DOC_SPAN {
                out.push(span(i, doc_head_end(src, i, end), end, 0));
            } else if !is_string_start(t) && end - i + 1 > DATA_SPAN && !t.starts_with('@') {
                out.push(span(i, i, end, 2));
            }
            continue;
        };
        if !lex[end].colon || !closed {
            continue;
        }
        let ind = indent(src.code(i));
        let mut head_start = i;
        while head_start > 0 {
            match owner[head_start - 1] {
                Some(p) if indent(src.code(p)) == ind && code_of(p).starts_with('@') => head_start = p,
                _ => break,
            }
        }
        let mut last = end;
        for (k, l) in lex.iter().enumerate().skip(end + 1) {
            let outdented = indent(src.code(k)) <= ind;
            if l.stmt && outdented {
                break;
            }
            // Comments at or left of the header's indentation are not part of the body.
            if !(l.blank || l.comment && outdented) {
                last = k;
            }
        }
        if last == end {
            continue;
        }
        let doc = (end + 1..=last)
            .find(|&k| lex[k].stmt)
            .filter(|&k| is_string_start(code_of(k)))
            .map(|k| (k, doc_head_end(src, k, lex[k].end), lex[k].end));
        out.push(Block {
            kind,
            head: (head_start, end),
            body: (end + 1, last),
            close: None,
            keep_first: 3,
            doc,
            named: true,
        });
    }
    out.sort_by_key(|b| b.head.0);
    out
}

/// A statement kept by its head, its first `keep_first` further lines and its last line.
fn span(start: usize, head_end: usize, end: usize, keep_first: usize) -> Block {
    Block {
        kind: Kind::Span,
        head: (start, head_end),
        body: (head_end + 1, end.saturating_sub(1)),
        close: Some(end),
        keep_first,
        doc: None,
        named: false,
    }
}

/// A docstring's head: its first line, plus the next when the first holds only the quotes.
fn doc_head_end(src: &Source, start: usize, end: usize) -> usize {
    let t = src.code(start).trim().trim_start_matches(['r', 'R', 'u', 'U', 'b', 'B', 'f', 'F']);
    if t.len() == 3 && start + 1 < end { start + 1 } else { start }
}

fn is_string_start(t: &str) -> bool {
    let b = t.as_bytes();
    let p = b.iter().take(2).take_while(|c| b"rRuUbBfF".contains(c)).count();
    matches!(b.get(p), Some(b'"' | b'\''))
}

fn lex(src: &Source) -> Vec<Lex> {
    let n = src.len();
    let mut out = vec![Lex::default(); n];
    let mut triple = starts_inside_docstring(src, 0);
    let mut depth = 0i32;
    let mut cont = false;
    let mut open: Option<usize> = None;
    for i in 0..n {
        let code = src.code(i);
        let t = code.trim();
        if src.is_wrapper(i) {
            // Whatever was open when a tool cut its output does not go on after the cut.
            (triple, depth, cont) = (starts_inside_docstring(src, i + 1), 0, false);
            if let Some(s) = open.take() {
                out[s].end = i.saturating_sub(1).max(s);
            }
            out[i] = Lex { stmt: true, end: i, ..Lex::default() };
            continue;
        }
        let fresh = triple.is_none() && depth == 0 && !cont;
        let blank = t.is_empty();
        let comment = fresh && t.starts_with('#');
        let stmt = fresh && !blank && !comment;
        if stmt {
            open = Some(i);
        }
        let code_end = scan(code, &mut triple, &mut depth);
        let body = code[..code_end].trim_end();
        cont = triple.is_none() && body.ends_with('\\');
        let colon = triple.is_none() && body.ends_with(':');
        out[i] = Lex { stmt, blank, comment, end: i, colon, open: false };
        if triple.is_none()
            && depth == 0
            && !cont
            && let Some(s) = open.take()
        {
            out[s].end = i;
        }
    }
    if let Some(s) = open {
        out[s].end = n - 1;
        out[n - 1].open = true;
    }
    out
}

/// Advance the lexer state over one line; returns where a trailing comment starts.
fn scan(code: &str, triple: &mut Option<u8>, depth: &mut i32) -> usize {
    let b = code.as_bytes();
    let mut j = 0;
    while j < b.len() {
        if let Some(q) = *triple {
            if b[j] == b'\\' {
                j += 2;
            } else if b[j..].starts_with(&[q, q, q]) {
                *triple = None;
                j += 3;
            } else {
                j += 1;
            }
            continue;
        }
        match b[j] {
            b'#' => return j,
            q @ (b'"' | b'\'') => {
                if b[j..].starts_with(&[q, q, q]) {
                    *triple = Some(q);
                    j += 3;
                    continue;
                }
                j += 1;
                while j < b.len() && b[j] != q {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' | b'{' => *depth += 1,
            b')' | b']' | b'}' => *depth = (*depth - 1).max(0),
            _ => {}
        }
        j += 1;
    }
    b.len()
}

/// An excerpt (`sed -n 70,180p`, or the tail of a cut output) may begin inside a
/// docstring. Its first triple quote then closes rather than opens: it comes after prose
/// (nothing above it reads as code), not after a `def ...:` header, and nothing but the
/// quotes (or a bracket) follows it.
fn starts_inside_docstring(src: &Source, from: usize) -> Option<u8> {
    let mut seen = false;
    let mut prev_colon = false;
    for i in from..src.len() {
        let t = src.code(i).trim();
        if t.is_empty() {
            continue;
        }
        if src.is_wrapper(i) {
            return None;
        }
        let (q, pat) = if t.contains("\"\"\"") {
            (b'"', "\"\"\"")
        } else if t.contains("'''") {
            (b'\'', "'''")
        } else {
            if looks_like_code(t) {
                return None;
            }
            seen = true;
            prev_colon = t.ends_with(':');
            continue;
        };
        if t.matches(pat).count() % 2 == 0 {
            seen = true;
            continue;
        }
        let at = t.find(pat)?;
        let after = t[at + 3..].trim();
        let closing = seen
            && !prev_colon
            && !t[..at].contains(['=', '(', '[', '{', ','])
            && matches!(after, "" | ")" | "," | "),");
        return closing.then_some(q);
    }
    None
}

/// Statements prose does not look like (docstrings are full of `with`, `for` and `if`).
fn looks_like_code(t: &str) -> bool {
    let word = |kw: &str| t.strip_prefix(kw).and_then(|r| r.strip_prefix(' '));
    if let Some(rest) = word("def").or_else(|| word("async def")).and_then(ident) {
        return rest.starts_with('(');
    }
    if let Some(rest) = word("class").and_then(ident) {
        return rest.starts_with(['(', ':']);
    }
    if let Some(rest) = word("from") {
        return rest.contains(" import ") && !rest.contains(", ") || rest.ends_with(" import (");
    }
    if let Some(rest) = word("import") {
        return rest.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ',' | ' '));
    }
    if let Some(name) = t.strip_prefix('@') {
        return ident(name).is_some();
    }
    if matches!(t, "else:" | "try:" | "finally:" | "return" | "pass" | "break" | "continue") {
        return true;
    }
    let compound = ["if", "elif", "while", "for", "with", "except"].iter().any(|k| word(k).is_some());
    compound && t.ends_with(':') || (word("return").is_some() || word("raise").is_some()) && !t.ends_with('.')
}

/// The text after a leading identifier, if there is one.
fn ident(s: &str) -> Option<&str> {
    let n = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    (n > 0).then(|| &s[n..])
}
