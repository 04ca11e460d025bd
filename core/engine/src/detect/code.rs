//! Source code, plain or numbered by `cat -n` / `nl`.

use super::Sample;
use crate::needles::AnyOf;

/// Whether `w` opens a statement or declaration in a common language (a `match`, which
/// compiles to a dispatch on length instead of a walk through every keyword).
fn is_keyword(w: &str) -> bool {
    matches!(
        w,
        "def"
            | "class"
            | "import"
            | "from"
            | "return"
            | "if"
            | "elif"
            | "else"
            | "for"
            | "while"
            | "try"
            | "except"
            | "finally"
            | "with"
            | "raise"
            | "yield"
            | "async"
            | "await"
            | "assert"
            | "pass"
            | "break"
            | "continue"
            | "del"
            | "global"
            | "nonlocal"
            | "lambda"
            | "fn"
            | "pub"
            | "let"
            | "use"
            | "impl"
            | "struct"
            | "enum"
            | "mod"
            | "match"
            | "trait"
            | "func"
            | "package"
            | "type"
            | "var"
            | "const"
            | "function"
            | "export"
            | "public"
            | "private"
            | "protected"
            | "static"
            | "final"
            | "interface"
            | "switch"
            | "case"
            | "default"
            | "void"
            | "int"
            | "char"
            | "unsigned"
            | "template"
            | "namespace"
            | "throw"
            | "new"
            | "defer"
            | "go"
            | "#include"
            | "#define"
            | "#ifdef"
            | "#ifndef"
            | "#endif"
            | "#if"
            | "do"
            | "extern"
            | "typedef"
            | "unsafe"
            | "where"
            | "impl<"
            | "static_assert"
    )
}

/// Enough lines look like statements, declarations or block structure.
pub(super) fn is_code(sample: &Sample) -> bool {
    let strip = sample.share_of(|l| strip_number(l).is_some(), 0.8).is_some_and(|n| n >= 1);
    // What each line says does not depend on where docstrings start: read every line once,
    // then judge with both parities.
    let lines: Vec<Line> = sample
        .lines
        .iter()
        .filter_map(|line| {
            let body = if strip { strip_number(line).unwrap_or(line) } else { line };
            if body.trim_start().is_empty() {
                return None;
            }
            // Most lines hold no quote at all: the two searches run only when one does.
            let quotes = if memchr::memchr2(b'"', b'\'', body.as_bytes()).is_some() {
                triples(body, b'"') + triples(body, b'\'')
            } else {
                0
            };
            Some(Line {
                quotes,
                doctest: body.trim_start().starts_with(">>>"),
                score: if quotes > 0 { 0.75 } else { line_score(body) },
            })
        })
        .collect();
    // A slice of a file (`sed -n`, `nl | sed`) may start inside a docstring, so both
    // parities are tried.
    judge(&lines, false) || judge(&lines, true)
}

/// `line.matches(q q q).count()` for a quote `q`: non-overlapping runs of three, from the left.
pub(super) fn triples(line: &str, q: u8) -> usize {
    let b = line.as_bytes();
    let (mut n, mut at) = (0, 0);
    while let Some(i) = memchr::memchr(q, &b[at..]) {
        let i = at + i;
        if b.len() - i >= 3 && b[i + 1] == q && b[i + 2] == q {
            n += 1;
            at = i + 3;
        } else {
            at = i + 1;
        }
    }
    n
}

/// A non-blank sampled line, as [`judge`] weighs it.
struct Line {
    /// Docstring quotes (`"""`, `'''`) on the line.
    quotes: usize,
    /// A doctest prompt (`>>>`), code even inside a docstring.
    doctest: bool,
    /// Its [`line_score`] (0.75 for a line with docstring quotes).
    score: f64,
}

fn judge(lines: &[Line], starts_in_docstring: bool) -> bool {
    let mut score = 0.0;
    let mut strong = 0usize;
    let mut content = 0usize;
    let mut in_docstring = starts_in_docstring;
    for line in lines {
        // Docstrings are prose inside code: they neither prove nor disprove code.
        let was_in = in_docstring;
        in_docstring ^= line.quotes % 2 == 1;
        if was_in && line.quotes == 0 && !line.doctest {
            continue;
        }
        content += 1;
        score += line.score;
        strong += usize::from(line.score >= 0.75);
    }
    // Program output has parentheses and `=` too; statements and declarations tell code apart.
    strong >= 1 && strong as f64 >= 0.15 * content as f64 && score >= 0.35 * content as f64
}

/// The text after a `cat -n` / `nl -ba` number and tab, if the line has one.
pub(crate) fn strip_number(line: &str) -> Option<&str> {
    let t = line.trim_start_matches(' ');
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    t[digits..].strip_prefix('\t').or(if t.len() == digits { Some("") } else { None })
}

/// Punctuation and receivers that only code writes.
static SYMBOLS: AnyOf<14> =
    AnyOf::new(["()", " = ", "==", "->", "=>", "::", "!=", "+=", "&&", "||", "{}", "[]", "self.", "this."]);

/// Where `t.split(|c: char| c.is_whitespace() || c == '(' || c == ':').next()` ends: by
/// bytes while they are ASCII, by characters from the first that is not.
pub(super) fn first_word_end(t: &str) -> usize {
    for (i, &b) in t.as_bytes().iter().enumerate() {
        if !b.is_ascii() {
            return i + t[i..]
                .find(|c: char| c.is_whitespace() || c == '(' || c == ':')
                .unwrap_or(t.len() - i);
        }
        // `char::is_whitespace` on ASCII: space, tab, line feed, vertical tab, form feed, return.
        if matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b'(' | b':') {
            return i;
        }
    }
    t.len()
}

/// 1 for a line that is clearly code, 0.5 for a line with code punctuation only, 0 otherwise.
fn line_score(line: &str) -> f64 {
    let t = line.trim();
    let first = &t[..first_word_end(t)];
    let keyword = is_keyword(first) && t.len() > first.len();
    let ends = t.ends_with(['{', '}', ';', ':', '(', ')', ',', '[', ']']);
    let symbols = SYMBOLS.in_text(t);
    let comment = t.starts_with("//")
        || t.starts_with("/*")
        || t.starts_with("* ")
        || (t.starts_with('#') && line.starts_with(' '))
        || t.starts_with(">>> ");
    let decorator = t.starts_with('@') && t.len() > 1 && t[1..].starts_with(char::is_alphabetic);
    let closing = matches!(t, "}" | "};" | "})" | ")" | "]" | "end" | "fi" | "done");
    let indented_ends = line.starts_with("    ") && (ends || symbols);
    if closing || decorator || (keyword && (ends || symbols || line.starts_with(' '))) {
        1.0
    } else if keyword || comment || indented_ends || (ends && symbols) {
        0.75
    } else if ends || symbols {
        0.3
    } else {
        0.0
    }
}
