//! Transparent retrieval: when a forwarded request carries markers, the proxy adds the
//! `headroom_retrieve` tool, and when the model calls it the proxy answers the call itself
//! from the CCR store and continues the conversation upstream. Clients that cannot run the
//! tool still get the data, and streams stay streams: the client sees the continuation's
//! events spliced into the stream it is already reading (`stream`), never a buffered copy.

pub mod agent;
pub mod buffered;
pub mod continuation;
pub mod json;
pub mod sse;
pub mod stream;
pub mod tool;
pub mod turn;
pub mod usage;

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

/// The most of an original one answer carries. Originals can be far larger than what
/// was shown (a whole log; the messages dropped to fit the context window), and an answer that
/// does not fit the window would fail the continuation.
pub const MAX_ANSWER_BYTES: usize = 128 << 10;

/// `original`, cut at a line boundary within [`MAX_ANSWER_BYTES`] with an exact note.
fn capped(original: String, key: &str) -> String {
    if original.len() <= MAX_ANSWER_BYTES {
        return original;
    }
    let mut end = MAX_ANSWER_BYTES;
    while !original.is_char_boundary(end) {
        end -= 1;
    }
    let end = original[..end].rfind('\n').map_or(end, |n| n + 1);
    let lines = original[..end].lines().count();
    let total = original.lines().count();
    format!(
        "{}[... answer cut to its first {lines} of {total} lines ({end} of {} bytes); the whole original is \
         at GET /v1/retrieve/{key} ...]",
        &original[..end],
        original.len()
    )
}

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
    /// Requests sent upstream through [`Exchange::send`] (the first and every continuation).
    pub sends: Arc<std::sync::atomic::AtomicU32>,
}

pub use headroom_core::request::facts::Survey;

/// The survey of a body not read yet (an unreadable one allows nothing).
pub fn survey_of(dialect: Dialect, body: &[u8]) -> Survey {
    crate::facts::read(dialect, body).map(|r| r.survey()).unwrap_or_default()
}

/// Whether the proxy may offer the tool at all.
fn can_offer(survey: Survey) -> bool {
    !survey.client_owns && !survey.cannot_continue
}

/// The body to forward: `body` with the tool appended, or `None` (forward `body` unchanged
/// and relay the answer untouched). `survey` is the client's request's.
///
/// The tool costs its definition on every request, and adding it changes the front of the
/// provider's cached prefix (tools come first), so it is offered only once it can pay:
/// when the history holds tool or command output the engine considered (`saw_output`: at
/// least `min_tokens`, so compressible; from the agent's first sizeable output, while the
/// prefix is still short), or when the body carries a marker. Both conditions, once true,
/// stay true on every later turn (the history only grows), so the tool's bytes never flip
/// back; a conversation whose outputs are all small is forwarded as the client sent it.
///
/// A thinking Anthropic conversation cannot take the tool later: a change of `tools`
/// invalidates every thinking block already in its history (preserved thinking refuses
/// them). It gets the tool from its first turn when it defines tools (an agent: the tools
/// never change), and never when it does not (DECISIONS D28).
///
/// `validated`: `body` is the client's, validated when it arrived, or the engine's rewrite of it.
pub fn offer(
    survey: Survey,
    dialect: Dialect,
    body: &[u8],
    saw_output: bool,
    validated: bool,
) -> Option<String> {
    let wanted = if survey.thinking { survey.has_tools } else { saw_output || tool::has_marker(body) };
    if !can_offer(survey) || !wanted {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    let body = if validated { json::Body::validated_before(text) } else { json::Body::unchecked(text) };
    tool::inject_into(dialect, body).ok()
}

/// Send the prepared body and answer the client, resolving retrievals on the way. `original`
/// is the body without the tool: an upstream that rejects the request as invalid gets it
/// instead, so the tool the client never sent cannot cost it the request.
pub async fn respond(exchange: Exchange, body: Bytes, original: Bytes) -> Result<Response, ProxyError> {
    let first = exchange.send(body.clone()).await?;
    if matches!(first.status().as_u16(), 400 | 422) {
        let first = exchange.send_bytes(original).await?;
        return upstream::relay_llm(&exchange.state, exchange.dialect, first).await;
    }
    if !first.status().is_success() {
        return upstream::relay_llm(&exchange.state, exchange.dialect, first).await;
    }
    if upstream::is_event_stream(&first) {
        Ok(stream::relay(exchange, body, first))
    } else {
        buffered::respond(exchange, body, first).await
    }
}

impl Exchange {
    /// Send a (continuation) body upstream with the client's headers.
    pub async fn send(&self, body: Bytes) -> Result<crate::upstream::Answer, ProxyError> {
        self.sends.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.send_bytes(body).await
    }

    async fn send_bytes(&self, body: Bytes) -> Result<crate::upstream::Answer, ProxyError> {
        upstream::send(
            &self.state,
            self.provider,
            http::Method::POST,
            &self.path_and_query,
            &self.headers,
            body.into(),
        )
        .await
    }

    /// The texts answering the calls for `keys`, in order.
    pub async fn answers(&self, keys: Vec<String>) -> Vec<String> {
        let mut out = Vec::with_capacity(keys.len());
        for key in &keys {
            out.push(self.answer(key).await);
        }
        out
    }

    /// The text answering a call for `key`: the original (at most [`MAX_ANSWER_BYTES`]), or
    /// why it is not there.
    pub async fn answer(&self, key: &str) -> String {
        let found = self.state.get_original(&self.tenant, key).await.map(|o| capped(o, key));
        found.unwrap_or_else(|| {
            format!(
                "No original is stored under {key} for this API key (originals are kept for a limited \
                 time and only for the key that sent them). Re-run the command or re-read the file \
                 to see the full content again."
            )
        })
    }
}

#[cfg(test)]
mod cap_tests {
    use super::*;

    #[test]
    fn long_originals_are_cut_at_a_line_with_an_exact_note() {
        let line = "x".repeat(99);
        let original: String = (0..2000).map(|_| format!("{line}\n")).collect();
        let out = capped(original.clone(), "h:1");
        assert!(out.len() < MAX_ANSWER_BYTES + 200);
        let kept = MAX_ANSWER_BYTES / 100;
        assert!(
            out.contains(&format!("first {kept} of 2000 lines ({} of 200000 bytes)", kept * 100)),
            "{}",
            &out[out.len() - 150..]
        );
        assert!(original.starts_with(&out[..kept * 100]));
        assert_eq!(capped("short".into(), "h:1"), "short");
    }
}
