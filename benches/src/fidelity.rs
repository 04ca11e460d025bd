//! Next-step fidelity: the paths, line numbers and identifiers an agent types in its next
//! command that it could only have read from the latest output must survive compression.

/// The shell command in an assistant message (its ```bash block), or the whole text.
pub fn command_of(assistant: &str) -> &str {
    match assistant.find("```bash") {
        Some(start) => {
            let rest = &assistant[start + 7..];
            &rest[..rest.find("```").unwrap_or(rest.len())]
        }
        None => assistant,
    }
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '.' | '/' | '-')))
        .map(|w| w.trim_matches(|c: char| matches!(c, '.' | '/' | '-')))
        .filter(|w| w.len() >= 3 || (w.len() >= 2 && w.chars().all(|c| c.is_ascii_digit())))
}

/// True when `word` occurs in `text` delimited by non-identifier characters.
pub fn contains_word(text: &str, word: &str) -> bool {
    let is_ident = |c: char| c.is_alphanumeric() || c == '_';
    let mut at = 0;
    while let Some(pos) = text[at..].find(word) {
        let start = at + pos;
        let end = start + word.len();
        let before_ok = text[..start].chars().next_back().is_none_or(|c| !is_ident(c));
        let after_ok = text[end..].chars().next().is_none_or(|c| !is_ident(c));
        if before_ok && after_ok {
            return true;
        }
        at = start + 1;
        while !text.is_char_boundary(at) {
            at += 1;
        }
    }
    false
}

/// Language keywords are not facts read from an output, even when an output contains them.
const KEYWORDS: &[&str] = &[
    "and", "assert", "break", "class", "continue", "def", "del", "elif", "else", "except", "finally", "for",
    "from", "global", "import", "lambda", "not", "pass", "print", "raise", "return", "try", "while", "with",
    "yield", "None", "True", "False", "self", "len", "str", "int",
];

/// Words of `next_command` that appear in `output` and not in `earlier`
/// (`earlier`: the task and the command that produced the output): what it read there.
pub fn facts_read_from(output: &str, earlier: &str, next_command: &str) -> Vec<String> {
    let mut facts: Vec<String> = Vec::new();
    for w in words(next_command) {
        if KEYWORDS.contains(&w) {
            continue;
        }
        if contains_word(output, w) && !contains_word(earlier, w) && !facts.iter().any(|f| f == w) {
            facts.push(w.to_owned());
        }
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_facts_read_from_the_output() {
        let out = "sympy/matrices/sparse.py:1159:    def row_join(self, other):\n";
        let facts =
            facts_read_from(out, "grep -rn row_join sympy", "sed -n '1150,1180p' sympy/matrices/sparse.py");
        assert_eq!(facts, vec!["sympy/matrices/sparse.py".to_owned()]);
        assert!(facts_read_from("try:\n    x()\n", "", "cat <<EOF\ntry:\nEOF").is_empty());
        assert!(contains_word("a 1159: b", "1159"));
        assert!(!contains_word("a 11590 b", "1159"));
    }
}
