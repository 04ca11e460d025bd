//! The input as lines: an optional line-number prefix (`cat -n`, `nl -ba`, `grep -n`) split
//! off each line so indentation is measured on the code, and the language guessed from the
//! code itself.

/// The languages the outliner tells apart: what changes is how strings, comments and
/// statement ends are lexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lang {
    Python,
    Rust,
    Go,
    Js,
    /// C, C++, Java, C#: `;`-terminated, `#` preprocessor lines.
    CLike,
}

/// Lines of the block with their number prefixes located.
pub(super) struct Source<'a> {
    pub lines: Vec<&'a str>,
    pub ends_with_newline: bool,
    /// Byte length of each line's number prefix (0 when it has none).
    prefix_len: Vec<usize>,
    /// The source line number a prefix states.
    number: Vec<Option<usize>>,
}

impl<'a> Source<'a> {
    pub fn new(text: &'a str) -> Self {
        let (lines, ends_with_newline) = super::super::lines::split(text);
        let parsed: Vec<Option<(usize, usize)>> = lines.iter().map(|l| prefix(l)).collect();
        let nonempty = lines.iter().filter(|l| !l.trim().is_empty()).count();
        let with_prefix = parsed.iter().filter(|p| p.is_some()).count();
        // Plain code essentially never starts lines with `12:` or `   12<TAB>`, so a
        // clear majority decides; the odd wrapper or `--` separator line stays opaque.
        let numbered = nonempty > 0 && with_prefix * 10 >= nonempty * 9;
        let (prefix_len, number) = if numbered {
            parsed.iter().map(|p| p.map_or((0, None), |(len, n)| (len, Some(n)))).unzip()
        } else {
            (vec![0; lines.len()], vec![None; lines.len()])
        };
        Self { lines, ends_with_newline, prefix_len, number }
    }

    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// The code of line `i`, after its number prefix.
    pub fn code(&self, i: usize) -> &'a str {
        &self.lines[i][self.prefix_len[i]..]
    }

    /// A line of the tool's wrapper rather than of the file: `<returncode>0</returncode>`,
    /// `</warning><output_head>`, `<elided_chars>`. Outputs cut in the middle resume
    /// anywhere, so lexers start afresh after one.
    pub fn is_wrapper(&self, i: usize) -> bool {
        let t = self.lines[i].trim();
        t.len() > 2
            && t.starts_with('<')
            && t.ends_with('>')
            && t.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '<' | '>' | '/'))
    }

    pub fn number(&self, i: usize) -> Option<usize> {
        self.number[i]
    }

    /// What goes before a marker line so it lines up with the numbered code around it
    /// without looking like a numbered line itself.
    pub fn blank_prefix(&self, i: usize) -> String {
        self.lines[i][..self.prefix_len[i]].chars().map(|c| if c == '\t' { '\t' } else { ' ' }).collect()
    }
}

/// `(prefix length, line number)` of `12:`, `12-`, `   12<TAB>` or `3:   12<TAB>`.
fn prefix(line: &str) -> Option<(usize, usize)> {
    let b = line.as_bytes();
    let digits = |from: usize| b[from..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut at = 0;
    let mut grep_number = None;
    let d = digits(0);
    if d > 0 && matches!(b.get(d), Some(b':' | b'-')) {
        grep_number = line[..d].parse().ok();
        at = d + 1;
    }
    let spaces = b[at..].iter().take_while(|c| **c == b' ').count();
    let d = digits(at + spaces);
    let end = at + spaces + d;
    if d > 0 && (b.get(end) == Some(&b'\t') || end == b.len()) {
        let n = line[at + spaces..end].parse().ok()?;
        return Some(((end + 1).min(b.len()), n));
    }
    grep_number.map(|n| (at, n))
}

/// Guess the language from keywords; `None` when the text does not look like code.
pub(super) fn detect(src: &Source) -> Option<Lang> {
    let (mut py, mut brace) = (0usize, 0usize);
    let (mut rust, mut go, mut js, mut clike) = (0usize, 0usize, 0usize, 0usize);
    for i in 0..src.len().min(600) {
        let t = src.code(i).trim();
        if t.is_empty() {
            continue;
        }
        let starts = |ps: &[&str]| ps.iter().any(|p| t.starts_with(p));
        if foreign(t) {
            return None;
        }
        if starts(&["def ", "async def ", "elif ", "except", "from ", "import "])
            || (starts(&["class "]) && t.ends_with(':'))
            || matches!(t, "else:" | "try:" | "finally:")
        {
            py += 1;
        }
        if t.ends_with('{') || t.starts_with('}') || t.ends_with(';') {
            brace += 1;
        }
        if starts(&["fn ", "pub fn ", "pub(crate) ", "impl ", "impl<", "let mut ", "use ", "#[", "mod "])
            || t.contains("&self")
            || t.contains("::new(")
        {
            rust += 1;
        }
        if starts(&["func ", "package ", "type "]) || t.contains(":= ") || t.contains("err != nil") {
            go += 1;
        }
        if starts(&["function ", "export ", "const ", "let ", "var ", "async function"])
            || t.contains("=> ")
            || t.ends_with("=> {")
            || t.contains("require(")
        {
            js += 1;
        }
        if starts(&["#include", "#define", "public ", "private ", "protected ", "template<", "namespace "])
            || t.contains("std::")
        {
            clike += 1;
        }
    }
    if py >= 3 && py * 2 > brace {
        return Some(Lang::Python);
    }
    if brace < 3 {
        return None;
    }
    let best = [(rust, Lang::Rust), (go, Lang::Go), (js, Lang::Js), (clike, Lang::CLike)]
        .into_iter()
        .fold((0, Lang::CLike), |acc, (n, l)| if n > acc.0 { (n, l) } else { acc });
    Some(best.1)
}

/// Lines that only diffs, test runners and tracebacks print: such output quotes code but
/// is not a source file, and its own transform knows what to keep.
fn foreign(t: &str) -> bool {
    let banner = |c: char| t.len() > 10 && t.starts_with(c) && t.ends_with(c) && t.contains(' ');
    t.starts_with("diff --git ")
        || t.starts_with("@@ -")
        || (t.starts_with("File \"") && t.contains("\", line "))
        || banner('=')
        || banner('_')
}

/// Indentation width of a code line (tabs to the next multiple of 8, as Python does).
pub(super) fn indent(code: &str) -> usize {
    let mut w = 0;
    for c in code.chars() {
        match c {
            ' ' => w += 1,
            '\t' => w = (w / 8 + 1) * 8,
            _ => break,
        }
    }
    w
}

/// The leading whitespace of a code line.
pub(super) fn indent_str(code: &str) -> &str {
    &code[..code.len() - code.trim_start_matches([' ', '\t']).len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(prefix("   123\t    x = 1"), Some((7, 123)));
        assert_eq!(prefix("    74\t"), Some((7, 74)));
        assert_eq!(prefix("123:def f():"), Some((4, 123)));
        assert_eq!(prefix("12-    pass"), Some((3, 12)));
        assert_eq!(prefix("3:    12\tdef f():"), Some((9, 12)));
        assert_eq!(prefix("x = 1"), None);
        assert_eq!(prefix("    return 1"), None);
    }
}
