//! Spend control: what each request cost ([`prices`], from the provider-reported usage in the
//! accounting record), budgets per period over all keys and per key ([`budget`]), and rate
//! limits per key ([`limits`]). The proxy's refusals are 429s in the provider's format
//! ([`refusal`]). [`Spend`] is a consumer of the accounting records: costs are added as each
//! request ends, off the request's path.

pub mod args;
pub mod budget;
pub mod clock;
pub mod limits;
pub mod metrics;
pub mod prices;
pub mod refusal;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::{Value, json};

use crate::accounting::{Record, Sink, Usage};
use args::SpendConfig;
use budget::{Budget, round6};
use limits::Limiter;
use prices::Price;

/// Distinct models costed apart (then `other`), unpriced models listed.
const MAX_MODELS: usize = 64;

/// One request's cost in USD, split by what the provider billed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Cost {
    /// Input billed at the full rate.
    pub uncached_input: f64,
    /// Cache reads.
    pub cache_read: f64,
    /// Cache writes (both TTLs).
    pub cache_write: f64,
    /// Output.
    pub output: f64,
    /// Tokens compression removed, at the input price.
    pub saved_by_compression: f64,
    /// The input side of the bill as the provider billed it.
    pub input_billed: f64,
    /// The input side of the bill the client's original request would have had under the
    /// same cache (the accounting record's counterfactual), when known.
    pub input_without_headroom: f64,
    /// Requests with a counterfactual.
    pub with_counterfactual: u64,
}

impl Cost {
    /// The total billed.
    pub fn total(&self) -> f64 {
        self.uncached_input + self.cache_read + self.cache_write + self.output
    }

    fn add(&mut self, o: &Self) {
        self.uncached_input += o.uncached_input;
        self.cache_read += o.cache_read;
        self.cache_write += o.cache_write;
        self.output += o.output;
        self.saved_by_compression += o.saved_by_compression;
        self.input_billed += o.input_billed;
        self.input_without_headroom += o.input_without_headroom;
        self.with_counterfactual += o.with_counterfactual;
    }

    fn json(&self) -> Value {
        json!({
            "total_usd": round6(self.total()),
            "uncached_input_usd": round6(self.uncached_input),
            "cache_read_usd": round6(self.cache_read),
            "cache_write_usd": round6(self.cache_write),
            "output_usd": round6(self.output),
            "saved_by_compression_usd": round6(self.saved_by_compression),
            "input_billed_usd": round6(self.input_billed),
            "input_without_headroom_usd": round6(self.input_without_headroom),
            "input_saved_usd": round6(self.input_without_headroom - self.input_billed),
            "requests_with_counterfactual": self.with_counterfactual,
        })
    }
}

/// The input side of `u` at `p` (rates `m` times the price).
fn input_cost(p: &Price, u: &Usage, m: f64) -> [f64; 3] {
    let mt = |n: u64, rate: f64| n as f64 * rate * m / 1e6;
    [
        mt(u.uncached_input, p.input),
        mt(u.cache_read, p.cache_read),
        mt(u.cache_write_5m, p.cache_write_5m) + mt(u.cache_write_1h, p.cache_write_1h),
    ]
}

/// What `usage` cost at `price`; `saved_tokens` are what compression removed, and `direct`
/// the usage the original request would have been reported as.
pub fn cost(price: &Price, usage: &Usage, saved_tokens: u64, direct: Option<&Usage>) -> Cost {
    let multiplier = |u: &Usage| match price.long {
        Some((above, factor)) if u.input_total() > above => factor,
        _ => 1.0,
    };
    let m = multiplier(usage);
    let [uncached_input, cache_read, cache_write] = input_cost(price, usage, m);
    let input_billed = uncached_input + cache_read + cache_write;
    let (input_without_headroom, with_counterfactual) = match direct {
        Some(d) => (input_cost(price, d, multiplier(d)).iter().sum(), 1),
        None => (input_billed, 0),
    };
    Cost {
        uncached_input,
        cache_read,
        cache_write,
        output: usage.output as f64 * price.output * m / 1e6,
        saved_by_compression: saved_tokens as f64 * price.input * m / 1e6,
        input_billed,
        input_without_headroom,
        with_counterfactual,
    }
}

#[derive(Debug, Default, Clone, Copy, Serialize)]
struct Unpriced {
    requests: u64,
    input_tokens: u64,
    output_tokens: u64,
}

#[derive(Default)]
struct Totals {
    total: Cost,
    priced_requests: u64,
    no_usage_requests: u64,
    by_provider: BTreeMap<&'static str, Cost>,
    by_model: BTreeMap<String, (u64, Cost)>,
    unpriced_requests: u64,
    unpriced: BTreeMap<String, Unpriced>,
}

/// Costs, budgets and rate limits.
pub struct Spend {
    /// The configuration.
    pub config: SpendConfig,
    /// Budgets and the spend of the period.
    pub budget: Budget,
    /// Rate limits.
    pub limiter: Limiter,
    totals: Mutex<Totals>,
    metrics: Arc<crate::metrics::Metrics>,
    /// Buckets and the period's spend shared with other replicas.
    shared: Arc<crate::shared::Shared>,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Spend {
    /// From the configuration (reads the kept spend).
    pub fn new(
        config: SpendConfig,
        metrics: Arc<crate::metrics::Metrics>,
        shared: Arc<crate::shared::Shared>,
    ) -> Self {
        let budget = Budget::open(
            config.budget,
            config.budget_per_key,
            config.period,
            config.tz.clone(),
            config.state_path.clone(),
            unix_now(),
        );
        let limiter = Limiter::new(config.rpm, config.tpm);
        Self { config, budget, limiter, totals: Mutex::default(), metrics, shared }
    }

    /// The 429 to answer a request of key `scope` with, when a budget is spent or a rate
    /// limit reached (`None`: admitted, and one request taken from its bucket). With shared
    /// state, the spend and buckets of every replica decide (one bounded call each; the
    /// local ones when the shared store does not answer).
    pub async fn refusal(
        &self,
        provider: crate::provider::Provider,
        scope: &str,
    ) -> Option<axum::response::Response> {
        let now = unix_now();
        let spent = if self.budget.enabled() && self.shared.enabled() {
            let (start, _) = self.budget.bounds(now);
            self.shared.call("budgets", |b| b.budget_spent(start, scope)).await
        } else {
            None
        };
        if let Err(e) = self.budget.admit_with(scope, now, spent) {
            self.metrics.spend.refused(if e.which == "global" { "budget" } else { "budget_per_key" });
            return Some(refusal::budget(provider, &e));
        }
        let verdict = if self.limiter.enabled() && self.shared.enabled() {
            let (rpm, tpm) = self.limiter.limits();
            match self.shared.call("rate_limits", |b| b.rate(scope, rpm, tpm, true, 0)).await {
                Some(bucket) => {
                    // Kept in step locally, for when the shared store is away.
                    let _ = self.limiter.admit(scope);
                    self.limiter.judge(&bucket)
                }
                None => self.limiter.admit(scope),
            }
        } else {
            self.limiter.admit(scope)
        };
        if let Err(l) = verdict {
            self.metrics.spend.refused(if l.which == "requests" { "rpm" } else { "tpm" });
            return Some(refusal::rate_limited(provider, &l));
        }
        None
    }

    /// Debit the tokens of `body` (as sent upstream) from `scope`'s input-token bucket.
    /// Counting is exact (o200k, memoised); large bodies are counted off the async workers.
    pub fn debit_body(self: &Arc<Self>, scope: &str, body: &bytes::Bytes) {
        if !self.limiter.counts_tokens() {
            return;
        }
        let count = |b: &[u8]| u64::from(headroom_tokenizer::O200k::count(&String::from_utf8_lossy(b)));
        if body.len() <= 64 << 10 {
            self.debit(scope, count(body));
        } else {
            let (me, scope, body) = (Arc::clone(self), scope.to_owned(), body.clone());
            tokio::task::spawn_blocking(move || me.debit(&scope, count(&body)));
        }
    }

    fn debit(&self, scope: &str, tokens: u64) {
        self.limiter.debit(scope, tokens);
        let (rpm, tpm) = self.limiter.limits();
        let scope = scope.to_owned();
        self.shared.spawn("rate_limits", move |b| {
            Box::pin(async move { b.rate(&scope, rpm, tpm, false, tokens).await.map(|_| ()) })
        });
    }

    /// The `/stats` block.
    pub fn json(&self) -> Value {
        let t = self.totals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        json!({
            "currency": "USD",
            "total": t.total.json(),
            "requests_priced": t.priced_requests,
            "requests_without_usage": t.no_usage_requests,
            "by_provider": t.by_provider.iter().map(|(k, v)| (k.to_string(), v.json())).collect::<serde_json::Map<_, _>>(),
            "by_model": t.by_model.iter().map(|(k, (n, v))| {
                let mut j = v.json();
                j["requests"] = json!(n);
                (k.clone(), j)
            }).collect::<serde_json::Map<_, _>>(),
            "unpriced": {
                "requests": t.unpriced_requests,
                "note": "models without a price: their cost is unknown (not counted as 0); add them with --prices",
                "by_model": t.unpriced,
            },
            "prices": {
                "models": self.config.prices.len(),
                "file": self.config.prices_file.as_ref().map(|p| p.display().to_string()),
            },
            "budget": self.budget.json(unix_now()),
            "rate_limits": {
                "rpm": self.config.rpm,
                "tpm": self.config.tpm,
                "keys_tracked": self.limiter.keys(),
            },
        })
    }

    /// Write the kept spend when it changed (blocking).
    pub fn flush(&self) {
        self.budget.flush();
    }
}

impl Sink for Spend {
    fn record(&self, r: &Record) {
        let Some(usage) = &r.usage else {
            self.totals.lock().unwrap_or_else(std::sync::PoisonError::into_inner).no_usage_requests += 1;
            return;
        };
        let mut t = self.totals.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(entry) = self.config.prices.resolve(&r.model) else {
            t.unpriced_requests += 1;
            let name = if t.unpriced.contains_key(&r.model) || t.unpriced.len() < MAX_MODELS {
                r.model.as_str()
            } else {
                "other"
            };
            let add = |u: &mut Unpriced| {
                u.requests += 1;
                u.input_tokens += usage.input_total();
                u.output_tokens += usage.output;
            };
            match t.unpriced.get_mut(name) {
                Some(u) => add(u),
                None => add(t.unpriced.entry(name.to_owned()).or_default()),
            }
            drop(t);
            self.metrics.spend.unpriced();
            return;
        };
        let c = cost(&entry.price, usage, r.tokens_saved, r.bill.as_ref().map(|b| &b.direct));
        t.total.add(&c);
        t.priced_requests += 1;
        t.by_provider.entry(r.provider).or_default().add(&c);
        let name = if t.by_model.contains_key(&entry.name) || t.by_model.len() < MAX_MODELS {
            entry.name.as_str()
        } else {
            "other"
        };
        let add = |m: &mut (u64, Cost)| {
            m.0 += 1;
            m.1.add(&c);
        };
        match t.by_model.get_mut(name) {
            Some(m) => add(m),
            None => add(t.by_model.entry(name.to_owned()).or_default()),
        }
        drop(t);
        let now = unix_now();
        self.budget.add(&r.key_scope, c.total(), now);
        if c.total() > 0.0 && self.shared.enabled() {
            // The period's key outlives it by an hour: a replica whose clock is a little behind
            // still reads the right figure.
            let (start, end) = self.budget.bounds(now);
            let (scope, usd) = (r.key_scope.clone(), c.total());
            self.shared.spawn("budgets", move |b| {
                Box::pin(async move { b.budget_add(start, end + 3600, &scope, usd).await })
            });
        }
        self.metrics.spend.cost(r.provider, &c);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_split_by_kind_with_the_long_prompt_band() {
        let prices = prices::Prices::embedded();
        let sonnet = prices.resolve("claude-sonnet-4-5").expect("test value").price;
        let u = Usage {
            uncached_input: 1_000_000,
            cache_read: 1_000_000,
            cache_write_5m: 1_000_000,
            cache_write_1h: 1_000_000,
            output: 1_000_000,
            reasoning: 0,
        };
        let c = cost(&sonnet, &u, 1_000_000, None);
        assert_eq!((c.uncached_input, c.cache_read, c.cache_write, c.output), (3.0, 0.3, 3.75 + 6.0, 15.0));
        assert_eq!(c.saved_by_compression, 3.0);
        let haiku = prices.resolve("claude-haiku-5-5").expect("test value").price;
        let short = Usage { uncached_input: 100_000, output: 1000, ..Usage::default() };
        let long = Usage { uncached_input: 100_001, output: 1000, ..Usage::default() };
        assert!(
            (cost(&haiku, &long, 0, None).total() / cost(&haiku, &short, 0, None).total() - 5.0).abs() < 1e-3
        );
    }
}
