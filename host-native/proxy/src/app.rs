//! The router.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::routes::{compress, dashboard, demo, health, llm, plugins, retrieve, stats};
use crate::state::AppState;

/// Every route; anything not listed is forwarded untouched to the right upstream.
pub fn build_app(state: Arc<AppState>) -> Router {
    let demo_dir = state.config.demo_dir.clone();
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
        .merge(demo::routes(demo_dir))
        .fallback(llm::fallback)
        .with_state(state)
}

/// Serve on `listener` until `shutdown` resolves, then drain (see [`serve_until`]); a second
/// signal is not watched for.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_until(listener, state, shutdown, std::future::pending()).await
}

/// Serve on `listener` (TCP_NODELAY on every accepted socket: without it Nagle's algorithm
/// meets delayed ACKs and adds ~40 ms per kept-alive request) until `shutdown` resolves. Then:
/// `/readyz` answers 503 at once; after `shutdown_delay` the listener closes (new connections
/// are refused) and requests and streams in flight finish, for at most `shutdown_grace` or
/// until `force` resolves, whichever is first; what is buffered is written out last.
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    force: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let flusher = tokio::spawn(flush_history(Arc::clone(&state)));
    let spend_flusher = tokio::spawn(flush_spend(Arc::clone(&state)));
    let exporters = crate::otel::Telemetry::start(&state);
    let app = build_app(Arc::clone(&state)).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let (closing_tx, closing_rx) = tokio::sync::oneshot::channel::<()>();
    let signalled = Arc::clone(&state);
    let close = async move {
        shutdown.await;
        signalled.draining.store(true, std::sync::atomic::Ordering::Relaxed);
        let delay = signalled.config.shutdown_delay;
        tracing::info!(delay_secs = delay.as_secs_f64(), "shutting down: /readyz answers 503");
        tokio::time::sleep(delay).await;
        tracing::info!(
            grace_secs = signalled.config.shutdown_grace.as_secs_f64(),
            "listener closed; waiting for requests in flight"
        );
        let _ = closing_tx.send(());
    };
    let served = axum::serve(listener, app).with_graceful_shutdown(close).into_future();
    let grace = state.config.shutdown_grace;
    let bounded = async move {
        // Only a closed listener starts the clock (the channel's sender is dropped unsent only
        // when serving ended on its own).
        if closing_rx.await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::select! {
            () = tokio::time::sleep(grace) => tracing::warn!("shutdown grace over: open connections are closed"),
            () = force => tracing::warn!("second signal: open connections are closed"),
        }
    };
    let served = tokio::select! {
        r = served => r,
        () = bounded => Ok(()),
    };
    flusher.abort();
    spend_flusher.abort();
    exporters.iter().for_each(tokio::task::JoinHandle::abort);
    // The requests still queued for the accounting reach the exporters' last export too.
    let settling = Arc::clone(&state);
    let _ = tokio::task::spawn_blocking(move || settling.accounting.settle()).await;
    crate::otel::Telemetry::finish(&state).await;
    // What was counted since the last periodic write is kept.
    let _ = tokio::task::spawn_blocking(move || state.flush()).await;
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
