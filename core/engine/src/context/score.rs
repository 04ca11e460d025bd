//! The order in which droppable units go, per strategy.
//!
//! Scores are integers (per mille per factor, then weighted) so every host orders units the
//! same way: floating-point functions may differ in the last bit between libms, and a tie
//! broken differently would drop different messages.

use std::collections::{BTreeMap, BTreeSet};

use super::conversation::{Conversation, Role};
use crate::options::ContextStrategy;

/// Weights of the factors (they sum to 100).
const RECENCY: u64 = 30;
const RELEVANCE: u64 = 25;
const ERRORS: u64 = 20;
const REFERENCES: u64 = 25;

/// Later units that mention a unit's paths or identifiers; more than this adds nothing.
const REFERENCES_CAP: u64 = 2;

/// Words that signal a failure worth keeping in view (matched as whole lowercase words).
const ERROR_WORDS: &[&str] = &[
    "error",
    "errors",
    "exception",
    "traceback",
    "panicked",
    "failed",
    "failure",
    "fatal",
    "assertionerror",
];

/// Indices into `conv.units` of the droppable units, the first to drop first.
pub fn drop_order(conv: &Conversation<'_>, droppable: &[usize], strategy: ContextStrategy) -> Vec<usize> {
    let mut order = droppable.to_vec();
    match strategy {
        ContextStrategy::Rolling | ContextStrategy::Off => {}
        ContextStrategy::Position => {
            // The first user message states the task; it goes last.
            let first_user = conv.items.iter().position(|m| m.role == Role::User);
            if let Some(at) =
                order.iter().position(|&u| first_user.is_some_and(|f| conv.units[u].contains(&f)))
            {
                let task = order.remove(at);
                order.push(task);
            }
        }
        ContextStrategy::Scored => {
            let scores = scores(conv);
            // Stable: equal scores drop the older unit first.
            order.sort_by_key(|&u| scores[u]);
        }
    }
    order
}

/// The score of every unit (higher is kept longer).
pub fn scores(conv: &Conversation<'_>) -> Vec<u64> {
    let n = conv.units.len() as u64;
    let texts: Vec<String> = conv
        .units
        .iter()
        .map(|unit| unit.iter().map(|&i| conv.items[i].text.as_str()).collect::<Vec<_>>().join("\n"))
        .collect();
    let question = latest_question(conv).map(|t| words(&t)).unwrap_or_default();
    let unit_words: Vec<BTreeSet<String>> = texts.iter().map(|t| words(t)).collect();
    let unit_terms: Vec<BTreeSet<String>> = texts.iter().map(|t| terms(t)).collect();
    let referenced = referenced_by_later(&unit_terms);
    (0..conv.units.len())
        .map(|u| {
            let recency = 1000 * (u as u64 + 1) / n.max(1);
            let relevance = match question.len() as u64 {
                0 => 0,
                q => 1000 * question.intersection(&unit_words[u]).count() as u64 / q,
            };
            let errors = if ERROR_WORDS.iter().any(|w| unit_words[u].contains(*w)) { 1000 } else { 0 };
            let references = 1000 * referenced[u].min(REFERENCES_CAP) / REFERENCES_CAP;
            RECENCY * recency + RELEVANCE * relevance + ERRORS * errors + REFERENCES * references
        })
        .collect()
}

/// The text of the latest message a person wrote (else the latest user message).
fn latest_question(conv: &Conversation<'_>) -> Option<String> {
    let latest = |human: bool| {
        conv.items.iter().rev().find(|m| m.role == Role::User && (m.human || !human)).map(|m| m.text.clone())
    };
    latest(true).or_else(|| latest(false))
}

/// For each unit, how many later units mention one of its paths or identifiers.
fn referenced_by_later(terms: &[BTreeSet<String>]) -> Vec<u64> {
    let mut units_with: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (u, ts) in terms.iter().enumerate() {
        for t in ts {
            units_with.entry(t.as_str()).or_default().push(u);
        }
    }
    terms
        .iter()
        .enumerate()
        .map(|(u, ts)| {
            let mut later: BTreeSet<usize> = BTreeSet::new();
            for t in ts {
                later.extend(units_with[t.as_str()].iter().copied().filter(|&v| v > u));
                if later.len() as u64 >= REFERENCES_CAP {
                    break;
                }
            }
            later.len() as u64
        })
        .collect()
}

/// Lowercase words of three or more letters, digits or underscores.
pub fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .collect()
}

/// Paths and identifiers: tokens with a `/`, `.`, `_` or `::` inside, which name a file, a
/// module or a symbol that a later message can mention again.
pub fn terms(text: &str) -> BTreeSet<String> {
    text.split(|c: char| c.is_whitespace() || "\"'`()[]{}<>,;=|".contains(c))
        .map(|t| t.trim_end_matches(['.', ':', '!', '?']))
        .filter(|t| {
            t.len() >= 4
                && t.chars().any(char::is_alphabetic)
                && t.trim_start_matches(['.', '/', '_']).contains(['/', '.', '_'])
        })
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_are_paths_and_identifiers() {
        let t = terms("see src/app.py: compute_value() failed in Parser.parse, not here.");
        assert!(t.contains("src/app.py"));
        assert!(t.contains("compute_value"));
        assert!(t.contains("Parser.parse"));
        assert!(!t.contains("here"));
    }

    #[test]
    fn words_are_lowercase_and_skip_short_ones() {
        let w = words("An Error in the parser");
        assert!(w.contains("error") && w.contains("parser") && !w.contains("an"));
    }
}
