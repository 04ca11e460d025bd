//! `GET /v1/retrieve/{key}`: the original behind a marker, for the caller's own tenant.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::ccr::Tenant;
use crate::errors::ProxyError;
use crate::state::AppState;

/// The handler.
pub async fn handle(
    State(state): State<Arc<AppState>>,
    Path(key): Path<String>,
    headers: http::HeaderMap,
) -> Response {
    match state.get_original(&Tenant::of(&headers), &key).await {
        Some(original) => Json(json!({"key": key, "original": original})).into_response(),
        None => ProxyError::NotFound(format!(
            "no original stored under `{key}` for this API key (expired after {} s, evicted, or never stored): \
             re-run the command or re-read the file",
            state.ccr.ttl().as_secs()
        ))
        .into_response(),
    }
}
