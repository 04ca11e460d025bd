//! Transparent retrieval: when a forwarded request carries markers, the proxy adds the
//! `headroom_retrieve` tool, and when the model calls it the proxy answers the call itself
//! from the CCR store and continues the conversation upstream. Clients that cannot run the
//! tool still get the data, and streams stay streams: the client sees the continuation's
//! events spliced into the stream it is already reading (`stream`), never a buffered copy.

pub mod buffered;
pub mod continuation;
pub mod json;
pub mod sse;
pub mod stream;
pub mod tool;
pub mod turn;

use std::sync::Arc;

use axum::response::Response;
use bytes::Bytes;
use headroom_runtime::wit::Dialect;
use http::HeaderMap;

use crate::ccr::Tenant;
use crate::errors::ProxyError;
use crate::provider::Provider;
use crate::state::AppState;
use crate::upstream;

/// Continuation calls the proxy makes for one client request before it hands the model's
/// answer back as it is.
pub const MAX_ROUNDS: usize = 3;

/// One client request whose forwarded body carries the injected tool.
#[derive(Clone)]
pub struct Exchange {
    /// Shared proxy state (upstream client, CCR store).
    pub state: Arc<AppState>,
    /// The request's dialect.
    pub dialect: Dialect,
    /// Its provider.
    pub provider: Provider,
    /// Path and query the client called.
    pub path_and_query: String,
    /// The client's headers (filtered again on every send).
    pub headers: HeaderMap,
    /// Whose originals may be read.
    pub tenant: Tenant,
}

/// The body to forward: with the tool added when the body carries markers and the client did
/// not bring its own. `None` means forward `body` unchanged and relay the answer untouched.
pub fn prepare(dialect: Dialect, body: &[u8]) -> Option<String> {
    if !tool::has_marker(body) {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    if tool::client_defines(text) || asks_for_several_choices(text) {
        return None;
    }
    tool::inject(dialect, text).ok()
}

/// `n > 1` asks for alternatives the proxy cannot continue one by one; the client keeps them.
fn asks_for_several_choices(body: &str) -> bool {
    let Ok(Some(range)) = json::member_range(body, "n") else { return false };
    body[range].trim().parse::<u64>().is_ok_and(|n| n > 1)
}

/// Send the prepared body and answer the client, resolving retrievals on the way.
pub async fn respond(exchange: Exchange, body: String) -> Result<Response, ProxyError> {
    let first = exchange.send(body.clone()).await?;
    if !first.status().is_success() {
        return upstream::relay_headers(&first)
            .body(upstream::relay_body(first))
            .map_err(|e| ProxyError::Unreachable(e.to_string()));
    }
    let streaming = first
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    if streaming {
        Ok(stream::relay(exchange, body, first))
    } else {
        buffered::respond(exchange, body, first).await
    }
}

impl Exchange {
    /// Send a (continuation) body upstream with the client's headers.
    pub async fn send(&self, body: String) -> Result<reqwest::Response, ProxyError> {
        upstream::send(
            &self.state,
            self.provider,
            http::Method::POST,
            &self.path_and_query,
            &self.headers,
            Bytes::from(body).into(),
        )
        .await
    }

    /// The text answering a call for `key`: the original, or why it is not there.
    pub fn answer(&self, key: &str) -> String {
        self.state.ccr.get(&self.tenant, key).unwrap_or_else(|| {
            format!(
                "No original is stored under {key} for this API key (originals are kept for a limited \
                 time and only for the key that sent them). Re-run the command or re-read the file \
                 to see the full content again."
            )
        })
    }
}
