//! Source code, plain or numbered by `cat -n` / `nl`.

use super::Sample;

/// Words that open a statement or declaration in common languages.
const KEYWORDS: &[&str] = &[
    "def",
    "class",
    "import",
    "from",
    "return",
    "if",
    "elif",
    "else",
    "for",
    "while",
    "try",
    "except",
    "finally",
    "with",
    "raise",
    "yield",
    "async",
    "await",
    "assert",
    "pass",
    "break",
    "continue",
    "del",
    "global",
    "nonlocal",
    "lambda",
    "fn",
    "pub",
    "let",
    "use",
    "impl",
    "struct",
    "enum",
    "mod",
    "match",
    "trait",
    "func",
    "package",
    "type",
    "var",
    "const",
    "function",
    "export",
    "public",
    "private",
    "protected",
    "static",
    "final",
    "interface",
    "switch",
    "case",
    "default",
    "void",
    "int",
    "char",
    "unsigned",
    "template",
    "namespace",
    "throw",
    "new",
    "defer",
    "go",
    "#include",
    "#define",
    "#ifdef",
    "#ifndef",
    "#endif",
    "#if",
    "do",
    "extern",
    "typedef",
    "unsafe",
    "where",
    "impl<",
    "static_assert",
];

/// Enough lines look like statements, declarations or block structure.
pub(super) fn is_code(sample: &Sample) -> bool {
    let numbered = sample.count(|l| strip_number(l).is_some());
    let strip = numbered >= 1 && sample.share(numbered, 0.8);
    // A slice of a file (`sed -n`, `nl | sed`) may start inside a docstring, so both
    // parities are tried.
    judge(sample, strip, false) || judge(sample, strip, true)
}

fn judge(sample: &Sample, strip: bool, starts_in_docstring: bool) -> bool {
    let mut score = 0.0;
    let mut strong = 0usize;
    let mut content = 0usize;
    let mut in_docstring = starts_in_docstring;
    for line in &sample.lines {
        let body = if strip { strip_number(line).unwrap_or(line) } else { line };
        if body.trim().is_empty() {
            continue;
        }
        // Docstrings are prose inside code: they neither prove nor disprove code.
        let quotes = body.matches("\"\"\"").count() + body.matches("'''").count();
        let was_in = in_docstring;
        in_docstring ^= quotes % 2 == 1;
        if was_in && quotes == 0 && !body.trim_start().starts_with(">>>") {
            continue;
        }
        content += 1;
        let s = if quotes > 0 { 0.75 } else { line_score(body) };
        score += s;
        strong += usize::from(s >= 0.75);
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

/// 1 for a line that is clearly code, 0.5 for a line with code punctuation only, 0 otherwise.
fn line_score(line: &str) -> f64 {
    let t = line.trim();
    let first = t.split(|c: char| c.is_whitespace() || c == '(' || c == ':').next().unwrap_or("");
    let keyword = KEYWORDS.contains(&first) && t.len() > first.len();
    let ends = t.ends_with(['{', '}', ';', ':', '(', ')', ',', '[', ']']);
    let symbols = ["()", " = ", "==", "->", "=>", "::", "!=", "+=", "&&", "||", "{}", "[]", "self.", "this."]
        .iter()
        .any(|s| t.contains(s));
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
