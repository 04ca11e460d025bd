//! `/livez`, `/readyz`, `/health`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;

fn base(state: &AppState, status: &str) -> Value {
    json!({
        "service": "headroom-proxy",
        "status": status,
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": state.started.elapsed().as_secs_f64(),
    })
}

fn checks(state: &AppState) -> (bool, Value) {
    let engine_ready = state.runtime().is_some();
    let engine = match (engine_ready, state.load_error()) {
        (true, _) => json!({"enabled": true, "ready": true, "status": "healthy"}),
        (false, Some(e)) => json!({"enabled": true, "ready": false, "status": "unhealthy", "error": e}),
        (false, None) => json!({"enabled": true, "ready": false, "status": "starting"}),
    };
    let checks = json!({
        "startup": {"enabled": true, "ready": true, "status": "healthy"},
        "engine": engine,
        "http_client": {"enabled": true, "ready": true, "status": "healthy"},
        "ccr": ccr_check(state),
        "plugins": plugins_check(state),
        "savings_history": history_check(state),
        "shared_state": state.shared.health(),
    });
    (engine_ready, checks)
}

/// The originals store: `degraded` when persistence was asked for but is off, or writes have
/// failed; never a reason to refuse traffic (a request never depends on it).
fn ccr_check(state: &AppState) -> Value {
    let ccr = &state.ccr;
    let mut v = json!({
        "enabled": true,
        "ready": true,
        "status": if ccr.fallback_reason().is_some() || ccr.faults() > 0 { "degraded" } else { "healthy" },
        "backend": ccr.backend_name(),
        "faults": ccr.faults(),
    });
    if let Some(path) = ccr.path() {
        v["path"] = json!(path.display().to_string());
    }
    if let Some(reason) = ccr.fallback_reason() {
        v["error"] = json!(reason);
    }
    v
}

/// Plugins: `degraded` when the last load failed (the previous set is still in use) or a
/// plugin is quarantined; never a reason to refuse traffic.
fn plugins_check(state: &AppState) -> Value {
    let Some(registry) = state.plugins() else {
        return json!({"enabled": state.config.plugins_dir.is_some(), "ready": true, "status": "healthy", "loaded": 0});
    };
    let status = registry.status();
    let quarantined = registry.quarantined();
    let set = registry.current();
    let degraded = status.last_error.is_some() || !quarantined.is_empty();
    json!({
        "enabled": true,
        "ready": true,
        "status": if degraded { "degraded" } else { "healthy" },
        "loaded": set.plugins().count(),
        "set": set.identity(),
        "generation": status.generation,
        "quarantined": quarantined,
        "error": status.last_error,
    })
}

/// The savings history file: `degraded` when the file found at start was set aside or a write
/// failed (counting goes on in memory).
fn history_check(state: &AppState) -> Value {
    let h = &state.stats.history;
    let (faults, last) = h.write_faults();
    let mut v = json!({
        "enabled": true,
        "ready": true,
        "status": if h.load_error().is_some() || faults > 0 { "degraded" } else { "healthy" },
        "persisted": h.path().is_some(),
        "write_faults": faults,
    });
    if let Some(path) = h.path() {
        v["path"] = json!(path.display().to_string());
    }
    if let Some(e) = h.load_error() {
        v["error"] = json!(e);
    } else if let Some(e) = last {
        v["error"] = json!(e);
    }
    v
}

/// The overall status of a ready proxy: `degraded` while the shared state is away (requests
/// are served from local state; the replica must stay in the load balancer).
fn ready_status(state: &AppState, ready: bool) -> &'static str {
    match (ready, state.shared.enabled() && !state.shared.healthy()) {
        (false, _) => "unhealthy",
        (true, true) => "degraded",
        (true, false) => "healthy",
    }
}

/// Alive as long as the process answers.
pub async fn livez(State(state): State<Arc<AppState>>) -> Response {
    let mut v = base(&state, "healthy");
    v["alive"] = json!(true);
    Json(v).into_response()
}

/// Ready once the component is loaded: 503 until then, and again from a shutdown signal on
/// (`draining`), so a load balancer stops sending before the listener closes.
pub async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let (loaded, checks) = checks(&state);
    let draining = state.is_draining();
    let ready = loaded && !draining;
    let status = if draining { "draining" } else { ready_status(&state, loaded) };
    let mut v = base(&state, status);
    v["ready"] = json!(ready);
    v["draining"] = json!(draining);
    v["checks"] = checks;
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(v)).into_response()
}

/// Readiness plus configuration and counters.
pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    let (ready, checks) = checks(&state);
    let c = &state.counters;
    let mut v = base(&state, ready_status(&state, ready));
    v["ready"] = json!(ready);
    v["checks"] = checks;
    v["config"] = json!({
        "mode": state.config.mode.name(),
        "optimize": state.config.optimize,
        "retrieval_tool": state.config.retrieval_tool,
        "count_tokens_compression": state.config.count_tokens_compression,
        "offload_batch_tokens": state.config.offload_batch_tokens,
        "conversation_memory_bytes": state.config.memory_bytes,
        "anthropic_api_url": state.config.anthropic_url,
        "openai_api_url": state.config.openai_url,
        "ccr_backend": state.ccr.backend_name(),
        "ccr_ttl_seconds": state.ccr.ttl().as_secs(),
        "shared_state": if state.shared.enabled() { "redis" } else { "local" },
        "code_aware": state.config.context.code_aware,
        "upstream_timeout_secs": state.config.upstream_timeout.as_secs(),
        "stream_idle_timeout_secs": state.config.stream_idle_timeout.as_secs(),
        "upstream_connect_timeout_secs": state.config.connect_timeout.as_secs(),
    });
    v["stats"] = json!({
        "requests_compressed": c.compressed.load(Ordering::Relaxed),
        "compression_failures": c.compression_failures.load(Ordering::Relaxed),
        "tokens_saved": c.tokens_saved.load(Ordering::Relaxed),
        "count_tokens_rewritten": c.count_tokens_rewritten.load(Ordering::Relaxed),
        "originals_stored": state.ccr.len(),
    });
    if let Some(rt) = state.runtime() {
        let m = rt.memories();
        v["conversation_memory"] = json!({
            "budget_bytes": m.budget_bytes,
            "bytes": m.bytes,
            "conversations": m.conversations,
            "tenants": m.tenants,
            "evictions": m.evictions,
            "hits": m.hits,
            "misses": m.misses,
        });
    }
    let (bodies, bytes) = state.read_memos.held();
    v["conversation_memory"]["bodies_read_after"] = json!({"bodies": bodies, "bytes": bytes});
    let unknown = &state.unknown_models;
    v["models"] = json!({"unknown": {"requests": unknown.requests(), "recent": unknown.recent()}});
    Json(v).into_response()
}
