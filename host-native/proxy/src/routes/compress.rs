//! `POST /v1/compress`: compression as a service, without calling a model.
//!
//! `{messages, model, mode?, format?}` -> `{messages, tokens_before, tokens_after,
//! tokens_saved, compression_ratio, transforms_applied, ccr_hashes}`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use headroom_runtime::wit;
use serde_json::{Value, json};

use crate::ccr::Tenant;
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

async fn run(state: &Arc<AppState>, peer: SocketAddr, request: Request) -> Result<Value, ProxyError> {
    authorise(state, peer, request.headers())?;
    let bypass = request.headers().get("x-headroom-bypass").is_some_and(|v| v == "true" || v == "1");
    let tenant = Tenant::of(request.headers());
    let body = super::read_body(request.into_body(), state.config.max_body_bytes).await?;
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ProxyError::BadRequest(format!("body is not JSON: {e}")))?;
    let obj = value.as_object().ok_or_else(|| ProxyError::BadRequest("body must be a JSON object".into()))?;
    let messages = obj
        .get("messages")
        .ok_or_else(|| ProxyError::BadRequest("missing field `messages`".into()))?
        .as_array()
        .ok_or_else(|| ProxyError::BadRequest("field `messages` must be an array".into()))?;
    let model = match obj.get("model") {
        Some(Value::String(m)) => m.clone(),
        Some(_) => return Err(ProxyError::BadRequest("field `model` must be a string".into())),
        None => return Err(ProxyError::BadRequest("missing field `model`".into())),
    };
    let dialect = match obj.get("format").and_then(Value::as_str) {
        Some("anthropic") => wit::Dialect::AnthropicMessages,
        Some("openai") => wit::Dialect::OpenaiChat,
        Some(other) => {
            return Err(ProxyError::BadRequest(format!("field `format`: unknown value `{other}`")));
        }
        None if looks_anthropic(messages) => wit::Dialect::AnthropicMessages,
        None => wit::Dialect::OpenaiChat,
    };
    let mut opts = state.config.engine_options();
    match obj.get("mode").and_then(Value::as_str) {
        Some("token") | Some("token_headroom") => opts.mode = Some(wit::Mode::Token),
        Some("cache") | Some("cost_savings") => opts.mode = Some(wit::Mode::Cache),
        Some(other) => return Err(ProxyError::BadRequest(format!("field `mode`: unknown value `{other}`"))),
        None => {}
    }
    let tokens_before = count_messages(messages);
    if bypass {
        return Ok(result(messages.clone(), tokens_before, tokens_before, Vec::new(), Vec::new()));
    }
    let request_body = serde_json::to_vec(&json!({"model": model, "messages": messages}))
        .map_err(|e| ProxyError::BadRequest(e.to_string()))?;
    let runtime =
        state.runtime().ok_or_else(|| ProxyError::Unreachable("the engine is still loading".into()))?;
    let outcome =
        tokio::task::spawn_blocking(move || runtime.compress_request(dialect, &request_body, &opts))
            .await
            .ok()
            .and_then(|r| r.ok());
    let outcome = match outcome {
        Some(Ok(o)) => o,
        Some(Err(wit::CompressError::MalformedRequest(m))) => return Err(ProxyError::BadRequest(m)),
        // A fault in the engine: the caller gets its messages back, unchanged.
        _ => return Ok(result(messages.clone(), tokens_before, tokens_before, Vec::new(), Vec::new())),
    };
    let new_messages = match &outcome.body {
        Some(b) => serde_json::from_slice::<Value>(b)
            .ok()
            .and_then(|v| v.get("messages").cloned())
            .and_then(|m| m.as_array().cloned())
            .unwrap_or_else(|| messages.clone()),
        None => messages.clone(),
    };
    let tokens_after = count_messages(&new_messages);
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
    Ok(result(new_messages, tokens_before, tokens_after, transforms, hashes))
}

fn result(
    messages: Vec<Value>,
    before: u64,
    after: u64,
    transforms: Vec<String>,
    hashes: Vec<String>,
) -> Value {
    json!({
        "messages": messages,
        "tokens_before": before,
        "tokens_after": after,
        "tokens_saved": before.saturating_sub(after),
        "compression_ratio": if before == 0 { 1.0 } else { after as f64 / before as f64 },
        "transforms_applied": transforms,
        "ccr_hashes": hashes,
    })
}

/// o200k tokens of the messages' text (string contents and text-bearing blocks).
fn count_messages(messages: &[Value]) -> u64 {
    fn text_of(v: &Value, out: &mut String) {
        match v {
            Value::String(s) => {
                out.push_str(s);
                out.push('\n');
            }
            Value::Array(items) => items.iter().for_each(|i| text_of(i, out)),
            Value::Object(map) => {
                for key in ["text", "content", "input", "thinking"] {
                    if let Some(x) = map.get(key) {
                        text_of(x, out);
                    }
                }
            }
            _ => {}
        }
    }
    let mut text = String::new();
    for m in messages {
        if let Some(c) = m.get("content") {
            text_of(c, &mut text);
        }
    }
    u64::from(headroom_tokenizer::O200k::count(&text))
}

fn looks_anthropic(messages: &[Value]) -> bool {
    messages.iter().any(|m| {
        m.get("content").and_then(Value::as_array).is_some_and(|blocks| {
            blocks.iter().any(|b| {
                matches!(
                    b.get("type").and_then(Value::as_str),
                    Some("tool_result" | "tool_use" | "thinking" | "redacted_thinking")
                )
            })
        })
    })
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
