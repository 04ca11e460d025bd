//! The bill of a real session under prompt caching, priced by the TTL the session really wrote
//! with and honouring the points where its cache really was cold.
//!
//! Same model as [`crate::billing::bill`]: the messages a request shares with the previous
//! request (a common leading prefix, byte for byte) are read from the cache, the rest is
//! written. Two differences, both from the provider's own usage of each call: writes cost 2x
//! when the call wrote at the 1-hour TTL (Claude Code's usual choice) and 1.25x at 5 minutes;
//! and a call the provider served cold (its cache read under half the context, as the
//! corpus's `build.py` marks cold calls) pays a write for the whole request, with or without
//! a proxy, since nothing of it was in the cache.

use super::case::{Request, Usage};

/// Price of a cache read, relative to base input.
pub const READ: f64 = 0.1;
/// Price of a write at the 5-minute TTL.
pub const WRITE_5M: f64 = 1.25;
/// Price of a write at the 1-hour TTL.
pub const WRITE_1H: f64 = 2.0;
/// A call whose cache read is below this share of its context found the cache cold.
const COLD_FRAC: f64 = 0.5;

/// Walks one session's requests in order and prices each.
pub struct Pricer {
    /// Write price of the last call that wrote anything (the session's TTL until then).
    write: f64,
    previous: Option<Usage>,
}

/// How one request is priced.
#[derive(Debug, Clone, Copy)]
pub struct Price {
    /// Price of a written token.
    pub write: f64,
    /// The provider served the call cold: the whole request is written.
    pub cold: bool,
}

impl Pricer {
    /// A session whose `usage_summary.ttl` is `ttl`.
    pub fn new(ttl: Option<&str>) -> Self {
        Self { write: if ttl == Some("5m") { WRITE_5M } else { WRITE_1H }, previous: None }
    }

    /// The price of the next request. A call that wrote nothing (all read) or was not matched
    /// keeps the TTL of the last write.
    pub fn next(&mut self, r: &Request) -> Price {
        let Some(u) = r.usage else { return Price { write: self.write, cold: false } };
        if u.cache_write_1h > 0 {
            self.write = WRITE_1H;
        } else if u.cache_write_5m > 0 {
            self.write = WRITE_5M;
        }
        let cold = self
            .previous
            .is_some_and(|p| (u.cache_read as f64) < COLD_FRAC * p.context().min(u.context()) as f64);
        self.previous = Some(u);
        Price { write: self.write, cold }
    }
}

/// Cost of a request (`current`, with each message's tokens) after `previous`: the common
/// leading messages are read, the rest written; all written when the call was cold.
pub fn cost(previous: &[String], current: &[String], tokens: &[u64], price: Price) -> f64 {
    let common =
        if price.cold { 0 } else { previous.iter().zip(current).take_while(|(a, b)| a == b).count() };
    let read: u64 = tokens[..common].iter().sum();
    let written: u64 = tokens[common..].iter().sum();
    READ * read as f64 + price.write * written as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(read: u64, w1h: u64, w5m: u64) -> Request {
        Request {
            k: 1,
            conv: 0,
            n_messages: 1,
            model: String::new(),
            usage: Some(Usage { input: 1, cache_write_5m: w5m, cache_write_1h: w1h, cache_read: read }),
            next_refs: Vec::new(),
        }
    }

    #[test]
    fn prices_by_ttl_and_finds_cold_calls() {
        let mut p = Pricer::new(Some("1h"));
        let first = p.next(&req(0, 1000, 0));
        assert!(!first.cold);
        assert_eq!(first.write, WRITE_1H);
        let warm = p.next(&req(1000, 0, 100));
        assert!(!warm.cold);
        assert_eq!(warm.write, WRITE_5M);
        let cold = p.next(&req(100, 0, 2000));
        assert!(cold.cold);
    }

    #[test]
    fn reads_the_common_prefix_and_writes_the_rest() {
        let a = vec!["x".to_owned(), "y".to_owned()];
        let b = vec!["x".to_owned(), "z".to_owned(), "w".to_owned()];
        let warm = Price { write: 2.0, cold: false };
        assert!((cost(&a, &b, &[10, 20, 30], warm) - (1.0 + 100.0)).abs() < 1e-9);
        let cold = Price { write: 2.0, cold: true };
        assert!((cost(&a, &b, &[10, 20, 30], cold) - 120.0).abs() < 1e-9);
    }
}
