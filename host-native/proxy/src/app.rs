//! The router.

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::routes::{compress, demo, health, llm, plugins, retrieve};
use crate::state::AppState;

/// Every route; anything not listed is forwarded untouched to the right upstream.
pub fn build_app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/livez", get(health::livez))
        .route("/readyz", get(health::readyz))
        .route("/health", get(health::health))
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
    let app = build_app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
