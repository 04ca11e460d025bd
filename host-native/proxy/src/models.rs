//! Requests for models the engine does not know (no window in its table or family rules),
//! counted for `/health`: such a request is never fitted to a context window unless
//! `--context-limit` states one, so an operator should see that it happens and for which names.
//! Which model is known is the engine's decision (`model-info` in its outcome), not the proxy's.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Distinct names remembered, newest last.
pub const RECENT_NAMES: usize = 8;
/// A name longer than this is cut (at a character boundary): `model` is the client's text.
pub const NAME_CHARS: usize = 128;

/// Counts of requests naming unknown models, with the last few distinct names.
#[derive(Default)]
pub struct UnknownModels {
    requests: AtomicU64,
    recent: Mutex<VecDeque<String>>,
}

impl UnknownModels {
    /// A request named `name`, which the engine does not know.
    pub fn note(&self, name: &str) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let name: String = name.chars().take(NAME_CHARS).collect();
        let Ok(mut recent) = self.recent.lock() else { return };
        // Most requests repeat the newest name: nothing to move then.
        if recent.back() == Some(&name) {
            return;
        }
        recent.retain(|n| *n != name);
        if recent.len() == RECENT_NAMES {
            recent.pop_front();
        }
        recent.push_back(name);
    }

    /// Requests counted so far.
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// The last distinct names, oldest first.
    pub fn recent(&self) -> Vec<String> {
        self.recent.lock().map(|r| r.iter().cloned().collect()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_a_count_and_the_last_distinct_names() {
        let u = UnknownModels::default();
        for i in 0..10 {
            u.note(&format!("model-{i}"));
        }
        u.note("model-3");
        u.note("model-3");
        assert_eq!(u.requests(), 12);
        assert_eq!(
            u.recent(),
            ["model-2", "model-4", "model-5", "model-6", "model-7", "model-8", "model-9", "model-3"]
        );
        u.note(&"é".repeat(1000));
        assert_eq!(u.recent().last().map(|n| n.chars().count()), Some(NAME_CHARS));
    }
}
