//! The relevance hint: terms taken from the text that precedes a block.

/// Words of a question or command that make a line or item worth keeping.
#[derive(Debug, Clone, Default)]
pub struct Query {
    terms: Vec<String>,
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
    /// Extract terms: identifiers, paths and numbers of at least 3 characters, lowercased,
    /// without shell flags and stop words, de-duplicated, in first-seen order.
    pub fn new(text: &str) -> Self {
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
        Self { terms }
    }

    /// True when there are no terms.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The terms, lowercased.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// True when `text` contains any term (case-insensitive substring).
    pub fn mentions(&self, text: &str) -> bool {
        if self.terms.is_empty() {
            return false;
        }
        let lower = text.to_lowercase();
        self.terms.iter().any(|t| lower.contains(t.as_str()))
    }
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
    }
}
