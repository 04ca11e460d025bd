//! Shared state of the proxy.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use headroom_runtime::{Limits, Runtime, RuntimeConfig};

use crate::accounting::{Accounting, Sink};
use crate::ccr::CcrStore;
use crate::config::ProxyConfig;
use crate::ledger::Ledger;
use crate::models::UnknownModels;

/// Counters surfaced by `/health` (and, later, `/metrics`).
#[derive(Default)]
pub struct Counters {
    /// Requests whose body the engine rewrote.
    pub compressed: AtomicU64,
    /// Requests forwarded untouched because compression failed or ran out of time.
    pub compression_failures: AtomicU64,
    /// Tokens removed from forwarded requests.
    pub tokens_saved: AtomicU64,
    /// `count_tokens` requests counted for a body other than the client's (compressed, or
    /// with the retrieval tool).
    pub count_tokens_rewritten: AtomicU64,
}

impl Counters {
    /// Add `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

/// Everything a handler needs.
pub struct AppState {
    /// Resolved configuration.
    pub config: ProxyConfig,
    /// The upstream HTTP client.
    pub client: crate::upstream::connect::Client,
    /// The telemetry exporters' HTTP client (off the hot path: a request builder with its
    /// own deadline is worth more there than a few microseconds).
    pub export_client: reqwest::Client,
    /// The upstreams' URLs, parsed once.
    pub targets: crate::upstream::Targets,
    runtime: OnceLock<Arc<Runtime>>,
    load_error: OnceLock<String>,
    /// Originals of lossy edits.
    pub ccr: CcrStore,
    /// Sessions with messages forwarded untouched.
    pub ledger: Ledger,
    /// Each recent conversation's last body, so the next is read only past what it shares.
    pub read_memos: crate::read_memos::ReadMemos,
    /// Counters.
    pub counters: Counters,
    /// Requests for models the engine does not know.
    pub unknown_models: UnknownModels,
    /// When the proxy started.
    pub started: Instant,
    plugins: OnceLock<Arc<headroom_plugins::Registry>>,
    /// Per-request records, handed to stats, metrics and the request log (in batches: read
    /// what they feed after [`Accounting::settle`]).
    pub accounting: Arc<Accounting>,
    /// `/stats` and the savings history.
    pub stats: Arc<crate::stats::Stats>,
    /// `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The request log, when one is configured.
    pub request_log: Option<Arc<crate::request_log::RequestLog>>,
    /// Why the request log could not be opened.
    pub request_log_error: Option<String>,
    /// Costs, budgets and rate limits.
    pub spend: Arc<crate::spend::Spend>,
    /// The response cache.
    pub cache: Arc<crate::cache::ResponseCache>,
    /// OpenTelemetry metrics and Langfuse traces.
    pub telemetry: Arc<crate::otel::Telemetry>,
    /// State shared between replicas (Redis), in front of the local stores.
    pub shared: Arc<crate::shared::Shared>,
    /// Set once a shutdown signal arrived: `/readyz` answers 503 from then on.
    pub draining: std::sync::atomic::AtomicBool,
}

/// Why the state could not be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The upstream HTTP client.
    #[error("HTTP client: {0}")]
    Client(#[from] crate::upstream::connect::ClientError),
    /// The exporters' HTTP client.
    #[error("HTTP client: {0}")]
    ExportClient(#[from] reqwest::Error),
    /// The shared-state backend (a malformed `--redis-url`).
    #[error("shared state: {0}")]
    Shared(#[from] crate::shared::SharedError),
}

impl AppState {
    /// Build the state; the component is loaded separately ([`AppState::load_component`]) so
    /// the server answers `/livez` while it loads.
    pub fn new(config: ProxyConfig) -> Result<Arc<Self>, StateError> {
        let memo_bytes = config.memory_bytes;
        let read_memos = crate::read_memos::ReadMemos::new(memo_bytes);
        // Only one crypto provider is compiled in; installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // Redirects go back to the client as the upstream sent them (the client has no redirect
        // layer): a proxy that followed one would resend the client's key and body to wherever
        // the upstream pointed. No total timeout: the head and idle bounds are the proxy's.
        // The environment's proxies (`HTTPS_PROXY`, `NO_PROXY`, ...), read once.
        let proxies = hyper_util::client::proxy::matcher::Matcher::from_env();
        let targets = crate::upstream::Targets::new(&config, &proxies);
        let client = crate::upstream::connect::client(config.connect_timeout, proxies)?;
        let export_client = reqwest::Client::builder()
            .tcp_nodelay(true)
            .connect_timeout(config.connect_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        // Opening the store is file I/O: start-up only, before the server takes requests.
        let ccr = CcrStore::open(&config.ccr);
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let history = match &config.observe.savings_path {
            Some(path) => crate::stats::history::History::open(path, now),
            None => crate::stats::history::History::in_memory(),
        };
        let stats = Arc::new(crate::stats::Stats::new(history));
        let metrics = Arc::new(crate::metrics::Metrics::with(config.shared.redis_url.is_some()));
        let shared = crate::shared::Shared::open(&config.shared, metrics.shared.clone())?;
        let cache = Arc::new(crate::cache::ResponseCache::new(
            config.cache.clone(),
            metrics.cache.clone(),
            Arc::clone(&shared),
        ));
        let spend =
            Arc::new(crate::spend::Spend::new(config.spend.clone(), metrics.clone(), Arc::clone(&shared)));
        let mut sinks: Vec<Arc<dyn Sink>> = vec![stats.clone(), metrics.clone(), spend.clone()];
        let telemetry = Arc::new(crate::otel::Telemetry::new(config.observe.telemetry.clone(), &metrics));
        if telemetry.config.langfuse.is_some() {
            sinks.push(telemetry.clone());
        }
        if shared.enabled() {
            sinks.push(Arc::new(crate::shared::savings::SavingsSink::start(&shared)));
        }
        let (mut request_log, mut request_log_error) = (None, None);
        if let Some(path) = &config.observe.log_file {
            match crate::request_log::RequestLog::open(
                path,
                config.observe.log_full_messages,
                config.observe.telemetry.sdk.as_deref(),
                metrics.clone(),
            ) {
                Ok(log) => {
                    let log = Arc::new(log);
                    sinks.push(log.clone());
                    request_log = Some(log);
                }
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "request log not opened");
                    request_log_error = Some(format!("{}: {e}", path.display()));
                }
            }
        }
        let accounting = Arc::new(Accounting::new(sinks, memo_bytes));
        if let Err(e) = accounting.start_settler() {
            tracing::warn!(error = %e, "accounting thread not started: each request is accounted as it ends");
        }
        Ok(Arc::new(Self {
            config,
            client,
            export_client,
            targets,
            runtime: OnceLock::new(),
            load_error: OnceLock::new(),
            ccr,
            ledger: Ledger::default(),
            read_memos,
            counters: Counters::default(),
            unknown_models: UnknownModels::default(),
            started: Instant::now(),
            plugins: OnceLock::new(),
            accounting,
            stats,
            metrics,
            request_log,
            request_log_error,
            spend,
            cache,
            telemetry,
            shared,
            draining: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    /// Load and pre-instantiate the component (blocking: run it off the async workers).
    pub fn load_component(&self) {
        let cache_dir = self.config.cache_dir.clone();
        let config = RuntimeConfig {
            limits: Limits { deadline: Some(self.config.compression_deadline), ..Limits::default() },
            cache_dir,
            memory_bytes: self.config.memory_bytes,
        };
        let plugin_cache = config.cache_dir.as_ref().map(|d| d.join("plugins"));
        match Runtime::from_file(&self.config.component, &config) {
            Ok(rt) => {
                if let Some(dir) = &self.config.plugins_dir {
                    self.load_plugins(&rt, dir, plugin_cache.as_deref());
                }
                let _ = self.runtime.set(Arc::new(rt));
            }
            Err(e) => {
                let _ = self.load_error.set(e.to_string());
            }
        }
    }

    /// Load the plugin folder, hand it to the runtime and watch it. A failed load leaves the
    /// proxy running without plugins (reported on `/health`).
    fn load_plugins(&self, runtime: &Runtime, dir: &std::path::Path, cache: Option<&std::path::Path>) {
        match headroom_plugins::Registry::open(dir, cache) {
            Ok(registry) => {
                match registry.status().last_error {
                    Some(e) => tracing::warn!(dir = %dir.display(), error = %e, "plugins not loaded"),
                    None => tracing::info!(
                        dir = %dir.display(),
                        plugins = registry.current().plugins().count(),
                        "plugins loaded"
                    ),
                }
                runtime.use_plugins(Arc::new(crate::plugin_pins::SessionPins::new(registry.clone())));
                headroom_plugins::watch(&registry);
                self.metrics.plugins.watch(registry.clone());
                let _ = self.plugins.set(registry);
            }
            Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "plugins not loaded"),
        }
    }

    /// The plugin registry, when a plugin folder is configured and the component loaded.
    pub fn plugins(&self) -> Option<&Arc<headroom_plugins::Registry>> {
        self.plugins.get()
    }

    /// The runtime, once loaded.
    pub fn runtime(&self) -> Option<Arc<Runtime>> {
        self.runtime.get().cloned()
    }

    /// Write out what is kept in memory between periodic writes: the savings history, the
    /// spend, the request log's queue (blocking file I/O).
    pub fn flush(&self) {
        self.accounting.settle();
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        self.stats.history.flush(now);
        self.spend.flush();
        if let Some(log) = &self.request_log {
            log.flush();
        }
    }

    /// Whether a shutdown signal arrived.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Why the component failed to load, if it did.
    pub fn load_error(&self) -> Option<&str> {
        self.load_error.get().map(String::as_str)
    }
}
