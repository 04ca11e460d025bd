//! Token counting is injected: the engine never embeds a vocabulary.
//!
//! Exact o200k_base counts come from the host (natively `bpe-openai`, in the component a
//! host import). The engine calls the counter only for blocks it considers rewriting, and
//! rules out small blocks by byte length first (a BPE token is at least one byte).

/// Counts tokens exactly. Implementations must agree byte for byte across hosts, or the
/// engine's decisions (and so its output) would differ between hosts.
pub trait TokenCounter {
    /// Number of tokens in `text`.
    fn count(&self, text: &str) -> u32;
}

impl<F: Fn(&str) -> u32> TokenCounter for F {
    fn count(&self, text: &str) -> u32 {
        self(text)
    }
}
