//! The response cache: identical requests from the same key answered from memory. The key is
//! a hash of the key scope, the route, the headers that change the answer (`anthropic-version`,
//! `anthropic-beta`, `openai-beta`) and the client's body in canonical form (parsed, with
//! every `cache_control` marker removed, with sorted object keys: [`crate::canonical`]). Entries live in
//! an LRU bounded in bytes, each with a TTL. JSON answers are replayed byte for byte; streamed
//! answers are recorded chunk by chunk as they are relayed and replayed as the same stream.
//! Only complete, successful answers are stored: status 200, the body ended without error
//! (and, for a stream, its final event seen), no retrieval round by the proxy.

pub mod args;
pub mod record;
mod wire;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};

pub use args::{CacheArgs, CacheConfig};

/// A cache key (blake3).
pub type Key = [u8; 32];

/// One stored answer.
struct Entry {
    chunks: std::sync::Arc<[Bytes]>,
    content_type: Option<http::HeaderValue>,
    bytes: usize,
    stored: Instant,
    tick: u64,
}

#[derive(Default)]
struct Lru {
    map: HashMap<Key, Entry>,
    order: BTreeMap<u64, Key>,
    bytes: usize,
    tick: u64,
}

/// Counters for `/stats` and `/metrics` (registered by [`crate::metrics::Metrics`]).
#[derive(Clone, Default)]
pub struct Counters {
    /// Answered from the cache.
    pub hits: Counter,
    /// Looked up and not found (or expired).
    pub misses: Counter,
    /// Answers stored.
    pub stores: Counter,
    /// Entries evicted for room or expired.
    pub evictions: Counter,
    /// Requests that opted out (`cache-control: no-store`, `headroom-cache: off`).
    pub skipped: Counter,
    /// Answers not stored: incomplete, failed, too large or with a retrieval round.
    pub not_stored: Counter,
    /// Bytes held.
    pub bytes: Gauge,
    /// Entries held.
    pub entries: Gauge,
}

impl Counters {
    /// Register in `r`.
    pub fn register(&self, r: &mut Registry) {
        r.register("response_cache_hits", "Requests answered from the response cache", self.hits.clone());
        r.register("response_cache_misses", "Response-cache lookups that found nothing", self.misses.clone());
        r.register("response_cache_stores", "Answers stored in the response cache", self.stores.clone());
        r.register(
            "response_cache_evictions",
            "Response-cache entries evicted (room or TTL)",
            self.evictions.clone(),
        );
        r.register(
            "response_cache_skipped",
            "Requests that opted out of the response cache",
            self.skipped.clone(),
        );
        r.register(
            "response_cache_not_stored",
            "Answers not stored: incomplete, failed, too large or with a retrieval round",
            self.not_stored.clone(),
        );
        r.register("response_cache_bytes", "Bytes held by the response cache", self.bytes.clone());
        r.register("response_cache_entries", "Entries held by the response cache", self.entries.clone());
    }
}

/// The cache.
pub struct ResponseCache {
    config: CacheConfig,
    lru: Mutex<Lru>,
    /// Entries shared with other replicas (answers stored by one are served by all).
    shared: std::sync::Arc<crate::shared::Shared>,
    /// Counters.
    pub counters: Counters,
}

/// Request headers that change the answer (part of the key).
const KEYED_HEADERS: [&str; 3] = ["anthropic-version", "anthropic-beta", "openai-beta"];

impl ResponseCache {
    /// With `config`.
    pub fn new(
        config: CacheConfig,
        counters: Counters,
        shared: std::sync::Arc<crate::shared::Shared>,
    ) -> Self {
        Self { config, lru: Mutex::default(), counters, shared }
    }

    /// On at all.
    pub fn enabled(&self) -> bool {
        self.config.enabled
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        self.lru.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The key of a request, `None` when the cache is off, the client opted out, or the body
    /// is not a JSON object (`body`: its hash as sent, less its `cache_control` markers, which
    /// change billing, not the answer; `None` when it is not).
    pub fn key(
        &self,
        scope: &str,
        path: &str,
        headers: &http::HeaderMap,
        body: Option<&[u8; 32]>,
    ) -> Option<Key> {
        if !self.config.enabled {
            return None;
        }
        let opted_out = headers
            .get_all(http::header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.to_ascii_lowercase().contains("no-store"))
            || headers
                .get("headroom-cache")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.eq_ignore_ascii_case("off"));
        if opted_out {
            self.counters.skipped.inc();
            return None;
        }
        let body = body?;
        let mut h = blake3::Hasher::new();
        h.update(scope.as_bytes());
        h.update(b"\0");
        h.update(path.as_bytes());
        for name in KEYED_HEADERS {
            h.update(b"\0");
            for v in headers.get_all(name) {
                h.update(v.as_bytes());
                h.update(b",");
            }
        }
        h.update(b"\0");
        h.update(body);
        Some(*h.finalize().as_bytes())
    }

    /// The stored answer for `key`, replayed (a stream as a stream, chunk for chunk): held
    /// here, or stored by another replica (bounded wait; then it is copied here).
    pub async fn lookup(&self, key: &Key) -> Option<Response> {
        if !self.shared.enabled() {
            return self.lookup_local(key);
        }
        if let Some(hit) = self.lookup_here(key) {
            return Some(hit);
        }
        let found = self.shared.call("response_cache", |b| b.cache_get(key)).await.flatten();
        let decoded = found.as_deref().and_then(wire::decode);
        match decoded {
            Some((age, chunks, content_type)) if age < self.config.ttl => {
                let stored = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
                self.put_local(*key, chunks, content_type, stored);
                self.lookup_local(key)
            }
            _ => {
                self.counters.misses.inc();
                None
            }
        }
    }

    /// [`lookup_local`](Self::lookup_local) without counting a miss (the shared store is
    /// asked next).
    fn lookup_here(&self, key: &Key) -> Option<Response> {
        if !self.lock().map.contains_key(key) {
            return None;
        }
        self.lookup_local(key)
    }

    /// The answer held by this process.
    pub fn lookup_local(&self, key: &Key) -> Option<Response> {
        let mut lru = self.lock();
        let ttl = self.config.ttl;
        let expired = match lru.map.get(key) {
            None => {
                drop(lru);
                self.counters.misses.inc();
                return None;
            }
            Some(e) => e.stored.elapsed() >= ttl,
        };
        if expired {
            lru.remove(key);
            self.counters.bytes.set(i64::try_from(lru.bytes).unwrap_or(i64::MAX));
            self.counters.entries.set(i64::try_from(lru.map.len()).unwrap_or(i64::MAX));
            drop(lru);
            self.counters.evictions.inc();
            self.counters.misses.inc();
            return None;
        }
        lru.tick += 1;
        let tick = lru.tick;
        let (chunks, content_type, age, old) = {
            let e = lru.map.get_mut(key)?;
            let old = std::mem::replace(&mut e.tick, tick);
            (std::sync::Arc::clone(&e.chunks), e.content_type.clone(), e.stored.elapsed().as_secs(), old)
        };
        lru.order.remove(&old);
        lru.order.insert(tick, *key);
        drop(lru);
        self.counters.hits.inc();
        let body = if chunks.len() == 1 {
            Body::from(chunks[0].clone())
        } else {
            let stream = futures_util::stream::iter(
                (0..chunks.len()).map(move |i| Ok::<_, std::io::Error>(chunks[i].clone())),
            );
            Body::from_stream(stream)
        };
        let mut r = Response::new(body);
        if let Some(ct) = content_type {
            r.headers_mut().insert(http::header::CONTENT_TYPE, ct);
        }
        r.headers_mut().insert("x-headroom-cache", http::HeaderValue::from_static("hit"));
        r.headers_mut().insert(http::header::AGE, http::HeaderValue::from(age));
        Some(r)
    }

    /// Store a complete answer (here, and for the other replicas without waiting).
    pub(crate) fn insert(&self, key: Key, chunks: Vec<Bytes>, content_type: Option<http::HeaderValue>) {
        let bytes: usize = chunks.iter().map(Bytes::len).sum::<usize>() + 128;
        if bytes > self.config.max_entry_bytes() {
            self.counters.not_stored.inc();
            return;
        }
        if self.shared.enabled() {
            let value = wire::encode(&chunks, content_type.as_ref());
            let ttl = self.config.ttl;
            self.shared.spawn("response_cache", move |b| {
                Box::pin(async move { b.cache_put(&key, value, ttl).await })
            });
        }
        self.put_local(key, chunks, content_type, Instant::now());
        self.counters.stores.inc();
    }

    fn put_local(&self, key: Key, chunks: Vec<Bytes>, content_type: Option<http::HeaderValue>, now: Instant) {
        let bytes: usize = chunks.iter().map(Bytes::len).sum::<usize>() + 128;
        let mut lru = self.lock();
        lru.remove(&key);
        let mut evicted = 0;
        // Expired entries at the cold end first (a bounded walk, never a scan of the whole
        // map: others expire when looked up or reach the cold end), then the least recently
        // used until the new one fits.
        let ttl = self.config.ttl;
        for _ in 0..8 {
            let Some(oldest) = lru.order.first_key_value().map(|(_, k)| *k) else { break };
            if lru.map.get(&oldest).is_some_and(|e| e.stored.elapsed() >= ttl) {
                lru.remove(&oldest);
                evicted += 1;
            } else {
                break;
            }
        }
        while lru.bytes + bytes > self.config.max_bytes {
            let Some((_, oldest)) = lru.order.pop_first() else { break };
            lru.remove(&oldest);
            evicted += 1;
        }
        lru.tick += 1;
        let tick = lru.tick;
        lru.order.insert(tick, key);
        lru.bytes += bytes;
        lru.map.insert(key, Entry { chunks: chunks.into(), content_type, bytes, stored: now, tick });
        self.counters.bytes.set(i64::try_from(lru.bytes).unwrap_or(i64::MAX));
        self.counters.entries.set(i64::try_from(lru.map.len()).unwrap_or(i64::MAX));
        drop(lru);
        self.counters.evictions.inc_by(evicted);
    }

    /// Entries and bytes held.
    pub fn size(&self) -> (usize, usize) {
        let lru = self.lock();
        (lru.map.len(), lru.bytes)
    }

    /// The `/stats` block.
    pub fn json(&self) -> Value {
        let (entries, bytes) = self.size();
        let c = &self.counters;
        let n = |a: &Counter| a.get();
        let (hits, misses) = (n(&c.hits), n(&c.misses));
        json!({
            "enabled": self.config.enabled,
            "ttl_seconds": self.config.ttl.as_secs(),
            "max_bytes": self.config.max_bytes,
            "entries": entries,
            "bytes": bytes,
            "hits": hits,
            "misses": misses,
            "hit_rate": if hits + misses > 0 { (hits as f64 / (hits + misses) as f64 * 1000.0).round() / 1000.0 } else { 0.0 },
            "stores": n(&c.stores),
            "evictions": n(&c.evictions),
            "skipped_opt_out": n(&c.skipped),
            "not_stored": n(&c.not_stored),
        })
    }

    /// The TTL.
    pub fn ttl(&self) -> Duration {
        self.config.ttl
    }
}

impl Lru {
    fn remove(&mut self, key: &Key) {
        if let Some(e) = self.map.remove(key) {
            self.order.remove(&e.tick);
            self.bytes -= e.bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(max_bytes: usize) -> ResponseCache {
        ResponseCache::new(
            CacheConfig { enabled: true, ttl: Duration::from_secs(60), max_bytes },
            Counters::default(),
            crate::shared::Shared::local(),
        )
    }

    #[test]
    fn keys_ignore_cache_control_but_not_the_scope_or_the_content() {
        let c = cache(1 << 20);
        let h = http::HeaderMap::new();
        let whole = |body: &str| {
            crate::facts::Facts::read(
                &crate::ccr::Tenant::of(&h),
                headroom_runtime::wit::Dialect::AnthropicMessages,
                body.as_bytes(),
            )
            .hashes
            .whole
        };
        let a = whole(
            r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}]}"#,
        );
        let b =
            whole(r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}"#);
        let other =
            whole(r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"ho"}]}]}"#);
        let key = |scope: &str, headers: &http::HeaderMap, body: &[u8; 32]| {
            c.key(scope, "/v1/messages", headers, Some(body))
        };
        assert!(key("s", &h, &a).is_some());
        assert_eq!(key("s", &h, &a), key("s", &h, &b));
        assert_ne!(key("s", &h, &a), key("s", &h, &other));
        assert_ne!(key("s", &h, &a), key("t", &h, &a));
        let mut opt_out = http::HeaderMap::new();
        opt_out.insert("cache-control", "no-store".parse().expect("test value"));
        assert_eq!(key("s", &opt_out, &a), None);
        let mut off = http::HeaderMap::new();
        off.insert("headroom-cache", "off".parse().expect("test value"));
        assert_eq!(key("s", &off, &a), None);
        assert_eq!(c.key("s", "/v1/messages", &h, None), None);
    }

    #[test]
    fn lru_by_bytes_evicts_the_least_recently_used() {
        // Entries of 872 + 128 bytes: four fit in 4000 (one may use a quarter).
        let c = cache(4000);
        let chunk = || vec![Bytes::from(vec![b'x'; 872])];
        for k in 1..=4u8 {
            c.insert([k; 32], chunk(), None);
        }
        assert!(c.lookup_local(&[1; 32]).is_some());
        c.insert([5; 32], chunk(), None);
        // The least recently used (2) went; 1 was used since.
        assert!(c.lookup_local(&[2; 32]).is_none());
        assert!([1u8, 3, 4, 5].iter().all(|k| c.lookup_local(&[*k; 32]).is_some()));
        // Too large for one entry: not stored.
        c.insert([6; 32], vec![Bytes::from(vec![b'x'; 1000])], None);
        assert!(c.lookup_local(&[6; 32]).is_none());
        assert_eq!(c.counters.evictions.get(), 1);
        assert!(c.size().1 <= 4000);
    }
}
