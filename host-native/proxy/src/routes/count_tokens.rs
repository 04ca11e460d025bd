//! `POST /v1/messages/count_tokens`, answered for the body as `/v1/messages` would forward
//! it: compressed by the same engine with the same options, with the `headroom_retrieve` tool
//! when the proxy would offer it. Clients decide from these counts how much to send and when to
//! compact; a count of the uncompressed body is a size the provider never sees.
//!
//! Compression is deterministic (the same messages give the same bytes), so the count is the
//! turn's. The rehearsal leaves no trace ([`Purpose::Rehearsal`]). Any failure counts the
//! client's own body, as a passthrough would: a count is never refused for the proxy's sake.

use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use headroom_runtime::wit::Dialect;

use super::llm::{Prepared, Purpose, prepare};
use crate::ccr::Tenant;
use crate::errors::ProxyError;
use crate::facts::Facts;
use crate::provider::Provider;
use crate::state::{AppState, Counters};
use crate::upstream::{self, forward};

/// Anthropic's token-counting endpoint.
pub const PATH: &str = "/v1/messages/count_tokens";

/// Count the body as it would be forwarded (the caller checked the route and the flags).
pub async fn handle(state: Arc<AppState>, parts: http::request::Parts, body: Body, bypass: bool) -> Response {
    let provider = Provider::Anthropic;
    let path_and_query = parts.uri.path_and_query().map_or(PATH, |p| p.as_str()).to_owned();
    let original = match super::read_body(body, state.config.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return e.into_provider_response(provider),
    };
    let sent = if bypass {
        original.clone()
    } else {
        let tenant = Tenant::of(&parts.headers);
        let facts = Facts::read(&tenant, Dialect::AnthropicMessages, &original);
        let Prepared { body, with_tool, .. } = prepare(
            &state,
            Dialect::AnthropicMessages,
            original.clone(),
            &tenant,
            &parts.headers,
            Purpose::Rehearsal,
            &facts,
        )
        .await;
        with_tool.map_or(body, Bytes::from)
    };
    if sent == original {
        return forward(&state, provider, parts.method, &path_and_query, &parts.headers, sent.into())
            .await
            .unwrap_or_else(|e| e.into_provider_response(provider));
    }
    Counters::add(&state.counters.count_tokens_rewritten, 1);
    let counted = count(&state, &parts, &path_and_query, sent, original).await;
    counted.unwrap_or_else(|e| e.into_provider_response(provider))
}

/// Send the rewritten body; an upstream that rejects it as invalid gets the client's own, as
/// `/v1/messages` resends its body without the tool.
async fn count(
    state: &AppState,
    parts: &http::request::Parts,
    path_and_query: &str,
    sent: Bytes,
    original: Bytes,
) -> Result<Response, ProxyError> {
    let provider = Provider::Anthropic;
    let first =
        upstream::send(state, provider, parts.method.clone(), path_and_query, &parts.headers, sent.into())
            .await?;
    if matches!(first.status().as_u16(), 400 | 422) {
        return forward(
            state,
            provider,
            parts.method.clone(),
            path_and_query,
            &parts.headers,
            original.into(),
        )
        .await;
    }
    upstream::relay_headers(&first)
        .body(upstream::relay_body(first, state.config.stream_idle_timeout))
        .map_err(|e| ProxyError::Unreachable(e.to_string()))
}
