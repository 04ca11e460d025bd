//! Telemetry that leaves the process, all of it off by default: OpenTelemetry metrics (the
//! `/metrics` instruments over OTLP/HTTP or on stdout) and Langfuse traces (OTLP/HTTP
//! spans). Exports run on their own tasks; a request only pushes onto a bounded queue, and
//! what does not fit is dropped and counted.

pub mod args;
pub mod metrics;
pub mod proto;
pub mod safe;
pub mod traces;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::metrics::counter::Counter;
use prost::Message;
use tokio::sync::mpsc;

use crate::accounting::{Record, Sink};
use args::{MetricsExporter, TelemetryConfig};
use proto::{KeyValue, Value};
use safe::{Exported, Label};

/// Requests waiting to be sent to Langfuse at most.
const QUEUE: usize = 4096;
/// Requests per export.
const BATCH: usize = 256;
/// Longest wait before a partial batch goes.
const BATCH_WAIT: Duration = Duration::from_secs(1);
/// One export's bound.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The instrumentation scope of every export.
pub fn scope() -> proto::InstrumentationScope {
    proto::InstrumentationScope { name: "headroom".into(), version: env!("CARGO_PKG_VERSION").into() }
}

fn unix_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// Counts of one exporter: series of `/metrics`' `headroom_telemetry_exports` and
/// `headroom_telemetry_dropped` (one instrument set).
#[derive(Debug, Default)]
pub struct ExportCounts {
    /// Exports sent and accepted (2xx).
    pub exported: Counter,
    /// Exports that failed (unreachable, timeout, non-2xx).
    pub failed: Counter,
    /// Items dropped because the queue was full.
    pub dropped: Counter,
}

impl ExportCounts {
    fn of(metrics: &crate::metrics::Metrics, exporter: &'static str) -> Self {
        Self {
            exported: metrics.telemetry_export(exporter, "ok"),
            failed: metrics.telemetry_export(exporter, "failed"),
            dropped: metrics.telemetry_dropped(exporter),
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "exported": self.exported.get(),
            "failed": self.failed.get(),
            "dropped": self.dropped.get(),
        })
    }
}

/// The exporters of one proxy.
pub struct Telemetry {
    /// Resolved settings.
    pub config: TelemetryConfig,
    resource: proto::Resource,
    sdk: Option<Label>,
    queue: Option<mpsc::Sender<Exported>>,
    pending: Mutex<Option<mpsc::Receiver<Exported>>>,
    /// OpenTelemetry metrics exports.
    pub metrics_counts: ExportCounts,
    /// Langfuse exports.
    pub langfuse_counts: ExportCounts,
}

impl Telemetry {
    /// Exporters for `config` (started by [`Telemetry::start`]).
    pub fn new(config: TelemetryConfig, instruments: &crate::metrics::Metrics) -> Self {
        let sdk = config.sdk.as_deref().and_then(Label::new);
        let mut attributes = vec![
            KeyValue::new("service.name", Value::String(config.service_name.clone())),
            KeyValue::new("service.version", Value::String(env!("CARGO_PKG_VERSION").into())),
            KeyValue::new("telemetry.sdk.name", Value::String("headroom".into())),
            KeyValue::new("telemetry.sdk.language", Value::String("rust".into())),
        ];
        if let Some(sdk) = &sdk {
            attributes.push(KeyValue::new("headroom.sdk", Value::String(sdk.as_str().into())));
        }
        let (queue, pending) = match config.langfuse {
            Some(_) => {
                let (tx, rx) = mpsc::channel(QUEUE);
                (Some(tx), Some(rx))
            }
            None => (None, None),
        };
        Self {
            config,
            resource: proto::Resource { attributes },
            sdk,
            queue,
            pending: Mutex::new(pending),
            metrics_counts: ExportCounts::of(instruments, "otel_metrics"),
            langfuse_counts: ExportCounts::of(instruments, "langfuse"),
        }
    }

    /// Something to export at all.
    pub fn any(&self) -> bool {
        self.config.metrics.is_some() || self.config.langfuse.is_some()
    }

    /// `/stats`' view.
    pub fn status(&self) -> serde_json::Value {
        serde_json::json!({
            "disabled": self.config.disabled,
            "sdk": self.config.sdk,
            "otel_metrics": self.config.metrics.as_ref().map(|m| serde_json::json!({
                "exporter": match m.exporter { MetricsExporter::OtlpHttp => "otlp_http", MetricsExporter::Console => "console" },
                "endpoint": matches!(m.exporter, MetricsExporter::OtlpHttp).then_some(&m.endpoint),
                "counts": self.metrics_counts.json(),
            })),
            "langfuse": self.config.langfuse.as_ref().map(|l| serde_json::json!({
                "endpoint": l.endpoint,
                "counts": self.langfuse_counts.json(),
            })),
        })
    }

    /// Start the export tasks (inside the server's runtime); they end when `state` is dropped
    /// or the returned handles are aborted. A final export runs at [`Telemetry::finish`].
    pub fn start(state: &Arc<crate::state::AppState>) -> Vec<tokio::task::JoinHandle<()>> {
        let t = &state.telemetry;
        let mut tasks = Vec::new();
        if t.config.disabled {
            tracing::info!("telemetry off: no exporter runs");
        }
        if let Some(m) = &t.config.metrics {
            tracing::info!(exporter = ?m.exporter, endpoint = %m.endpoint, "OpenTelemetry metrics on");
        }
        if let Some(l) = &t.config.langfuse {
            tracing::info!(endpoint = %l.endpoint, "Langfuse traces on");
        }
        if let Some(m) = t.config.metrics.clone() {
            let state = Arc::clone(state);
            tasks.push(tokio::spawn(async move {
                let start_ns = unix_nanos();
                let mut tick = tokio::time::interval(m.interval);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    export_metrics(&state, start_ns).await;
                }
            }));
        }
        let pending = t.pending.lock().ok().and_then(|mut p| p.take());
        if let Some(mut rx) = pending {
            let state = Arc::clone(state);
            tasks.push(tokio::spawn(async move {
                let mut batch = Vec::with_capacity(BATCH);
                loop {
                    let got = tokio::time::timeout(BATCH_WAIT, rx.recv_many(&mut batch, BATCH)).await;
                    if matches!(got, Ok(0)) {
                        break;
                    }
                    if !batch.is_empty() {
                        export_traces(&state, std::mem::take(&mut batch)).await;
                    }
                }
            }));
        }
        tasks
    }

    /// The last metrics export, at a clean stop (traces still queued are sent by their task
    /// within a second; a stop does not wait for them).
    pub async fn finish(state: &Arc<crate::state::AppState>) {
        if state.telemetry.config.metrics.is_some() {
            export_metrics(state, unix_nanos()).await;
        }
    }
}

impl Sink for Telemetry {
    fn record(&self, r: &Record) {
        let Some(queue) = &self.queue else { return };
        if queue.try_send(Exported::of(r, self.sdk.as_ref())).is_err() {
            self.langfuse_counts.dropped.inc();
        }
    }
}

async fn post(
    state: &crate::state::AppState,
    url: &str,
    body: Vec<u8>,
    authorization: Option<&str>,
    counts: &ExportCounts,
) {
    let mut req = state
        .export_client
        .post(url)
        .header(http::header::CONTENT_TYPE, "application/x-protobuf")
        .timeout(EXPORT_TIMEOUT)
        .body(body);
    if let Some(auth) = authorization {
        req = req.header(http::header::AUTHORIZATION, auth).header("x-langfuse-ingestion-version", "4");
    }
    match req.send().await {
        Ok(r) if r.status().is_success() => {
            counts.exported.inc();
        }
        Ok(r) => {
            counts.failed.inc();
            tracing::warn!(url, status = r.status().as_u16(), "telemetry export refused");
        }
        Err(e) => {
            counts.failed.inc();
            tracing::warn!(url, error = %e, "telemetry export failed");
        }
    }
}

async fn export_metrics(state: &Arc<crate::state::AppState>, start_ns: u64) {
    let t = &state.telemetry;
    let Some(m) = &t.config.metrics else { return };
    let text = state.metrics.render(state.ccr.len());
    let families = metrics::parse(&text);
    match m.exporter {
        MetricsExporter::Console => {
            use std::io::Write;
            let line = serde_json::json!({
                "resource": t.resource.attributes.iter().filter_map(|kv| match kv.value.as_ref()?.value.as_ref()? {
                    Value::String(v) => Some((kv.key.clone(), serde_json::Value::String(v.clone()))),
                    _ => None,
                }).collect::<serde_json::Map<_, _>>(),
                "time_unix_nano": unix_nanos(),
                "metrics": families.iter().filter(|f| !f.series.is_empty()).collect::<Vec<_>>(),
            });
            let mut out = std::io::stdout().lock();
            let ok = serde_json::to_writer(&mut out, &line).is_ok()
                && out.write_all(b"\n").is_ok()
                && out.flush().is_ok();
            let counter = if ok { &t.metrics_counts.exported } else { &t.metrics_counts.failed };
            counter.inc();
        }
        MetricsExporter::OtlpHttp => {
            let body = metrics::request(&families, &t.resource, start_ns, unix_nanos()).encode_to_vec();
            post(state, &m.endpoint, body, None, &t.metrics_counts).await;
        }
    }
}

async fn export_traces(state: &Arc<crate::state::AppState>, batch: Vec<Exported>) {
    let t = &state.telemetry;
    let Some(l) = &t.config.langfuse else { return };
    let body = traces::request(&batch, &t.resource).encode_to_vec();
    post(state, &l.endpoint, body, Some(&l.authorization.0), &t.langfuse_counts).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            request_id: crate::accounting::RequestId::from("hr-test-1").expect("fits"),
            at_ms: 1,
            provider: "openai",
            path: "/v1/chat/completions",
            model: "gpt-4o".into(),
            key_scope: "k".into(),
            session: None,
            status: 200,
            streaming: false,
            bypass: false,
            tokens_before: 0,
            tokens_after: 0,
            tokens_saved: 0,
            transforms: Vec::new(),
            compression_failed: false,
            compression_ms: 0.0,
            overhead_ms: 0.0,
            ttfb_ms: None,
            latency_ms: 1.0,
            retrieval_rounds: 0,
            usage: None,
            bill: None,
            cache_break: None,
            error_kind: None,
            client_aborted: false,
            cache_hit: false,
            request_body: bytes::Bytes::new(),
            body_valid: false,
        }
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let metrics = crate::metrics::Metrics::new();
        let config = TelemetryConfig {
            langfuse: Some(args::LangfuseConfig {
                endpoint: "http://127.0.0.1:9/api/public/otel/v1/traces".into(),
                authorization: args::Secret("Basic x".into()),
            }),
            ..TelemetryConfig::default()
        };
        // Never started: nothing drains the queue.
        let t = Telemetry::new(config, &metrics);
        for _ in 0..QUEUE + 5 {
            t.record(&record());
        }
        assert_eq!(t.langfuse_counts.dropped.get(), 5);
        assert!(metrics.render(0).contains("headroom_telemetry_dropped_total{exporter=\"langfuse\"} 5"));
    }
}
