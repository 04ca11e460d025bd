//! Rate limits per API key scope: token buckets for requests per minute and input tokens per
//! minute. A request takes one request token when it arrives and is admitted while its key's
//! token bucket is not in debt; the tokens of the body as sent upstream (after compression)
//! are then debited, so one request may push the bucket into debt and the next waits for it
//! to refill. Buckets live in shards keyed by the scope's 64-bit hash; a bucket idle for a
//! minute is full again, the same as no bucket, and is evicted by a sweep.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Shards (a lock each).
const SHARDS: usize = 16;
/// A bucket refills completely within a minute.
const WINDOW_MS: u64 = 60_000;

/// One key's buckets.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    requests: f32,
    tokens: f64,
    at_ms: u64,
}

#[derive(Default)]
struct Shard {
    buckets: HashMap<u64, Bucket>,
    swept_ms: u64,
}

/// A refusal: which limit, and when to retry.
#[derive(Debug, Clone, PartialEq)]
pub struct Limited {
    /// `requests` or `tokens`.
    pub which: &'static str,
    /// Seconds until the request would be admitted.
    pub retry_after_s: f64,
    /// Figures for the `x-ratelimit-*` headers.
    pub state: Remaining,
}

/// What is left of a key's limits.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Remaining {
    /// Requests per minute (`None`: not limited).
    pub rpm: Option<u32>,
    /// Requests left now.
    pub requests: u64,
    /// Input tokens per minute.
    pub tpm: Option<u64>,
    /// Tokens left now.
    pub tokens: u64,
    /// Seconds until the requests bucket is full.
    pub requests_reset_s: f64,
    /// Seconds until the tokens bucket is full.
    pub tokens_reset_s: f64,
}

/// The limiter.
pub struct Limiter {
    rpm: Option<u32>,
    tpm: Option<u64>,
    shards: Vec<Mutex<Shard>>,
    epoch: Instant,
}

impl Limiter {
    /// With these limits (none: every call admits).
    pub fn new(rpm: Option<u32>, tpm: Option<u64>) -> Self {
        Self {
            rpm,
            tpm,
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            epoch: Instant::now(),
        }
    }

    /// Any limit set.
    pub fn enabled(&self) -> bool {
        self.rpm.is_some() || self.tpm.is_some()
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn key(scope: &str) -> u64 {
        // Scopes are hex hashes already; anything else is hashed.
        u64::from_str_radix(scope.get(..16).unwrap_or(scope), 16).unwrap_or_else(|_| {
            u64::from_le_bytes(blake3::hash(scope.as_bytes()).as_bytes()[..8].try_into().unwrap_or_default())
        })
    }

    fn shard(&self, key: u64) -> std::sync::MutexGuard<'_, Shard> {
        self.shards[(key % SHARDS as u64) as usize].lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Refill `b` to `now`.
    fn refill(&self, b: &mut Bucket, now: u64) {
        let dt = now.saturating_sub(b.at_ms) as f64 / WINDOW_MS as f64;
        if let Some(rpm) = self.rpm {
            b.requests = (f64::from(b.requests) + dt * f64::from(rpm)).min(f64::from(rpm)) as f32;
        }
        if let Some(tpm) = self.tpm {
            b.tokens = (b.tokens + dt * tpm as f64).min(tpm as f64);
        }
        b.at_ms = now;
    }

    fn remaining(&self, b: &Bucket) -> Remaining {
        let per_s = |per_min: f64| per_min / 60.0;
        Remaining {
            rpm: self.rpm,
            requests: f64::from(b.requests).max(0.0) as u64,
            tpm: self.tpm,
            tokens: b.tokens.max(0.0) as u64,
            requests_reset_s: self
                .rpm
                .map_or(0.0, |r| (f64::from(r) - f64::from(b.requests)) / per_s(f64::from(r))),
            tokens_reset_s: self.tpm.map_or(0.0, |t| (t as f64 - b.tokens) / per_s(t as f64)),
        }
    }

    /// Admit a request of `scope`: takes one request token; refuses while either bucket is
    /// short (requests) or in debt (tokens).
    pub fn admit(&self, scope: &str) -> Result<Remaining, Limited> {
        if !self.enabled() {
            return Ok(Remaining::default());
        }
        let key = Self::key(scope);
        let now = self.now_ms();
        let mut shard = self.shard(key);
        if now.saturating_sub(shard.swept_ms) >= WINDOW_MS {
            // Full buckets carry no state: drop them (bounded memory with many keys).
            shard.buckets.retain(|_, b| now.saturating_sub(b.at_ms) < WINDOW_MS);
            shard.swept_ms = now;
        }
        let full = Bucket {
            requests: self.rpm.map_or(0.0, |r| r as f32),
            tokens: self.tpm.map_or(0.0, |t| t as f64),
            at_ms: now,
        };
        let b = shard.buckets.entry(key).or_insert(full);
        self.refill(b, now);
        if let Some(rpm) = self.rpm
            && b.requests < 1.0
        {
            let wait = (1.0 - f64::from(b.requests)) * 60.0 / f64::from(rpm);
            return Err(Limited { which: "requests", retry_after_s: wait, state: self.remaining(b) });
        }
        if let Some(tpm) = self.tpm
            && b.tokens < 0.0
        {
            let wait = -b.tokens * 60.0 / tpm as f64;
            return Err(Limited { which: "tokens", retry_after_s: wait, state: self.remaining(b) });
        }
        if self.rpm.is_some() {
            b.requests -= 1.0;
        }
        Ok(self.remaining(b))
    }

    /// The limits as the shared store takes them (0: not limited).
    pub fn limits(&self) -> (u32, u64) {
        (self.rpm.unwrap_or(0), self.tpm.unwrap_or(0))
    }

    /// The verdict on a bucket updated by the shared store (see [`admit`](Self::admit)).
    pub fn judge(&self, shared: &crate::shared::Bucket) -> Result<Remaining, Limited> {
        let b = Bucket { requests: shared.requests as f32, tokens: shared.tokens, at_ms: 0 };
        if shared.admitted {
            return Ok(self.remaining(&b));
        }
        if let Some(rpm) = self.rpm
            && b.requests < 1.0
        {
            let wait = (1.0 - f64::from(b.requests)) * 60.0 / f64::from(rpm);
            return Err(Limited { which: "requests", retry_after_s: wait, state: self.remaining(&b) });
        }
        let wait = self.tpm.map_or(1.0, |tpm| (-b.tokens).max(0.0) * 60.0 / tpm as f64);
        Err(Limited { which: "tokens", retry_after_s: wait, state: self.remaining(&b) })
    }

    /// Debit `tokens` input tokens from `scope`'s bucket.
    pub fn debit(&self, scope: &str, tokens: u64) {
        if self.tpm.is_none() {
            return;
        }
        let key = Self::key(scope);
        let now = self.now_ms();
        let mut shard = self.shard(key);
        if let Some(b) = shard.buckets.get_mut(&key) {
            self.refill(b, now);
            b.tokens -= tokens as f64;
        }
    }

    /// Buckets held (for `/stats` and the memory benchmark).
    pub fn keys(&self) -> usize {
        self.shards.iter().map(|s| s.lock().map_or(0, |s| s.buckets.len())).sum()
    }

    /// Whether input tokens are limited (so the body must be counted).
    pub fn counts_tokens(&self) -> bool {
        self.tpm.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpm_and_tpm_per_key() {
        let l = Limiter::new(Some(2), Some(100));
        assert!(l.admit("aaaaaaaaaaaaaaaa").is_ok());
        l.debit("aaaaaaaaaaaaaaaa", 150);
        let e = l.admit("aaaaaaaaaaaaaaaa").expect_err("test error");
        assert_eq!(e.which, "tokens");
        assert!(e.retry_after_s > 29.0 && e.retry_after_s <= 30.0, "{e:?}");
        // Another key is untouched.
        assert!(l.admit("bbbbbbbbbbbbbbbb").is_ok());
        assert!(l.admit("bbbbbbbbbbbbbbbb").is_ok());
        let e = l.admit("bbbbbbbbbbbbbbbb").expect_err("test error");
        assert_eq!(e.which, "requests");
        assert!(e.retry_after_s > 29.0 && e.retry_after_s <= 30.0, "{e:?}");
        assert_eq!(l.keys(), 2);
    }
}
