//! Exact o200k_base token counting for native hosts.
//!
//! `bpe-openai` gives tiktoken-identical counts (its own tests compare against tiktoken) in
//! linear time, several times faster than tiktoken-rs. The vocabulary is built once per
//! process on first use. Engines take `&O200k::count` as their token counter.

/// The o200k_base tokenizer (GPT-4o and later). Also the engine's estimate for Claude
/// models, whose tokenizer is not public.
#[derive(Debug, Clone, Copy, Default)]
pub struct O200k;

impl O200k {
    /// Count tokens.
    pub fn count(text: &str) -> u32 {
        u32::try_from(bpe_openai::o200k_base().count(text)).unwrap_or(u32::MAX)
    }

    /// Build the vocabulary now rather than on the first request.
    pub fn warm_up() {
        let _ = Self::count("warm up");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_strings() {
        assert_eq!(O200k::count(""), 0);
        assert_eq!(O200k::count("hello world"), 2);
    }
}
