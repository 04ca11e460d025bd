//! `POST /v1/compress`: compression as a service, without calling a model.
//!
//! `{messages, model?, mode?, format?, system?}` -> `{messages, format, tokens_before,
//! tokens_after, tokens_saved, compression_ratio, transforms_applied, ccr_hashes}`. The list is
//! compressed by the engine's `compress-messages` (which sniffs the format when none is given,
//! and counts); this route reads the HTTP request, stores the originals and writes the answer.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use headroom_runtime::{MessageList, wit};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use crate::ccr::Tenant;
use crate::config::ModeArg;
use crate::dialect::{format_name, parse_format};
use crate::errors::ProxyError;
use crate::state::AppState;

/// The handler.
pub async fn handle(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    match run(&state, peer, request).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The request's fields; `messages` and `system` stay raw JSON, so the engine gets their bytes
/// as they came.
#[derive(Deserialize)]
struct Body<'a> {
    #[serde(borrow)]
    messages: Option<&'a RawValue>,
    model: Option<Value>,
    format: Option<Value>,
    mode: Option<Value>,
    #[serde(borrow)]
    system: Option<&'a RawValue>,
}

async fn run(state: &Arc<AppState>, peer: SocketAddr, request: Request) -> Result<Value, ProxyError> {
    authorise(state, peer, request.headers())?;
    let bypass = request.headers().get("x-headroom-bypass").is_some_and(|v| v == "true" || v == "1");
    let tenant = Tenant::of(request.headers());
    let bytes = super::read_body(request.into_body(), state.config.max_body_bytes).await?;
    let body: Body<'_> = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) if e.is_data() => return Err(ProxyError::BadRequest("body must be a JSON object".into())),
        Err(e) => return Err(ProxyError::BadRequest(format!("body is not JSON: {e}"))),
    };
    let messages =
        body.messages.ok_or_else(|| ProxyError::BadRequest("missing field `messages`".into()))?.get();
    let model = match body.model {
        Some(Value::String(m)) => Some(m),
        None | Some(Value::Null) => None,
        Some(_) => return Err(ProxyError::BadRequest("field `model` must be a string".into())),
    };
    let format = match body.format {
        None | Some(Value::Null) => None,
        Some(Value::String(f)) => Some(parse_format(&f).ok_or_else(|| {
            ProxyError::BadRequest(format!(
                "field `format`: unknown value `{f}` (anthropic, openai, openai-responses)"
            ))
        })?),
        Some(_) => return Err(ProxyError::BadRequest("field `format` must be a string".into())),
    };
    let mut opts = state.config.engine_options();
    match body.mode {
        None | Some(Value::Null) => {}
        Some(Value::String(m)) => {
            opts.mode = Some(
                ModeArg::parse(&m).map_err(|e| ProxyError::BadRequest(format!("field `mode`: {e}")))?.wit(),
            );
        }
        Some(_) => return Err(ProxyError::BadRequest("field `mode` must be a string".into())),
    }
    let list = MessageList {
        dialect: format,
        model,
        system: body.system.map(|s| s.get().to_owned()),
        messages: messages.to_owned(),
    };
    if bypass {
        return unchanged(&list);
    }
    let runtime =
        state.runtime().ok_or_else(|| ProxyError::Unreachable("the engine is still loading".into()))?;
    let call = {
        let list = list.clone();
        tokio::task::spawn_blocking(move || runtime.compress_messages(&list, &opts)).await
    };
    let outcome = match call {
        Ok(Ok(Ok(o))) => o,
        Ok(Ok(Err(wit::CompressError::MalformedRequest(m)))) => return Err(ProxyError::BadRequest(m)),
        // A fault in the engine: the caller gets its messages back, unchanged.
        other => {
            tracing::warn!(fault = ?other.map(|r| r.map(|_| ())), "compress-messages failed; answering the messages unchanged");
            return unchanged(&list);
        }
    };
    let transforms: Vec<String> = outcome
        .report
        .iter()
        .filter_map(|b| match &b.status {
            wit::BlockStatus::Compressed(t) => Some(t.clone()),
            wit::BlockStatus::Declined(_) => None,
        })
        .collect();
    let hashes: Vec<String> = outcome.offloads.iter().map(|off| off.key.clone()).collect();
    state.put_originals(&tenant, outcome.offloads.into_iter().map(|off| (off.key, off.original))).await;
    let new_messages = outcome.messages.as_deref().unwrap_or(&list.messages);
    result(new_messages, outcome.dialect, outcome.tokens_before, outcome.tokens_after, transforms, hashes)
}

/// The answer for messages given back as they came (bypass, or an engine fault), counted and
/// sniffed by the engine's own rules natively.
fn unchanged(list: &MessageList) -> Result<Value, ProxyError> {
    let malformed = |e: headroom_core::CompressError| ProxyError::BadRequest(e.to_string());
    let counter = |t: &str| headroom_tokenizer::O200k::count(t);
    let tokens = headroom_core::messages::count_json(&list.messages, &counter).map_err(malformed)?;
    let dialect = match list.dialect {
        Some(d) => d,
        None => crate::dialect::from_core(
            headroom_core::messages::sniff_json(&list.messages, list.system.is_some()).map_err(malformed)?,
        ),
    };
    result(&list.messages, dialect, tokens, tokens, Vec::new(), Vec::new())
}

fn result(
    messages: &str,
    dialect: wit::Dialect,
    before: u64,
    after: u64,
    transforms: Vec<String>,
    hashes: Vec<String>,
) -> Result<Value, ProxyError> {
    let messages: Value = serde_json::from_str(messages)
        .map_err(|e| ProxyError::BadRequest(format!("field `messages` is not JSON: {e}")))?;
    Ok(json!({
        "messages": messages,
        "format": format_name(dialect),
        "tokens_before": before,
        "tokens_after": after,
        "tokens_saved": before.saturating_sub(after),
        "compression_ratio": if before == 0 { 1.0 } else { after as f64 / before as f64 },
        "transforms_applied": transforms,
        "ccr_hashes": hashes,
    }))
}

/// With a configured key, the caller must present it; without one, only loopback callers.
pub(crate) fn authorise(
    state: &AppState,
    peer: SocketAddr,
    headers: &http::HeaderMap,
) -> Result<(), ProxyError> {
    match &state.config.api_key {
        Some(key) => {
            let presented = headers
                .get(http::header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .or_else(|| headers.get("x-headroom-api-key").and_then(|v| v.to_str().ok()));
            if presented.is_some_and(|p| constant_time_eq(p.as_bytes(), key.as_bytes())) {
                Ok(())
            } else {
                Err(ProxyError::Unauthorized(
                    "missing or wrong API key: send `Authorization: Bearer <HEADROOM_API_KEY>`".into(),
                ))
            }
        }
        None if peer.ip().is_loopback() => Ok(()),
        None => Err(ProxyError::Forbidden(
            "this endpoint answers loopback callers only; set HEADROOM_API_KEY on the proxy to allow remote callers"
                .into(),
        )),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
