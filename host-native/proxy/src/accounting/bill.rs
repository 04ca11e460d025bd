//! The input-side bill in input-token equivalents: what the provider billed for a request, and
//! what the client's original request would have been billed under the same cache.
//!
//! Weights are the providers' published ratios to the uncached input price. Anthropic: cache
//! reads 0.1, writes 1.25 (5-minute TTL) or 2.0 (1-hour TTL). OpenAI bills no cache writes and
//! discounts cached input by model family (0.1 for the gpt-5 family, 0.25 for gpt-4.1 and the
//! o3/o4 reasoning models, 0.5 for older models).

use super::Usage;
use crate::provider::Provider;

/// Weights of one request's input counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weights {
    /// Cache reads.
    pub read: f64,
    /// 5-minute writes.
    pub write_5m: f64,
    /// 1-hour writes.
    pub write_1h: f64,
}

impl Weights {
    /// The weights for `provider` and `model`.
    pub fn of(provider: Provider, model: &str) -> Self {
        match provider {
            Provider::Anthropic => Self { read: 0.1, write_5m: 1.25, write_1h: 2.0 },
            Provider::OpenAi => {
                let m = model.rsplit('/').next().unwrap_or(model);
                let read = if m.starts_with("gpt-5") {
                    0.1
                } else if m.starts_with("gpt-4.1") || m.starts_with("o3") || m.starts_with("o4") {
                    0.25
                } else {
                    0.5
                };
                Self { read, write_5m: 1.0, write_1h: 1.0 }
            }
        }
    }

    /// Input-token equivalents of `u`'s input.
    pub fn billed(&self, u: &Usage) -> f64 {
        u.uncached_input as f64
            + u.cache_read as f64 * self.read
            + u.cache_write_5m as f64 * self.write_5m
            + u.cache_write_1h as f64 * self.write_1h
    }
}

/// One request's bill, actual and counterfactual.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bill {
    /// Input as the provider reported it.
    pub actual: Usage,
    /// Input the original request would have been reported as, under the same cache.
    pub direct: Usage,
    /// Input-token equivalents billed.
    pub billed: f64,
    /// Input-token equivalents the original request would have been billed.
    pub billed_direct: f64,
}

impl Bill {
    /// Add `other` in.
    pub fn add(&mut self, other: &Self) {
        self.actual.add(&other.actual);
        self.direct.add(&other.direct);
        self.billed += other.billed;
        self.billed_direct += other.billed_direct;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_follow_the_published_ratios() {
        let u = Usage {
            uncached_input: 10,
            cache_read: 1000,
            cache_write_5m: 40,
            cache_write_1h: 60,
            ..Usage::default()
        };
        let a = Weights::of(Provider::Anthropic, "claude-sonnet-4-5");
        assert!((a.billed(&u) - (10.0 + 100.0 + 50.0 + 120.0)).abs() < 1e-9);
        assert_eq!(Weights::of(Provider::OpenAi, "gpt-5-mini").read, 0.1);
        assert_eq!(Weights::of(Provider::OpenAi, "openai/gpt-4.1").read, 0.25);
        assert_eq!(Weights::of(Provider::OpenAi, "gpt-4o").read, 0.5);
    }
}
