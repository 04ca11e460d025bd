//! The relevance hint: terms taken from the text that precedes a block.

/// Words of a question or command that make a line or item worth keeping.
///
/// Parsed on first use: most blocks of a long history never consult their hint.
#[derive(Debug, Clone, Default)]
pub struct Query {
    text: String,
    parsed: std::cell::OnceCell<Parsed>,
}

/// Shell words and filler that say nothing about which lines matter.
const STOP: &[&str] = &[
    "the", "and", "for", "with", "that", "this", "from", "into", "then", "are", "was", "not", "grep", "sed",
    "cat", "head", "tail", "find", "echo", "bash", "python", "python3", "git", "diff", "show", "run", "let",
    "check", "file", "files", "line", "lines", "will", "now", "see", "can", "what", "how", "why", "use",
    "look", "thought", "need", "let's", "its", "name", "type", "print", "import", "def", "class", "return",
    "self", "true", "false", "none", "null", "pytest", "testbed", "output", "command",
];

impl Query {
    /// A hint from `text`; terms are extracted on first use (see [`Query::terms`]).
    pub fn new(text: &str) -> Self {
        Self { text: text.to_owned(), parsed: std::cell::OnceCell::new() }
    }

    fn parsed(&self) -> &Parsed {
        self.parsed.get_or_init(|| {
            let terms = extract_terms(&self.text);
            let mut starts = [false; 256];
            for t in &terms {
                if let Some(&b) = t.as_bytes().first() {
                    starts[usize::from(b)] = true;
                    starts[usize::from(b.to_ascii_uppercase())] = true;
                }
            }
            let pairs = Pairs::of(&terms);
            Parsed { terms, focused: asks_for_a_slice(&self.text), starts, pairs }
        })
    }

    /// True when there are no terms.
    pub fn is_empty(&self) -> bool {
        self.terms().is_empty()
    }

    /// Identifiers, paths and numbers of at least 3 characters, lowercased, without shell
    /// flags and stop words, de-duplicated, in first-seen order.
    pub fn terms(&self) -> &[String] {
        &self.parsed().terms
    }

    /// True when the text asked for a chosen slice of a file (`sed -n 'a,bp'`, `head -n`,
    /// `tail -n`, `awk 'NR...`): the output is then what the question is about, whole.
    pub fn is_focused(&self) -> bool {
        self.parsed().focused
    }

    /// True when `text` contains any term (case-insensitive substring).
    pub fn mentions(&self, text: &str) -> bool {
        let terms = self.terms();
        if terms.is_empty() {
            return false;
        }
        if text.is_ascii() {
            let parsed = self.parsed();
            return match &parsed.pairs {
                Some(pairs) => pairs.any_in(text.as_bytes(), terms),
                None => contains_any_ignore_ascii_case(text, terms, &parsed.starts),
            };
        }
        let lower = text.to_lowercase();
        terms.iter().any(|t| lower.contains(t.as_str()))
    }
}

/// `needle` is lowercase. No allocation: this runs on every line of big blocks.
/// What a query's text gives once parsed.
#[derive(Debug, Clone)]
struct Parsed {
    terms: Vec<String>,
    focused: bool,
    /// First bytes of the terms, in both cases.
    starts: [bool; 256],
    /// The terms by their first two bytes, when every term has two (a lowercased word of
    /// three bytes may have one: the Kelvin sign becomes `k`).
    pairs: Option<Box<Pairs>>,
}

/// For each byte, the terms (at most 64: bit `i` for `terms[i]`) whose first byte it is in
/// either case, and those whose second byte it matches ignoring ASCII case: a place in a line
/// is tested with two table reads and no branch until some term's first two bytes stand there.
#[derive(Debug, Clone)]
struct Pairs {
    first: [u64; 256],
    second: [u64; 256],
}

impl Pairs {
    fn of(terms: &[String]) -> Option<Box<Self>> {
        if terms.len() > 64 || terms.iter().any(|t| t.len() < 2) {
            return None;
        }
        let mut p = Box::new(Self { first: [0; 256], second: [0; 256] });
        for (i, t) in terms.iter().enumerate() {
            let (a, b) = (t.as_bytes()[0], t.as_bytes()[1]);
            for c in [a, a.to_ascii_uppercase()] {
                p.first[usize::from(c)] |= 1 << i;
            }
            for c in [b, b.to_ascii_lowercase(), b.to_ascii_uppercase()] {
                p.second[usize::from(c)] |= 1 << i;
            }
        }
        Some(p)
    }

    /// What [`contains_any_ignore_ascii_case`] answers for `h`.
    fn any_in(&self, h: &[u8], terms: &[String]) -> bool {
        h.windows(2).enumerate().any(|(i, w)| {
            let mut m = self.first[usize::from(w[0])] & self.second[usize::from(w[1])];
            while m != 0 {
                let n = terms[m.trailing_zeros() as usize].as_bytes();
                if h.len() - i >= n.len() && h[i..i + n.len()].eq_ignore_ascii_case(n) {
                    return true;
                }
                m &= m - 1;
            }
            false
        })
    }
}

/// `terms.iter().any(|t| contains_ignore_ascii_case(hay, t))` in one pass over `hay`, which
/// stops only where some term's first byte stands (`starts`, as [`Parsed`] builds it).
fn contains_any_ignore_ascii_case(hay: &str, terms: &[String], starts: &[bool; 256]) -> bool {
    let h = hay.as_bytes();
    h.iter().enumerate().any(|(i, &b)| {
        starts[usize::from(b)]
            && terms.iter().any(|t| {
                let n = t.as_bytes();
                h.len() - i >= n.len()
                    && (b == n[0] || b == n[0].to_ascii_uppercase())
                    && h[i..i + n.len()].eq_ignore_ascii_case(n)
            })
    })
}

#[cfg(test)]
fn contains_ignore_ascii_case(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    let Some(&first) = n.first() else { return true };
    if n.len() > h.len() {
        return false;
    }
    let upper = first.to_ascii_uppercase();
    (0..=h.len() - n.len())
        .any(|i| (h[i] == first || h[i] == upper) && h[i..i + n.len()].eq_ignore_ascii_case(n))
}

fn extract_terms(text: &str) -> Vec<String> {
    let mut terms: Vec<String> = Vec::new();
    for raw in text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | '-' | ':'))) {
        let word = raw.trim_matches(|c: char| matches!(c, '.' | '/' | '-' | ':'));
        if word.len() < 3 || raw.starts_with('-') {
            continue;
        }
        let lower = word.to_lowercase();
        if STOP.contains(&lower.as_str()) || terms.contains(&lower) {
            continue;
        }
        terms.push(lower);
        if terms.len() >= 64 {
            break;
        }
    }
    terms
}

fn asks_for_a_slice(text: &str) -> bool {
    if text.contains("head -") || text.contains("tail -") || text.contains("NR") {
        return true;
    }
    // `sed -n '120,140p'` and `sed -n 120,140p`.
    text.match_indices("sed -n").any(|(at, _)| {
        let rest = text[at + 6..].trim_start().trim_start_matches(['\'', '"']);
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        digits > 0 && rest[digits..].starts_with([',', 'p'])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_identifiers_and_paths() {
        let q =
            Query::new("THOUGHT: check it.\n```bash\ngrep -n \"def row_join\" sympy/matrices/sparse.py\n```");
        assert!(q.terms().contains(&"row_join".to_owned()));
        assert!(q.terms().contains(&"sympy/matrices/sparse.py".to_owned()));
        assert!(!q.terms().iter().any(|t| t == "grep" || t.starts_with('-')));
        assert!(q.mentions("  1159: def row_join(self, other):"));
        assert!(!q.mentions("unrelated"));
        assert!(q.mentions("DEF ROW_JOIN"));
        assert!(q.mentions("é row_join"));
        assert!(!q.is_focused());
    }

    #[test]
    fn one_pass_mention_test_answers_as_each_term_alone() {
        let q = Query::new("grep -n row_join sympy/Matrix.py NR_x _private");
        let terms = q.terms();
        assert!(!terms.is_empty());
        for hay in [
            "",
            "row",
            "ROW_JOIN",
            "x row_joi",
            "a sympy/matrix.py b",
            "nr_x",
            "_PRIVATE.",
            "private",
            "row_join",
            "sympy/matrix.p",
            "nothing to see",
        ] {
            let each = terms.iter().any(|t| contains_ignore_ascii_case(hay, t));
            assert_eq!(q.mentions(hay), each, "{hay:?}");
        }
        // A term of one byte (the Kelvin sign lowercases to `k`) takes the byte-by-byte walk.
        let kelvin = Query::new("\u{212a} row_join");
        assert!(kelvin.parsed().pairs.is_none());
        assert!(Query::new("row_join").parsed().pairs.is_some());
        for hay in ["", "k", "xK", "row", "ROW_JOIN", "nothing"] {
            let each = kelvin.terms().iter().any(|t| contains_ignore_ascii_case(hay, t));
            assert_eq!(kelvin.mentions(hay), each, "{hay:?}");
        }
    }

    #[test]
    fn recognises_commands_that_ask_for_a_slice() {
        for cmd in
            ["sed -n '746,850p' a.py", "nl -ba a.py | sed -n 10,20p", "head -n 50 a.py", "awk 'NR>=5' a"]
        {
            assert!(Query::new(cmd).is_focused(), "{cmd}");
        }
        for cmd in ["cat a.py", "sed -i 's/a/b/' a.py", "grep -n head a.py"] {
            assert!(!Query::new(cmd).is_focused(), "{cmd}");
        }
    }
}
