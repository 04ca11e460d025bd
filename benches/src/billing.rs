//! The bill of an agent loop under prompt caching, and percentages for the reports.

use headroom_tokenizer::O200k;

/// Anthropic's prices relative to base input: cache reads 0.1x, cache writes 1.25x.
pub const CACHE_READ: f64 = 0.1;
/// See [`CACHE_READ`].
pub const CACHE_WRITE: f64 = 1.25;

/// o200k tokens of a list of message texts.
pub fn tokens(messages: &[String]) -> u64 {
    messages.iter().map(|m| u64::from(O200k::count(m))).sum()
}

/// Cost of one request given the previous one of the same loop: the common prefix of
/// messages is read from the cache, the rest is written to it.
pub fn bill(previous: &[String], current: &[String]) -> f64 {
    let common = previous.iter().zip(current).take_while(|(a, b)| a == b).count();
    CACHE_READ * tokens(&current[..common]) as f64 + CACHE_WRITE * tokens(&current[common..]) as f64
}

/// `part` as a percentage of `whole` (0 when `whole` is 0).
pub fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { 100.0 * part as f64 / whole as f64 }
}
