//! Structure of brace languages (Rust, Go, JS/TS, Java, C/C++): `{`/`}` matched outside
//! strings and comments, each block classified by the statement text that precedes its `{`.

use super::classify::classify;
use super::source::{Lang, Source};
use super::{Block, Kind};

/// Longest header text kept for classification; signatures are far shorter.
const MAX_HEADER: usize = 512;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Code,
    Comment,
    Str(u8),
    /// Rust raw string with this many `#`.
    Raw(usize),
    /// JS template literal or Go raw string.
    Tick,
}

struct Frame {
    open: usize,
    kind: Option<Kind>,
    head_start: usize,
    named: bool,
    /// A `{` inside parentheses (a closure or object argument) continues the enclosing
    /// statement: its header text, start line and paren depth come back at the `}`.
    saved: Option<(String, Option<usize>, i32)>,
}

pub(super) fn blocks(src: &Source, lang: Lang) -> Vec<Block> {
    let mut out = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut state = State::Code;
    let mut buf = String::new();
    let mut start: Option<usize> = None;
    let mut paren = 0i32;
    let asi = matches!(lang, Lang::Go | Lang::Js);
    for i in 0..src.len() {
        let code = src.code(i);
        let b = code.as_bytes();
        if src.is_wrapper(i) {
            // Blocks still open when a tool cut its output never close: keep them whole.
            frames.clear();
            (state, start, paren) = (State::Code, None, 0);
            buf.clear();
            continue;
        }
        if state == State::Code && lang != Lang::Rust && code.trim_start().starts_with('#') {
            continue;
        }
        let mut j = 0;
        while j < b.len() {
            let c = b[j];
            match state {
                State::Comment => {
                    if b[j..].starts_with(b"*/") {
                        state = State::Code;
                        j += 1;
                    }
                    j += 1;
                    continue;
                }
                State::Str(_) | State::Tick if c == b'\\' && !(state == State::Tick && lang == Lang::Go) => {
                    j += 2;
                    continue;
                }
                State::Str(q) => {
                    if c == q {
                        state = State::Code;
                    }
                    j += 1;
                    continue;
                }
                State::Tick => {
                    if c == b'`' {
                        state = State::Code;
                    }
                    j += 1;
                    continue;
                }
                State::Raw(h) => {
                    if c == b'"' && b[j + 1..].iter().take(h).filter(|x| **x == b'#').count() == h {
                        state = State::Code;
                        j += h;
                    }
                    j += 1;
                    continue;
                }
                State::Code => {}
            }
            if c.is_ascii_whitespace() {
                if !buf.is_empty() && !buf.ends_with(' ') {
                    push(&mut buf, " ");
                }
                j += 1;
                continue;
            }
            if c == b'/' && b.get(j + 1) == Some(&b'/') {
                break;
            }
            if c == b'/' && b.get(j + 1) == Some(&b'*') {
                state = State::Comment;
                j += 2;
                continue;
            }
            start.get_or_insert(i);
            match c {
                b'"' => {
                    state = State::Str(b'"');
                    push(&mut buf, "\"\"");
                }
                b'`' if matches!(lang, Lang::Go | Lang::Js) => {
                    state = State::Tick;
                    push(&mut buf, "``");
                }
                b'\'' if lang == Lang::Rust => {
                    // A char literal, or else a lifetime.
                    let rest = &code[j + 1..];
                    let skip = if rest.starts_with('\\') {
                        rest.get(2..).and_then(|r| r.find('\'')).map(|k| k + 3)
                    } else {
                        rest.chars()
                            .next()
                            .filter(|ch| rest[ch.len_utf8()..].starts_with('\''))
                            .map(|ch| ch.len_utf8() + 1)
                    };
                    push(&mut buf, "'");
                    j += skip.unwrap_or(0);
                }
                b'\'' => {
                    state = State::Str(b'\'');
                    push(&mut buf, "''");
                }
                b'r' if lang == Lang::Rust && raw_string(b, j).is_some() => {
                    let h = raw_string(b, j).unwrap_or(0);
                    state = State::Raw(h);
                    push(&mut buf, "\"\"");
                    j += h + 1;
                }
                b'(' | b'[' => {
                    paren += 1;
                    push(&mut buf, if c == b'(' { "(" } else { "[" });
                }
                b')' | b']' => {
                    paren = (paren - 1).max(0);
                    push(&mut buf, if c == b')' { ")" } else { "]" });
                }
                b';' if paren == 0 => {
                    buf.clear();
                    start = None;
                }
                b'{' => {
                    let frame = if paren > 0 {
                        Frame {
                            open: i,
                            kind: None,
                            head_start: i,
                            named: false,
                            saved: Some((std::mem::take(&mut buf), start, paren)),
                        }
                    } else {
                        let (kind, named) = classify(buf.trim(), lang);
                        Frame { open: i, kind, head_start: start.unwrap_or(i), named, saved: None }
                    };
                    frames.push(frame);
                    buf.clear();
                    start = None;
                    paren = 0;
                }
                b'}' => {
                    buf.clear();
                    start = None;
                    paren = 0;
                    if let Some(f) = frames.pop() {
                        if let (Some(kind), true) = (f.kind, i > f.open) {
                            out.push(Block {
                                kind,
                                head: (f.head_start, f.open),
                                body: (f.open + 1, i - 1),
                                close: Some(i),
                                keep_first: 3,
                                doc: None,
                                named: f.named,
                            });
                        }
                        if let Some((saved, s, p)) = f.saved {
                            buf = saved;
                            push(&mut buf, "{}");
                            start = s;
                            paren = p;
                        }
                    }
                }
                _ => {
                    if let Some(ch) = code.get(j..).and_then(|s| s.chars().next()) {
                        let mut tmp = [0u8; 4];
                        push(&mut buf, ch.encode_utf8(&mut tmp));
                        j += ch.len_utf8() - 1;
                    }
                }
            }
            j += 1;
        }
        // Only Rust strings (and escaped newlines) run on over lines; elsewhere an open quote
        // at the end of a line is a lexing slip not to carry on.
        if let State::Str(_) = state
            && lang != Lang::Rust
            && !code.ends_with('\\')
        {
            state = State::Code;
        }
        if !buf.is_empty() && !buf.ends_with(' ') {
            push(&mut buf, " ");
        }
        if asi && paren == 0 && state == State::Code && statement_ends(&buf) {
            buf.clear();
            start = None;
        }
    }
    out.sort_by_key(|b| b.head.0);
    out
}

fn push(buf: &mut String, s: &str) {
    if buf.len() < MAX_HEADER {
        buf.push_str(s);
    }
}

/// For newline-terminated languages: whether the text so far can end a statement.
fn statement_ends(buf: &str) -> bool {
    let t = buf.trim_end();
    !t.is_empty()
        && !t.ends_with([',', '(', '[', '=', '+', '-', '*', '/', '&', '|', '?', ':', '.', '<', '>', '!'])
}

/// `r"`, `r#"`, `br##"`: the number of `#` of a Rust raw string starting at `j`.
fn raw_string(b: &[u8], j: usize) -> Option<usize> {
    if j > 0 && (b[j - 1].is_ascii_alphanumeric() || b[j - 1] == b'_') && b[j - 1] != b'b' {
        return None;
    }
    let h = b[j + 1..].iter().take_while(|c| **c == b'#').count();
    (b.get(j + 1 + h) == Some(&b'"')).then_some(h)
}
