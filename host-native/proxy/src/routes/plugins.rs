//! `GET /admin/plugins` (what is loaded, versions, hashes, counters, state) and
//! `POST /admin/plugins/reload` (load the folder again now; the proxy's API key, or loopback
//! callers only). A reload verifies the whole folder before swapping; a refused folder keeps
//! the running set and answers 422 with the reason.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use serde_json::json;

use crate::errors::ProxyError;
use crate::state::AppState;

fn registry(state: &AppState) -> Result<&Arc<headroom_plugins::Registry>, ProxyError> {
    state.plugins().ok_or_else(|| {
        ProxyError::NotFound(if state.config.plugins_dir.is_none() {
            "no plugin folder: start the proxy with --plugins-dir DIR (HEADROOM_PLUGINS_DIR)".into()
        } else {
            "the plugin folder is not loaded yet (the engine is starting)".into()
        })
    })
}

/// The loaded set.
pub async fn list(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let run = || -> Result<Response, ProxyError> {
        super::compress::authorise(&state, peer, &headers)?;
        Ok(Json(registry(&state)?.describe()).into_response())
    };
    run().unwrap_or_else(IntoResponse::into_response)
}

/// Load the folder again.
pub async fn reload(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err(e) = super::compress::authorise(&state, peer, &headers) {
        return e.into_response();
    }
    let registry = match registry(&state) {
        Ok(r) => Arc::clone(r),
        Err(e) => return e.into_response(),
    };
    // Compiling and self-testing are blocking work.
    let outcome = tokio::task::spawn_blocking(move || (registry.reload(), registry.describe())).await;
    match outcome {
        Ok((Ok(_), described)) => Json(described).into_response(),
        Ok((Err(e), described)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"error": {"type": "plugin_load_failed", "message": e.to_string()}, "plugins": described})),
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": {"type": "plugin_load_failed", "message": format!("the reload did not finish: {e}")}})),
        )
            .into_response(),
    }
}
