//! What a `{` opens in a brace language, judged from the statement text before it.

use super::Kind;
use super::source::Lang;

const MODIFIERS: &[&str] = &[
    "pub",
    "export",
    "default",
    "async",
    "static",
    "public",
    "private",
    "protected",
    "internal",
    "abstract",
    "final",
    "virtual",
    "inline",
    "unsafe",
    "extern",
    "\"\"",
    "override",
    "sealed",
    "partial",
    "declare",
    "readonly",
    "native",
    "constexpr",
    "explicit",
    "friend",
    "open",
    "suspend",
    "typedef",
];
const CONTAINERS: &[&str] = &[
    "class",
    "interface",
    "trait",
    "impl",
    "mod",
    "namespace",
    "record",
    "module",
    "struct",
    "enum",
    "union",
    "type",
];

/// What a `{` opens, from the statement text before it: a function, a container of
/// definitions, or anything else (control flow, literals, closures).
pub(super) fn classify(header: &str, lang: Lang) -> (Option<Kind>, bool) {
    let mut h = header.trim();
    loop {
        let before = h;
        if let Some(rest) = h.strip_prefix("#[").or_else(|| h.strip_prefix("#![")) {
            h = skip_group(rest, b'[', b']');
        } else if let Some(rest) = h.strip_prefix('@') {
            let name =
                rest.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.')).unwrap_or(rest.len());
            h = rest[name..].trim_start();
            if let Some(args) = h.strip_prefix('(') {
                h = skip_group(args, b'(', b')');
            }
        } else if let Some(rest) = h.strip_prefix("template") {
            h = rest.trim_start().strip_prefix('<').map_or(rest, |r| skip_group(r, b'<', b'>'));
        } else {
            let w = first_word(h);
            let next = first_word(h[w.len()..].trim_start());
            if MODIFIERS.contains(&w)
                || (w == "const" && next == "fn")
                || (w == "synchronized" && !next.is_empty())
            {
                h = h[w.len()..].trim_start();
                if w == "pub"
                    && let Some(r) = h.strip_prefix('(')
                {
                    h = skip_group(r, b'(', b')');
                }
            }
        }
        h = h.trim_start();
        if h == before {
            break;
        }
    }
    let w = first_word(h);
    match w {
        "fn" | "func" | "function" | "fun" => return (Some(Kind::Function), true),
        "struct" | "union" | "enum" if h.contains('(') && lang == Lang::CLike => {
            return (Some(Kind::Function), true);
        }
        _ if CONTAINERS.contains(&w) => return (Some(Kind::Container), true),
        _ => {}
    }
    let arrow = lang == Lang::Js && h.ends_with("=>");
    if matches!(w, "let" | "const" | "var") {
        return if arrow { (Some(Kind::Function), true) } else { (None, false) };
    }
    if w.is_empty() || CONTROL.contains(&w) {
        return (None, false);
    }
    if arrow || (lang == Lang::Js && h.split(|c: char| !c.is_alphanumeric()).any(|x| x == "function")) {
        return (Some(Kind::Function), false);
    }
    // `Type name(args) qualifiers` or a JS method `name(args)`: a parameter list whose
    // prefix is only names and type punctuation (an `=` would make it an expression).
    let Some(open) = h.find('(') else {
        return (None, false);
    };
    let prefix_ok = h[..open].chars().all(|c| {
        c.is_alphanumeric()
            || matches!(c, '_' | '$' | ' ' | ':' | '<' | '>' | ',' | '*' | '&' | '~' | '[' | ']' | '.' | '#')
    });
    let closed = h.contains(')') && !h[h.rfind(')').unwrap_or(0)..].contains(['=', ';']);
    if prefix_ok && closed { (Some(Kind::Function), true) } else { (None, false) }
}

const CONTROL: &[&str] = &[
    "if",
    "else",
    "for",
    "while",
    "loop",
    "match",
    "switch",
    "do",
    "try",
    "catch",
    "finally",
    "return",
    "new",
    "throw",
    "yield",
    "await",
    "case",
    "using",
    "lock",
    "foreach",
    "select",
    "go",
    "defer",
    "where",
    "synchronized",
    "with",
    "unsafe",
    "async",
    "move",
    "static",
    "default",
];

fn first_word(s: &str) -> &str {
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '$' || c == '"')).unwrap_or(s.len());
    &s[..end]
}

/// The text after the group closed by `close`, `rest` starting just inside it.
fn skip_group(rest: &str, open: u8, close: u8) -> &str {
    let mut depth = 1;
    for (k, c) in rest.bytes().enumerate() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth == 0 {
                return rest[k + 1..].trim_start();
            }
        }
    }
    ""
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_headers() {
        let f = |h: &str, l| classify(h, l).0;
        assert_eq!(f("pub(crate) async fn run(&self)", Lang::Rust), Some(Kind::Function));
        assert_eq!(f("#[derive(Debug)] pub struct X", Lang::Rust), Some(Kind::Container));
        assert_eq!(f("impl<T: Clone> Foo for Bar<T> where T: Fn()", Lang::Rust), Some(Kind::Container));
        assert_eq!(f("Some(x) =>", Lang::Rust), None);
        assert_eq!(f("match x", Lang::Rust), None);
        assert_eq!(f("func (s *Server) Handle(w http.ResponseWriter) error", Lang::Go), Some(Kind::Function));
        assert_eq!(f("if err != nil", Lang::Go), None);
        assert_eq!(f("export const handler = async (req, res) =>", Lang::Js), Some(Kind::Function));
        assert_eq!(f("async load(id: string): Promise<User>", Lang::Js), Some(Kind::Function));
        assert_eq!(f("export default class Store extends Base", Lang::Js), Some(Kind::Container));
        assert_eq!(f("} else if (x > 1)", Lang::Js), None);
        assert_eq!(f("@Override public String toString()", Lang::CLike), Some(Kind::Function));
        assert_eq!(f("static int parse(const char *s, size_t n)", Lang::CLike), Some(Kind::Function));
        assert_eq!(f("for (int i = 0; i < n; i++)", Lang::CLike), None);
        assert_eq!(f("x = foo(1)", Lang::Js), None);
    }
}
