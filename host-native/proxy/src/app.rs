//! The router.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::routes::{compress, dashboard, demo, health, llm, plugins, retrieve, stats};
use crate::state::AppState;

/// Every route; anything not listed is forwarded untouched to the right upstream.
pub fn build_app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/livez", get(health::livez))
        .route("/readyz", get(health::readyz))
        .route("/health", get(health::health))
        .route("/stats", get(stats::stats))
        .route("/stats-history", get(stats::history))
        .route("/metrics", get(crate::metrics::handle))
        .route("/dashboard", get(dashboard::handle))
        .route("/v1/compress", post(compress::handle))
        .route("/v1/retrieve/{key}", get(retrieve::handle))
        .route("/admin/plugins", get(plugins::list))
        .route("/admin/plugins/reload", post(plugins::reload))
        .merge(demo::routes(demo::configured_dir()))
        .fallback(llm::fallback)
        .with_state(state)
}

/// Serve on `listener` until `shutdown` resolves (TCP_NODELAY on every accepted socket:
/// without it Nagle's algorithm meets delayed ACKs and adds ~40 ms per kept-alive request).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let flusher = tokio::spawn(flush_history(Arc::clone(&state)));
    let spend_flusher = tokio::spawn(flush_spend(Arc::clone(&state)));
    let exporters = crate::otel::Telemetry::start(&state);
    let app = build_app(Arc::clone(&state)).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let served = axum::serve(listener, app).with_graceful_shutdown(shutdown).await;
    flusher.abort();
    spend_flusher.abort();
    exporters.iter().for_each(tokio::task::JoinHandle::abort);
    crate::otel::Telemetry::finish(&state).await;
    // What was counted since the last periodic write is kept.
    let _ = tokio::task::spawn_blocking(move || {
        state.stats.history.flush(unix_now());
        state.spend.flush();
        if let Some(log) = &state.request_log {
            log.flush();
        }
    })
    .await;
    served
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Write the savings history periodically (file I/O off the async workers).
async fn flush_history(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(state.config.observe.savings_flush);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let s = Arc::clone(&state);
        let _ = tokio::task::spawn_blocking(move || s.stats.history.flush(unix_now())).await;
    }
}

/// Write the budget's spend every second when it changed: a restart, even after a kill, loses
/// at most a second of spend.
async fn flush_spend(state: Arc<AppState>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let s = Arc::clone(&state);
        let _ = tokio::task::spawn_blocking(move || s.spend.flush()).await;
    }
}
