//! What `/stats` shows: counts since the proxy started (by provider, model and transform),
//! latency percentiles, the real bill per session and in total, the prompt cache as the
//! providers reported it, and the persistent savings history ([`history`]).

pub mod history;
pub mod time;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{Value, json};

use crate::accounting::{Bill, Record, Sink};
use history::History;

/// Distinct models counted apart; later ones are counted as `other`.
pub const MAX_MODELS: usize = 64;
/// Distinct transforms counted apart.
const MAX_TRANSFORMS: usize = 64;
/// Sessions kept for `/stats` (the least recently seen are dropped first).
const MAX_SESSIONS: usize = 2_048;
/// Latency samples kept for percentiles.
const SAMPLES: usize = 8_192;
/// Points of the session-scoped savings history.
const SAVINGS_POINTS: usize = 500;

/// Token counts.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Tokens {
    /// Requests.
    pub requests: u64,
    /// Tokens before compression.
    pub tokens_before: u64,
    /// After.
    pub tokens_after: u64,
    /// Saved.
    pub tokens_saved: u64,
}

impl Tokens {
    fn add(&mut self, before: u64, after: u64) {
        self.requests += 1;
        self.tokens_before += before;
        self.tokens_after += after;
        self.tokens_saved += before.saturating_sub(after);
    }
}

/// One session's totals.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SessionTotals {
    /// Requests.
    pub requests: u64,
    /// Tokens saved.
    pub tokens_saved: u64,
    /// The bill.
    pub bill: Bill,
    /// Cache breaks caused by the proxy.
    pub cache_breaks_proxy: u64,
    /// Cache breaks the provider caused (the cache went cold with nothing changed).
    pub cache_breaks_provider: u64,
    /// Last request, Unix milliseconds.
    pub last_ms: u64,
    /// Its provider and model.
    pub provider: &'static str,
    /// Model.
    pub model: String,
}

/// A bounded ring of samples.
#[derive(Default, Clone)]
struct Samples(VecDeque<f64>);

impl Samples {
    fn push(&mut self, v: f64) {
        if self.0.len() == SAMPLES {
            self.0.pop_front();
        }
        self.0.push_back(v);
    }

    fn percentiles(&self) -> Value {
        let mut v: Vec<f64> = self.0.iter().copied().collect();
        if v.is_empty() {
            return json!({"count": 0});
        }
        v.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let i = ((v.len() - 1) as f64 * q).round() as usize;
            (v[i] * 1000.0).round() / 1000.0
        };
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        json!({"count": v.len(), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": at(1.0),
            "mean": (mean * 1000.0).round() / 1000.0})
    }
}

#[derive(Default)]
struct Live {
    requests: u64,
    by_provider: BTreeMap<&'static str, Tokens>,
    by_model: BTreeMap<String, Tokens>,
    by_transform: BTreeMap<String, Tokens>,
    /// Engine milliseconds attributed to each transform (see `Compression::from_report`).
    transform_ms: BTreeMap<String, f64>,
    by_status: BTreeMap<u16, u64>,
    errors: BTreeMap<&'static str, u64>,
    streaming: u64,
    retrieval_rounds: u64,
    retrieval_requests: u64,
    compression_failures: u64,
    aborted: u64,
    cache_hits: u64,
    latency: Samples,
    overhead: Samples,
    ttfb: Samples,
    compression: Samples,
    bill: Bill,
    usage_reported: u64,
    cache_breaks: BTreeMap<&'static str, u64>,
    sessions: crate::FastMap<String, SessionTotals>,
    savings: VecDeque<(u64, u64)>,
    tokens_saved: u64,
}

/// The aggregate, fed every record.
pub struct Stats {
    live: Mutex<Live>,
    /// The persistent history.
    pub history: History,
    started_ms: u64,
}

impl Sink for Stats {
    fn record(&self, r: &Record) {
        self.history.add(r);
        let mut l = self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        l.requests += 1;
        l.by_provider.entry(r.provider).or_default().add(r.tokens_before, r.tokens_after);
        let model = if l.by_model.contains_key(&r.model) || l.by_model.len() < MAX_MODELS {
            r.model.as_str()
        } else {
            "other"
        };
        // A model seen before (nearly every request) is not copied to look it up.
        match l.by_model.get_mut(model) {
            Some(t) => t.add(r.tokens_before, r.tokens_after),
            None => l.by_model.entry(model.to_owned()).or_default().add(r.tokens_before, r.tokens_after),
        }
        for t in &r.transforms {
            if l.by_transform.len() < MAX_TRANSFORMS || l.by_transform.contains_key(&t.name) {
                let e = l.by_transform.entry(t.name.clone()).or_default();
                e.add(t.tokens_before, t.tokens_after);
                e.requests -= 1;
                e.requests += u64::from(t.blocks);
                *l.transform_ms.entry(t.name.clone()).or_default() += t.ms;
            }
        }
        *l.by_status.entry(r.status).or_default() += 1;
        if let Some(kind) = r.error_kind {
            *l.errors.entry(kind).or_default() += 1;
        }
        l.streaming += u64::from(r.streaming);
        l.retrieval_rounds += u64::from(r.retrieval_rounds);
        l.retrieval_requests += u64::from(r.retrieval_rounds > 0);
        l.compression_failures += u64::from(r.compression_failed);
        l.aborted += u64::from(r.client_aborted);
        l.cache_hits += u64::from(r.cache_hit);
        l.latency.push(r.latency_ms);
        l.overhead.push(r.overhead_ms);
        if let Some(t) = r.ttfb_ms {
            l.ttfb.push(t);
        }
        if r.compression_ms > 0.0 {
            l.compression.push(r.compression_ms);
        }
        if let Some(b) = &r.bill {
            l.bill.add(b);
            l.usage_reported += 1;
        }
        if let Some(kind) = r.cache_break {
            *l.cache_breaks.entry(kind).or_default() += 1;
        }
        l.tokens_saved += r.tokens_saved;
        let point = (r.at_ms, l.tokens_saved);
        if l.savings.len() == SAVINGS_POINTS {
            l.savings.pop_front();
        }
        l.savings.push_back(point);
        if let Some(id) = &r.session {
            if l.sessions.len() >= MAX_SESSIONS && !l.sessions.contains_key(id) {
                let oldest = l.sessions.iter().min_by_key(|(_, s)| s.last_ms).map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    l.sessions.remove(&k);
                }
            }
            if !l.sessions.contains_key(id) {
                l.sessions.insert(id.clone(), SessionTotals::default());
            }
            let Some(s) = l.sessions.get_mut(id) else { return };
            s.requests += 1;
            s.tokens_saved += r.tokens_saved;
            if let Some(b) = &r.bill {
                s.bill.add(b);
            }
            s.cache_breaks_proxy += u64::from(r.cache_break == Some("proxy"));
            s.cache_breaks_provider += u64::from(r.cache_break == Some("provider"));
            s.last_ms = r.at_ms;
            s.provider = r.provider;
            if s.model != model {
                model.clone_into(&mut s.model);
            }
        }
    }
}

fn r2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The bill block: billed input-token equivalents, with and without Headroom.
fn bill_json(b: &Bill) -> Value {
    let saved = b.billed_direct - b.billed;
    let pct = if b.billed_direct > 0.0 { saved / b.billed_direct * 100.0 } else { 0.0 };
    json!({
        "billed_input_tokens": r2(b.billed),
        "billed_input_tokens_without_headroom": r2(b.billed_direct),
        "billed_input_tokens_saved": r2(saved),
        "billed_input_saved_percent": r2(pct),
        "summary": format!("billed input tokens {:.0} vs {:.0} without Headroom", b.billed, b.billed_direct),
        "reported": {
            "uncached_input_tokens": b.actual.uncached_input,
            "cache_read_tokens": b.actual.cache_read,
            "cache_write_5m_tokens": b.actual.cache_write_5m,
            "cache_write_1h_tokens": b.actual.cache_write_1h,
            "output_tokens": b.actual.output,
        },
        "without_headroom": {
            "uncached_input_tokens": b.direct.uncached_input,
            "cache_read_tokens": b.direct.cache_read,
            "cache_write_5m_tokens": b.direct.cache_write_5m,
            "cache_write_1h_tokens": b.direct.cache_write_1h,
        },
        "weights": "input-token equivalents: uncached 1.0; Anthropic cache read 0.1, write 1.25 (5m) / 2.0 (1h); OpenAI cached 0.1-0.5 by model, no write charge",
    })
}

impl Stats {
    /// With `history`.
    pub fn new(history: History) -> Self {
        let started_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Self { live: Mutex::new(Live::default()), history, started_ms }
    }

    /// Requests accounted since start.
    pub fn requests(&self) -> u64 {
        self.live.lock().map(|l| l.requests).unwrap_or(0)
    }

    /// The `/stats` document.
    pub fn snapshot(&self, recent_sessions: usize) -> Value {
        let lifetime = self.history.lifetime();
        let recent: Vec<Value> =
            self.history.checkpoints().iter().rev().take(5).rev().map(|c| c.json()).collect();
        let l = self.live.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Percentiles sort thousands of samples: done on copies, after the lock is released,
        // so requests finishing meanwhile never wait on a scrape.
        let samples = [l.latency.clone(), l.overhead.clone(), l.ttfb.clone(), l.compression.clone()];
        let mut sessions: Vec<(&String, &SessionTotals)> = l.sessions.iter().collect();
        sessions.sort_by_key(|s| std::cmp::Reverse(s.1.last_ms));
        let sessions: Vec<Value> = sessions
            .into_iter()
            .take(recent_sessions)
            .map(|(id, s)| {
                json!({"session": id, "provider": s.provider, "model": s.model, "requests": s.requests,
                    "tokens_saved": s.tokens_saved, "last_request": time::iso(s.last_ms / 1000),
                    "cache_breaks": {"proxy": s.cache_breaks_proxy, "provider": s.cache_breaks_provider},
                    "bill": bill_json(&s.bill)})
            })
            .collect();
        let u = &l.bill.actual;
        let writes = u.cache_write();
        let mix = |n: u64| if writes > 0 { r2(n as f64 / writes as f64) } else { 0.0 };
        let input = u.input_total();
        let total_saved: u64 = l.by_provider.values().map(|t| t.tokens_saved).sum();
        let total_before: u64 = l.by_provider.values().map(|t| t.tokens_before).sum();
        let mut v = json!({
            "since": time::iso(self.started_ms / 1000),
            "requests": {
                "total": l.requests,
                "streaming": l.streaming,
                "by_provider": l.by_provider.iter().map(|(k, v)| (k.to_string(), json!(v.requests))).collect::<serde_json::Map<_, _>>(),
                "by_model": l.by_model.iter().map(|(k, v)| (k.clone(), json!(v.requests))).collect::<serde_json::Map<_, _>>(),
                "by_status": l.by_status.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
                "errors": l.errors,
                "client_aborted": l.aborted,
                "cache_hits": l.cache_hits,
            },
            "tokens": {
                "before": total_before,
                "after": total_before - total_saved,
                "saved": total_saved,
                "saved_percent": if total_before > 0 { r2(total_saved as f64 / total_before as f64 * 100.0) } else { 0.0 },
                "by_provider": l.by_provider,
                "by_model": l.by_model,
                "by_transform": l.by_transform,
            },
            "transform_ms": l.transform_ms.iter().map(|(k, v)| (k.clone(), json!(r2(*v)))).collect::<serde_json::Map<_, _>>(),
            "latency_ms": Value::Null,
            "retrieval": {"rounds": l.retrieval_rounds, "requests_with_rounds": l.retrieval_requests},
            "compression_failures": l.compression_failures,
            "bill": {
                "total": bill_json(&l.bill),
                "requests_with_reported_usage": l.usage_reported,
                "cache_breaks": {
                    "proxy": l.cache_breaks.get("proxy").copied().unwrap_or(0),
                    "provider": l.cache_breaks.get("provider").copied().unwrap_or(0),
                },
                "sessions": sessions,
                "sessions_tracked": l.sessions.len(),
            },
            "prefix_cache": {
                "input_tokens": input,
                "cache_read_tokens": u.cache_read,
                "cache_write_tokens": writes,
                "hit_rate": if input > 0 { r2(u.cache_read as f64 / input as f64) } else { 0.0 },
                "observed_ttl_buckets": {"5m": {"tokens": u.cache_write_5m}, "1h": {"tokens": u.cache_write_1h}},
                "observed_ttl_mix": {"5m": mix(u.cache_write_5m), "1h": mix(u.cache_write_1h)},
            },
            "savings_history": l.savings.iter().map(|(t, s)| json!([time::iso(t / 1000), s])).collect::<Vec<_>>(),
            "persistent_savings": {
                "lifetime": lifetime,
                "summary": format!("billed input tokens {:.0} vs {:.0} without Headroom", lifetime.billed_input, lifetime.billed_input_direct),
                "recent": recent,
                "path": self.history.path().map(|p| p.display().to_string()),
            },
        });
        drop(l);
        let [total, overhead, ttfb, compression] = samples;
        v["latency_ms"] = json!({
            "total": total.percentiles(),
            "overhead": overhead.percentiles(),
            "ttfb": ttfb.percentiles(),
            "compression": compression.percentiles(),
        });
        v
    }
}
