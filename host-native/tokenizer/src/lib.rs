//! Exact o200k_base token counting for native hosts.
//!
//! `bpe-openai` gives tiktoken-identical counts (its own tests compare against tiktoken) in
//! linear time. Agents resend their whole history on every request, so the same texts are
//! counted again and again: counts are memoised by a 128-bit content hash in a bounded table
//! (cleared when full), which turns repeat counting into a hash of the text.
//! Engines take `&O200k::count` as their token counter.

mod pieces;

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// The o200k_base tokenizer (GPT-4o and later). Also the engine's estimate for Claude
/// models, whose tokenizer is not public.
#[derive(Debug, Clone, Copy, Default)]
pub struct O200k;

/// Texts shorter than this are counted directly. A memo hit costs 140-360 ns from 16 to 255
/// bytes where BPE costs 360 ns at 16 bytes and 600 ns at 32, 1.9 us at 100, 4.9 us at 255
/// (the engine's gates count blocks from 100 bytes, and its rewrites of any size).
const MEMO_MIN_BYTES: usize = 32;
/// Entries kept before the table is cleared (about 40 bytes each).
const MEMO_CAPACITY: usize = 1 << 16;

fn memo() -> &'static Mutex<HashMap<[u8; 16], u32>> {
    static MEMO: OnceLock<Mutex<HashMap<[u8; 16], u32>>> = OnceLock::new();
    MEMO.get_or_init(|| Mutex::new(HashMap::with_capacity(MEMO_CAPACITY)))
}

impl O200k {
    /// Count tokens.
    pub fn count(text: &str) -> u32 {
        if text.len() < MEMO_MIN_BYTES {
            return Self::count_uncached(text);
        }
        let mut key = [0u8; 16];
        key.copy_from_slice(&blake3::hash(text.as_bytes()).as_bytes()[..16]);
        if let Some(n) = memo().lock().ok().and_then(|m| m.get(&key).copied()) {
            return n;
        }
        let n = Self::count_uncached(text);
        if let Ok(mut m) = memo().lock() {
            if m.len() >= MEMO_CAPACITY {
                m.clear();
            }
            m.insert(key, n);
        }
        n
    }

    /// Count tokens without the memo of texts (pieces are still remembered, see `pieces`).
    pub fn count_uncached(text: &str) -> u32 {
        u32::try_from(pieces::count(text)).unwrap_or(u32::MAX)
    }

    /// Build the vocabulary now rather than on the first request.
    pub fn warm_up() {
        let _ = Self::count_uncached("warm up");
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

    #[test]
    fn memoised_counts_equal_direct_counts() {
        let text = "fn main() { println!(\"hello\"); }\n".repeat(40);
        assert_eq!(O200k::count(&text), O200k::count_uncached(&text));
        assert_eq!(O200k::count(&text), O200k::count_uncached(&text));
    }
}
