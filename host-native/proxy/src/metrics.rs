//! `/metrics`: Prometheus text built with `prometheus-client`. Labels are bounded: provider
//! and route are fixed sets, models are capped (the first [`MAX_MODELS`] distinct names, then
//! `other`), statuses are three-digit codes, error kinds and transforms are the proxy's and
//! the engine's own names. No path, key or content ever becomes a label.

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, AtomicU64};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};

use crate::accounting::{Record, Sink};
use crate::stats::MAX_MODELS;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    provider: &'static str,
    model: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    provider: &'static str,
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProviderLabels {
    provider: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TtlLabels {
    provider: &'static str,
    ttl: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExportLabels {
    exporter: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ExporterLabels {
    exporter: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransformLabels {
    transform: String,
}

type Hist<L> = Family<L, Histogram, fn() -> Histogram>;

fn seconds() -> Histogram {
    // 0.5 ms to ~4.4 min.
    Histogram::new(exponential_buckets(0.0005, 2.0, 20))
}

fn fast_seconds() -> Histogram {
    // 50 us to ~1.6 s: the proxy's own work.
    Histogram::new(exponential_buckets(0.00005, 2.0, 16))
}

fn ratio() -> Histogram {
    Histogram::new([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0])
}

/// Every instrument.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    tokens_before: Family<ModelLabels, Counter>,
    tokens_after: Family<ModelLabels, Counter>,
    tokens_saved: Family<ModelLabels, Counter>,
    transform_saved: Family<TransformLabels, Counter>,
    cache_read: Family<ProviderLabels, Counter>,
    cache_write: Family<TtlLabels, Counter>,
    input_reported: Family<ProviderLabels, Counter>,
    output_reported: Family<ProviderLabels, Counter>,
    billed: Counter<f64, AtomicU64>,
    billed_direct: Counter<f64, AtomicU64>,
    retrieval_rounds: Family<ProviderLabels, Counter>,
    compression_failures: Counter,
    errors: Family<KindLabels, Counter>,
    cache_breaks: Family<KindLabels, Counter>,
    latency: Hist<ProviderLabels>,
    overhead: Hist<ProviderLabels>,
    ttfb: Hist<ProviderLabels>,
    compression: Hist<ProviderLabels>,
    compression_ratio: Hist<ProviderLabels>,
    /// Requests between the upstream send and the end of their answer.
    pub in_flight: Gauge<i64, AtomicI64>,
    originals: Gauge<i64, AtomicI64>,
    /// Request-log lines dropped because the writer fell behind.
    pub log_dropped: Counter,
    telemetry_exports: Family<ExportLabels, Counter>,
    telemetry_dropped: Family<ExporterLabels, Counter>,
    transform_duration: Hist<TransformLabels>,
    /// Per model label (the first [`MAX_MODELS`] names), its series for each provider.
    models: RwLock<crate::FastMap<String, Arc<PerProvider<ModelSeries>>>>,
    /// The series of models past the cap (`other`).
    other_model: Arc<PerProvider<ModelSeries>>,
    /// Each provider's series.
    providers: PerProvider<ProviderSeries>,
    /// `transform_duration{transform="unchanged"}`.
    unchanged: OnceLock<Histogram>,
    transforms: Mutex<HashSet<String>>,
    /// Costs, savings in USD and the proxy's refusals.
    pub spend: crate::spend::metrics::SpendMetrics,
    /// The response cache's counters.
    pub cache: crate::cache::Counters,
    /// Shared-state fallbacks and the backend's state.
    pub shared: crate::shared::SharedMetrics,
    /// The plugin series, read from the live plugin set at each scrape.
    pub plugins: std::sync::Arc<crate::plugin_metrics::PluginMetrics>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Register everything.
    pub fn new() -> Self {
        Self::with(false)
    }

    /// Register everything, the shared-state series too when `with_shared_state`.
    pub fn with(with_shared_state: bool) -> Self {
        let mut r = Registry::with_prefix("headroom");
        let plugins = std::sync::Arc::new(crate::plugin_metrics::PluginMetrics::default());
        r.register_collector(Box::new(plugins.clone()));
        let requests = Family::default();
        r.register("requests", "Requests on the LLM routes, by provider, model and status", requests.clone());
        let tokens_before = Family::default();
        r.register(
            "tokens_before",
            "Tokens (o200k) of compressible blocks as received",
            tokens_before.clone(),
        );
        let tokens_after = Family::default();
        r.register("tokens_after", "Tokens (o200k) of the same blocks as forwarded", tokens_after.clone());
        let tokens_saved = Family::default();
        r.register("tokens_saved", "Tokens removed by compression", tokens_saved.clone());
        let transform_saved = Family::default();
        r.register("transform_tokens_saved", "Tokens removed, by transform", transform_saved.clone());
        let cache_read = Family::default();
        r.register(
            "cache_read_tokens",
            "Provider-reported input tokens read from the prompt cache",
            cache_read.clone(),
        );
        let cache_write = Family::default();
        r.register(
            "cache_write_tokens",
            "Provider-reported input tokens written to the prompt cache, by TTL",
            cache_write.clone(),
        );
        let input_reported = Family::default();
        r.register("input_tokens", "Provider-reported input tokens (all kinds)", input_reported.clone());
        let output_reported = Family::default();
        r.register("output_tokens", "Provider-reported output tokens", output_reported.clone());
        let billed = Counter::<f64, AtomicU64>::default();
        r.register(
            "billed_input_tokens",
            "Input-token equivalents billed (cache reads and writes weighted)",
            billed.clone(),
        );
        let billed_direct = Counter::<f64, AtomicU64>::default();
        r.register(
            "billed_input_tokens_without_headroom",
            "Input-token equivalents the original requests would have been billed under the same cache",
            billed_direct.clone(),
        );
        let retrieval_rounds = Family::default();
        r.register(
            "retrieval_rounds",
            "Continuations the proxy sent to answer its retrieval tool",
            retrieval_rounds.clone(),
        );
        let compression_failures = Counter::default();
        r.register(
            "compression_failures",
            "Compressions that failed or timed out (the original was forwarded)",
            compression_failures.clone(),
        );
        let errors = Family::default();
        r.register(
            "errors",
            "Failed requests by kind (upstream status classes, timeouts, unreachable)",
            errors.clone(),
        );
        let cache_breaks = Family::default();
        r.register(
            "cache_breaks",
            "Prompt-cache breaks, by who caused them (proxy or provider)",
            cache_breaks.clone(),
        );
        let latency = Hist::new_with_constructor(seconds as fn() -> Histogram);
        r.register_with_unit("request_duration", "Arrival to last byte", Unit::Seconds, latency.clone());
        let overhead = Hist::new_with_constructor(fast_seconds as fn() -> Histogram);
        r.register_with_unit(
            "overhead",
            "Arrival until the request was ready to go upstream",
            Unit::Seconds,
            overhead.clone(),
        );
        let ttfb = Hist::new_with_constructor(seconds as fn() -> Histogram);
        r.register_with_unit(
            "time_to_first_byte",
            "Arrival to the first byte of the answer",
            Unit::Seconds,
            ttfb.clone(),
        );
        let compression = Hist::new_with_constructor(fast_seconds as fn() -> Histogram);
        r.register_with_unit(
            "compression_duration",
            "Engine time per request",
            Unit::Seconds,
            compression.clone(),
        );
        let compression_ratio = Hist::new_with_constructor(ratio as fn() -> Histogram);
        r.register(
            "compression_ratio",
            "Tokens after / before, per compressed request",
            compression_ratio.clone(),
        );
        let in_flight = Gauge::<i64, AtomicI64>::default();
        r.register("in_flight_requests", "Requests whose answer is being relayed", in_flight.clone());
        let originals = Gauge::<i64, AtomicI64>::default();
        r.register("originals_stored", "Originals of lossy edits held for retrieval", originals.clone());
        let log_dropped = Counter::default();
        r.register(
            "request_log_dropped",
            "Request-log lines dropped because the writer fell behind",
            log_dropped.clone(),
        );
        let telemetry_exports = Family::default();
        r.register(
            "telemetry_exports",
            "Telemetry exports (OpenTelemetry metrics, Langfuse traces) by exporter and result",
            telemetry_exports.clone(),
        );
        let telemetry_dropped = Family::default();
        r.register(
            "telemetry_dropped",
            "Items an exporter dropped because its queue was full",
            telemetry_dropped.clone(),
        );
        let transform_duration = Hist::new_with_constructor(fast_seconds as fn() -> Histogram);
        r.register_with_unit(
            "transform_duration",
            "Engine time per transform and request: the call's time shared by the tokens each transform \
             rewrote (`unchanged`: the share of the blocks left as they were)",
            Unit::Seconds,
            transform_duration.clone(),
        );
        let spend = crate::spend::metrics::SpendMetrics::default();
        spend.register(&mut r);
        let cache = crate::cache::Counters::default();
        cache.register(&mut r);
        let shared = crate::shared::SharedMetrics::default();
        if with_shared_state {
            shared.register(&mut r);
        }
        Self {
            registry: r,
            requests,
            tokens_before,
            tokens_after,
            tokens_saved,
            transform_saved,
            cache_read,
            cache_write,
            input_reported,
            output_reported,
            billed,
            billed_direct,
            retrieval_rounds,
            compression_failures,
            errors,
            cache_breaks,
            latency,
            overhead,
            ttfb,
            compression,
            compression_ratio,
            in_flight,
            originals,
            log_dropped,
            telemetry_exports,
            telemetry_dropped,
            transform_duration,
            models: RwLock::default(),
            other_model: Arc::default(),
            providers: PerProvider::default(),
            unchanged: OnceLock::new(),
            transforms: Mutex::new(HashSet::new()),
            spend,
            cache,
            shared,
            plugins,
        }
    }

    /// The series of `model` (`other` past the cap), resolved once per model.
    fn model_series(&self, model: &str) -> (String, Arc<PerProvider<ModelSeries>>) {
        let known = self.models.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(model).cloned();
        if let Some(series) = known {
            return (model.to_owned(), series);
        }
        let mut models = self.models.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(series) = models.get(model) {
            return (model.to_owned(), Arc::clone(series));
        }
        if models.len() < MAX_MODELS {
            let series = Arc::<PerProvider<ModelSeries>>::default();
            models.insert(model.to_owned(), Arc::clone(&series));
            return (model.to_owned(), series);
        }
        ("other".to_owned(), Arc::clone(&self.other_model))
    }

    /// The counter of `exporter`'s exports ending with `result` (`ok`, `failed`).
    pub fn telemetry_export(&self, exporter: &'static str, result: &'static str) -> Counter {
        self.telemetry_exports.get_or_create(&ExportLabels { exporter, result }).clone()
    }

    /// The counter of what `exporter` dropped.
    pub fn telemetry_dropped(&self, exporter: &'static str) -> Counter {
        self.telemetry_dropped.get_or_create(&ExporterLabels { exporter }).clone()
    }

    /// The exposition text, with the stored-originals gauge read now.
    pub fn render(&self, originals: usize) -> String {
        self.originals.set(i64::try_from(originals).unwrap_or(i64::MAX));
        let mut out = String::with_capacity(16 << 10);
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

impl Sink for Metrics {
    fn record(&self, r: &Record) {
        let (model, per_model) = self.model_series(&r.model);
        let m = per_model.of(r.provider);
        let pm = || ModelLabels { provider: r.provider, model: model.clone() };
        m.request(&self.requests, r.provider, &model, r.status).inc();
        series(&m.tokens_before, &self.tokens_before, pm).inc_by(r.tokens_before);
        series(&m.tokens_after, &self.tokens_after, pm).inc_by(r.tokens_after);
        series(&m.tokens_saved, &self.tokens_saved, pm).inc_by(r.tokens_saved);
        let p = self.providers.of(r.provider);
        let provider = || ProviderLabels { provider: r.provider };
        let mut transform_ms = 0.0;
        for t in r.transforms.iter().take(MAX_TRANSFORMS) {
            let name: String = t.name.chars().take(48).collect();
            let label = TransformLabels { transform: bounded(&self.transforms, &name, MAX_TRANSFORMS) };
            self.transform_saved.get_or_create(&label).inc_by(t.tokens_before.saturating_sub(t.tokens_after));
            self.transform_duration.get_or_create(&label).observe(t.ms / 1000.0);
            transform_ms += t.ms;
        }
        if r.compression_ms > 0.0 {
            series(&self.unchanged, &self.transform_duration, || TransformLabels {
                transform: "unchanged".into(),
            })
            .observe((r.compression_ms - transform_ms).max(0.0) / 1000.0);
        }
        if let Some(u) = &r.usage {
            series(&p.cache_read, &self.cache_read, provider).inc_by(u.cache_read);
            series(&p.cache_write_5m, &self.cache_write, || TtlLabels { provider: r.provider, ttl: "5m" })
                .inc_by(u.cache_write_5m);
            series(&p.cache_write_1h, &self.cache_write, || TtlLabels { provider: r.provider, ttl: "1h" })
                .inc_by(u.cache_write_1h);
            series(&p.input, &self.input_reported, provider).inc_by(u.input_total());
            series(&p.output, &self.output_reported, provider).inc_by(u.output);
        }
        if let Some(b) = &r.bill {
            self.billed.inc_by(b.billed);
            self.billed_direct.inc_by(b.billed_direct);
        }
        series(&p.retrieval_rounds, &self.retrieval_rounds, provider).inc_by(u64::from(r.retrieval_rounds));
        if r.compression_failed {
            self.compression_failures.inc();
        }
        if let Some(kind) = r.error_kind {
            self.errors.get_or_create(&KindLabels { kind }).inc();
        }
        if let Some(kind) = r.cache_break {
            self.cache_breaks.get_or_create(&KindLabels { kind }).inc();
        }
        series(&p.latency, &self.latency, provider).observe(r.latency_ms / 1000.0);
        series(&p.overhead, &self.overhead, provider).observe(r.overhead_ms / 1000.0);
        if let Some(t) = r.ttfb_ms {
            series(&p.ttfb, &self.ttfb, provider).observe(t / 1000.0);
        }
        if r.compression_ms > 0.0 {
            series(&p.compression, &self.compression, provider).observe(r.compression_ms / 1000.0);
        }
        if r.tokens_before > 0 && r.tokens_saved > 0 {
            series(&p.compression_ratio, &self.compression_ratio, provider)
                .observe(r.tokens_after as f64 / r.tokens_before as f64);
        }
    }
}

/// One series of `family`, looked up (its labels built and hashed) the first time only: the
/// handle shares the series' value, so recording through it is recording in the family. A
/// series appears in `/metrics` when first used, as with a lookup per request.
pub(crate) fn series<'a, L, M, C>(
    cell: &'a OnceLock<M>,
    family: &Family<L, M, C>,
    labels: impl FnOnce() -> L,
) -> &'a M
where
    L: Clone + std::hash::Hash + Eq,
    M: Clone,
    C: MetricConstructor<M>,
{
    cell.get_or_init(|| family.get_or_create(&labels()).clone())
}

/// One value per provider.
#[derive(Default)]
pub(crate) struct PerProvider<T> {
    anthropic: T,
    openai: T,
}

impl<T> PerProvider<T> {
    /// The value of `provider` (a [`crate::provider::Provider::name`]).
    pub(crate) fn of(&self, provider: &str) -> &T {
        if provider == "anthropic" { &self.anthropic } else { &self.openai }
    }
}

/// A provider's series.
#[derive(Default)]
struct ProviderSeries {
    cache_read: OnceLock<Counter>,
    cache_write_5m: OnceLock<Counter>,
    cache_write_1h: OnceLock<Counter>,
    input: OnceLock<Counter>,
    output: OnceLock<Counter>,
    retrieval_rounds: OnceLock<Counter>,
    latency: OnceLock<Histogram>,
    overhead: OnceLock<Histogram>,
    ttfb: OnceLock<Histogram>,
    compression: OnceLock<Histogram>,
    compression_ratio: OnceLock<Histogram>,
}

/// A (provider, model)'s series.
#[derive(Default)]
struct ModelSeries {
    tokens_before: OnceLock<Counter>,
    tokens_after: OnceLock<Counter>,
    tokens_saved: OnceLock<Counter>,
    /// `requests` by status (a handful per model).
    requests: RwLock<Vec<(u16, Counter)>>,
}

impl ModelSeries {
    fn request(
        &self,
        family: &Family<RequestLabels, Counter>,
        provider: &'static str,
        model: &str,
        status: u16,
    ) -> Counter {
        let lookup = |v: &Vec<(u16, Counter)>| v.iter().find(|(s, _)| *s == status).map(|(_, c)| c.clone());
        if let Some(c) = lookup(&self.requests.read().unwrap_or_else(std::sync::PoisonError::into_inner)) {
            return c;
        }
        let mut all = self.requests.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(c) = lookup(&all) {
            return c;
        }
        let labels = RequestLabels { provider, model: model.to_owned(), status: status.to_string() };
        let c = family.get_or_create(&labels).clone();
        all.push((status, c.clone()));
        c
    }
}

/// Distinct transform names counted apart (then `other`).
const MAX_TRANSFORMS: usize = 32;

/// `name` while fewer than `max` distinct names were seen (or it was one of them), else `other`.
fn bounded(seen: &Mutex<HashSet<String>>, name: &str, max: usize) -> String {
    let Ok(mut seen) = seen.lock() else { return "other".into() };
    if seen.contains(name) {
        return name.to_owned();
    }
    if seen.len() < max {
        seen.insert(name.to_owned());
        return name.to_owned();
    }
    "other".into()
}

/// OpenMetrics text as the Prometheus text format (0.0.4): counters' `HELP` and `TYPE` name
/// the `_total` series, and the `UNIT` and `EOF` lines go.
pub fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + 256);
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let rest = line
            .strip_prefix("# HELP ")
            .map(|r| ("# HELP ", r))
            .or(line.strip_prefix("# TYPE ").map(|r| ("# TYPE ", r)));
        match rest {
            Some((tag, rest)) => {
                let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
                if counters.contains(name) {
                    out.push_str(&format!("{tag}{name}_total {tail}\n"));
                } else {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// `GET /metrics`: OpenMetrics when the scraper asks for it (Prometheus does), the Prometheus
/// text format otherwise.
pub async fn handle(
    State(state): State<std::sync::Arc<crate::state::AppState>>,
    headers: http::HeaderMap,
) -> Response {
    state.accounting.settle();
    let text = state.metrics.render(state.ccr.len());
    let openmetrics = headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"));
    if openmetrics {
        ([(http::header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
            .into_response()
    } else {
        (
            [(http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
            to_prometheus_text(&text),
        )
            .into_response()
    }
}
