//! State shared between replicas: the one seam through which every store that must agree
//! across processes reaches a shared backend.
//!
//! Each store keeps its local state as before (memory, or SQLite in the workspace: the
//! embedded default, and the only state without `--redis-url`). With a shared backend,
//! [`Shared`] sits in front of it: every call is bounded by a short timeout and a circuit
//! breaker, and a call that fails, times out or finds the breaker open answers `None`, so the
//! caller uses its local state. What the proxy acknowledged is never only remote: writes go to
//! the local store as well, so a marker written while Redis was away still resolves on that
//! replica. Fallbacks are counted per store (`/metrics`) and the backend's state is on
//! `/health` (`degraded` while it is away, never `down`).

pub mod args;
mod breaker;
pub mod redis;
pub mod savings;
mod session;

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub use args::{SharedArgs, SharedConfig};
use breaker::Breaker;

/// A shared backend failed a call.
#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    /// Not connected (yet, or any more).
    #[error("not connected")]
    NotConnected,
    /// The server answered with an error or the connection failed.
    #[error("{0}")]
    Backend(String),
}

/// A token bucket's state after a shared update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    /// The request was admitted (and took a request token).
    pub admitted: bool,
    /// Requests left.
    pub requests: f64,
    /// Tokens left (negative: in debt).
    pub tokens: f64,
}

/// What a store must offer to be shared between replicas. Keys are built by the backend from
/// the arguments; every tenant-owned value is keyed by the tenant (a hash of the caller's key).
pub trait SharedStore: Send + Sync {
    /// Store originals of lossy edits for `ttl`; `fresh[i]` says the `i`th was not stored by
    /// this replica before (the others are refreshed without resending their text when the
    /// backend still holds them).
    fn put_originals<'a>(
        &'a self,
        tenant: &'a str,
        items: &'a [(String, String)],
        fresh: &'a [bool],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), SharedError>>;
    /// Restart the TTL of originals stored before, without their text; whether each is
    /// still held (the caller sends the others whole).
    fn refresh_originals<'a>(
        &'a self,
        tenant: &'a str,
        keys: &'a [String],
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Vec<bool>, SharedError>>;
    /// An original of `tenant`.
    fn get_original<'a>(
        &'a self,
        tenant: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, SharedError>>;
    /// `count` leading messages of the conversation `session` of `tenant` went untouched
    /// (kept as a maximum).
    fn ledger_record<'a>(
        &'a self,
        tenant: &'a str,
        session: &'a str,
        count: u32,
    ) -> BoxFuture<'a, Result<(), SharedError>>;
    /// The recorded count of a conversation (0: none).
    fn ledger_frozen<'a>(
        &'a self,
        tenant: &'a str,
        session: &'a str,
    ) -> BoxFuture<'a, Result<u32, SharedError>>;
    /// Refill the buckets of `scope` (limits `rpm`, `tpm`; 0 is no limit) to the server's
    /// clock, take one request when `admit`, debit `tokens`: one atomic step on the server.
    fn rate<'a>(
        &'a self,
        scope: &'a str,
        rpm: u32,
        tpm: u64,
        admit: bool,
        tokens: u64,
    ) -> BoxFuture<'a, Result<Bucket, SharedError>>;
    /// Add `usd` to the spend of the period starting at `period_start` (over all keys and for
    /// `scope`), kept until `expires_at` (Unix seconds).
    fn budget_add<'a>(
        &'a self,
        period_start: u64,
        expires_at: u64,
        scope: &'a str,
        usd: f64,
    ) -> BoxFuture<'a, Result<(), SharedError>>;
    /// Spend of the period over all keys and for `scope`.
    fn budget_spent<'a>(
        &'a self,
        period_start: u64,
        scope: &'a str,
    ) -> BoxFuture<'a, Result<(f64, f64), SharedError>>;
    /// A response-cache entry (encoded by the cache).
    fn cache_get<'a>(&'a self, key: &'a [u8; 32]) -> BoxFuture<'a, Result<Option<Vec<u8>>, SharedError>>;
    /// Store a response-cache entry for `ttl`.
    fn cache_put<'a>(
        &'a self,
        key: &'a [u8; 32],
        value: Vec<u8>,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), SharedError>>;
    /// Add to the savings counters of the hour starting at `hour` (Unix seconds).
    fn savings_add<'a>(
        &'a self,
        hour: u64,
        fields: &'a [(&'static str, u64)],
    ) -> BoxFuture<'a, Result<(), SharedError>>;
    /// The savings counters summed over all replicas since `since_hour`.
    fn savings_since<'a>(
        &'a self,
        since_hour: u64,
        now_hour: u64,
    ) -> BoxFuture<'a, Result<Vec<(String, u64)>, SharedError>>;
    /// Answer a ping (the breaker's probe; also reconnects a store that never connected).
    fn probe(&self) -> BoxFuture<'_, Result<(), SharedError>>;
}

/// Which store a call served (the label of the fallback counter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct StoreLabel {
    /// `originals`, `ledger`, `rate_limits`, `budgets`, `response_cache` or `savings`.
    pub store: &'static str,
}

/// Counters for `/metrics` and `/health`.
#[derive(Clone, Default)]
pub struct SharedMetrics {
    /// Calls answered locally because the shared store failed, timed out or was away.
    pub fallbacks: Family<StoreLabel, Counter>,
    /// 1 while the shared store answers, 0 while the breaker is open (absent without one).
    pub up: Gauge,
    /// Times the breaker opened.
    pub trips: Counter,
}

impl SharedMetrics {
    /// Register in `r`.
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "shared_state_fallbacks",
            "Shared-state calls answered from local state (Redis failed, slow or away), by store",
            self.fallbacks.clone(),
        );
        r.register(
            "shared_state_up",
            "1 while the shared state (Redis) answers, 0 while it is away",
            self.up.clone(),
        );
        r.register("shared_state_trips", "Times the shared-state circuit breaker opened", self.trips.clone());
    }
}

/// The fallback wrapper: the shared backend behind its timeout and breaker.
pub struct Shared {
    backend: Option<Arc<dyn SharedStore>>,
    breaker: Breaker,
    timeout: Duration,
    metrics: SharedMetrics,
    prefix: String,
}

/// How often the breaker's probe runs.
const PROBE_EVERY: Duration = Duration::from_millis(500);

impl Shared {
    /// Nothing shared: every call answers `None` at once.
    pub fn local() -> Arc<Self> {
        Arc::new(Self {
            backend: None,
            breaker: Breaker::default(),
            timeout: Duration::ZERO,
            metrics: SharedMetrics::default(),
            prefix: String::new(),
        })
    }

    /// From the configuration: with a Redis URL, a client that connects in the background
    /// (a Redis that is down at start is only a degraded start) and a probe task that closes
    /// the breaker once it answers. Needs a Tokio runtime when a URL is given.
    pub fn open(config: &SharedConfig, metrics: SharedMetrics) -> Result<Arc<Self>, SharedError> {
        let Some(url) = &config.redis_url else {
            return Ok(Arc::new(Self {
                backend: None,
                breaker: Breaker::default(),
                timeout: Duration::ZERO,
                metrics,
                prefix: String::new(),
            }));
        };
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| SharedError::Backend("shared state needs an async runtime".into()))?;
        let store = redis::RedisStore::new(url, &config.prefix)?;
        let shared = Arc::new(Self {
            backend: Some(Arc::new(store)),
            breaker: Breaker::default(),
            timeout: config.timeout,
            metrics,
            prefix: config.prefix.clone(),
        });
        // Open until the first probe answers: nothing waits on a connection being made.
        shared.breaker.probe_failed();
        shared.metrics.up.set(0);
        let weak = Arc::downgrade(&shared);
        runtime.spawn(async move {
            loop {
                let Some(shared) = weak.upgrade() else { return };
                shared.probe().await;
                drop(shared);
                tokio::time::sleep(PROBE_EVERY).await;
            }
        });
        tracing::info!(prefix = %config.prefix, "shared state in Redis");
        Ok(shared)
    }

    async fn probe(&self) {
        let Some(backend) = &self.backend else { return };
        // Connecting may take longer than a request's bound; the probe is off every request.
        let ok = tokio::time::timeout(Duration::from_secs(1).max(self.timeout), backend.probe()).await;
        match ok {
            Ok(Ok(())) => {
                if self.breaker.recovered() {
                    tracing::info!("shared state (Redis) answering: using it again");
                }
                self.metrics.up.set(1);
            }
            Ok(Err(e)) => self.down(&e.to_string()),
            Err(_) => self.down("probe timed out"),
        }
    }

    fn down(&self, why: &str) {
        if self.breaker.probe_failed() {
            self.metrics.trips.inc();
            tracing::warn!(error = why, "shared state (Redis) away: serving from local state");
        }
        self.metrics.up.set(0);
    }

    /// A shared backend is configured.
    pub fn enabled(&self) -> bool {
        self.backend.is_some()
    }

    /// The backend answers (the breaker is closed).
    pub fn healthy(&self) -> bool {
        self.backend.is_some() && self.breaker.closed()
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Fallbacks so far (all stores).
    pub fn fallbacks(&self) -> u64 {
        let mut n = 0;
        for store in STORES {
            n += self.metrics.fallbacks.get_or_create(&StoreLabel { store }).get();
        }
        n
    }

    /// Run `call` on the backend within the bound: `None` (counted as a fallback of `store`)
    /// when there is no answer; the caller then uses its local state. Without a backend,
    /// `None` at once and nothing counted.
    ///
    /// `call` runs at once to build the backend's future (no work is done until it is
    /// awaited), so the returned future holds no closure.
    pub fn call<'a, T: Send + 'a>(
        &'a self,
        store: &'static str,
        call: impl FnOnce(&'a dyn SharedStore) -> BoxFuture<'a, Result<T, SharedError>>,
    ) -> impl std::future::Future<Output = Option<T>> + Send + 'a {
        let pending = match self.backend.as_deref() {
            None => Err(false),
            Some(_) if !self.breaker.closed() => Err(true),
            Some(backend) => Ok(call(backend)),
        };
        async move {
            let future = match pending {
                Ok(f) => f,
                Err(away) => {
                    if away {
                        self.fallback(store);
                    }
                    return None;
                }
            };
            self.bounded(store, future).await
        }
    }

    async fn bounded<T>(
        &self,
        store: &'static str,
        future: BoxFuture<'_, Result<T, SharedError>>,
    ) -> Option<T> {
        match tokio::time::timeout(self.timeout, future).await {
            Ok(Ok(v)) => {
                self.breaker.success();
                Some(v)
            }
            Ok(Err(e)) => {
                self.failed(store, &e.to_string());
                None
            }
            Err(_) => {
                self.failed(store, "timed out");
                None
            }
        }
    }

    /// Like [`call`](Self::call), run in the background (writes the request does not wait on).
    pub fn spawn<F>(self: &Arc<Self>, store: &'static str, call: F)
    where
        F: for<'a> FnOnce(&'a dyn SharedStore) -> BoxFuture<'a, Result<(), SharedError>> + Send + 'static,
    {
        if self.backend.is_none() {
            return;
        }
        let me = Arc::clone(self);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                me.call(store, call).await;
            });
        }
    }

    fn fallback(&self, store: &'static str) {
        self.metrics.fallbacks.get_or_create(&StoreLabel { store }).inc();
    }

    fn failed(&self, store: &'static str, why: &str) {
        self.fallback(store);
        if self.breaker.failure() {
            self.metrics.trips.inc();
            self.metrics.up.set(0);
            tracing::warn!(store, error = why, "shared state (Redis) failing: serving from local state");
        } else {
            tracing::debug!(store, error = why, "shared-state call answered locally");
        }
    }

    /// The `/health` check: `degraded` while the backend is away (requests are still served).
    pub fn health(&self) -> serde_json::Value {
        if self.backend.is_none() {
            return serde_json::json!({"enabled": false, "ready": true, "status": "healthy", "backend": "local"});
        }
        let by_store: serde_json::Map<String, serde_json::Value> = STORES
            .iter()
            .map(|s| {
                (
                    (*s).to_owned(),
                    serde_json::json!(self.metrics.fallbacks.get_or_create(&StoreLabel { store: s }).get()),
                )
            })
            .collect();
        serde_json::json!({
            "enabled": true,
            "ready": true,
            "status": if self.breaker.closed() { "healthy" } else { "degraded" },
            "backend": "redis",
            "prefix": self.prefix,
            "fallbacks": self.fallbacks(),
            "fallbacks_by_store": by_store,
            "trips": self.metrics.trips.get(),
        })
    }
}

/// The stores, for labels and `/health`.
pub const STORES: [&str; 6] = ["originals", "ledger", "rate_limits", "budgets", "response_cache", "savings"];
