//! The mock upstream's model that uses `headroom_retrieve`: asked a question with a marker in
//! view (and the tool offered), it calls the tool with the marker's key; given the tool's
//! answer, it replies `retrieved N chars: FIRST LINE`. JSON or SSE, in all three dialects,
//! thinking (Anthropic) or reasoning (Responses) first when the request asks for it, under the
//! providers' rules (`provider`). Each round reports its own usage, cache and reasoning counts
//! included, so tests can check the client is told their sum.
//! `x-mock-continuation-delay-ms` delays only the answer to a continuation, so tests can
//! see the first round reach the client before the proxy's continuation returns;
//! `x-mock-retrieve-forever` makes it call the tool again after every answer;
//! `x-mock-client-tool` makes it end every reply (after a retrieved answer, or with no marker
//! in view) with a call of the client's own tool (`bash` / `shell`), as an agent does;
//! `x-mock-reject-tool` answers 400 to any request offering the tool, and
//! `x-mock-fail-continuation` 529 to any request answering it.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::provider;

const TOOL: &str = "headroom_retrieve";

/// The round whose usage a response reports: the tool call, or the reply after it.
#[derive(Clone, Copy)]
enum Round {
    Call,
    Reply,
}

/// The usage a round reports in `path`'s dialect (distinct in every field, so sums show).
pub fn usage(path: &str, round: u64) -> Value {
    let n = round;
    match path {
        "/v1/messages" => json!({"input_tokens": 10 * n, "cache_creation_input_tokens": 100 * n,
            "cache_read_input_tokens": 1000 * n,
            "cache_creation": {"ephemeral_5m_input_tokens": 40 * n, "ephemeral_1h_input_tokens": 60 * n},
            "output_tokens": 2 * n + 1, "service_tier": "standard"}),
        "/v1/chat/completions" => json!({"prompt_tokens": 10 * n, "completion_tokens": 2 * n + 1,
            "total_tokens": 12 * n + 1, "prompt_tokens_details": {"cached_tokens": 4 * n},
            "completion_tokens_details": {"reasoning_tokens": n}}),
        _ => json!({"input_tokens": 10 * n, "input_tokens_details": {"cached_tokens": 4 * n},
            "output_tokens": 2 * n + 1, "output_tokens_details": {"reasoning_tokens": n},
            "total_tokens": 12 * n + 1}),
    }
}

fn round_usage(path: &str, round: Round) -> Value {
    usage(
        path,
        match round {
            Round::Call => 1,
            Round::Reply => 2,
        },
    )
}

/// The mock's answer to `body` at `path`.
pub async fn answer(path: &str, headers: &http::HeaderMap, body: &Value) -> Response {
    let stream = body["stream"].as_bool().unwrap_or(false);
    let rejected = match path {
        "/v1/messages" => provider::anthropic_rejects(body),
        "/v1/responses" => provider::responses_rejects(body),
        _ => None,
    };
    if let Some(rejection) = rejected {
        return rejection;
    }
    if headers.contains_key("x-mock-reject-tool") && offered(body) {
        let error = json!({"type": "error", "error": {"type": "invalid_request_error", "message": "tools are not supported"}});
        return (http::StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
    }
    if headers.contains_key("x-mock-fail-continuation") && retrieved(path, body).is_some() {
        let error = json!({"type": "error", "error": {"type": "overloaded_error", "message": "overloaded"}});
        return (http::StatusCode::from_u16(529).unwrap_or_default(), axum::Json(error)).into_response();
    }
    let forever = headers.contains_key("x-mock-retrieve-forever");
    let client_tool = headers.contains_key("x-mock-client-tool");
    match retrieved(path, body).filter(|_| !forever) {
        Some(text) => {
            if let Some(ms) =
                headers.get("x-mock-continuation-delay-ms").and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            let first = text.lines().next().unwrap_or_default();
            reply(path, body, stream, &format!("retrieved {} chars: {first}", text.len()), client_tool)
        }
        None => match (offered(body), cited_key(body)) {
            (true, Some(key)) => call(path, body, stream, &key),
            _ => reply(path, body, stream, "no marker in view", client_tool),
        },
    }
}

/// The tool result in the newest message, if it is one.
fn retrieved(path: &str, body: &Value) -> Option<String> {
    let last = match path {
        "/v1/responses" => body["input"].as_array()?.last()?,
        _ => body["messages"].as_array()?.last()?,
    };
    // Only answers to the mock's own calls count: requests also end with ordinary tool results.
    let text = match path {
        "/v1/messages" => {
            let block = &last["content"][0];
            (block["tool_use_id"] == "toolu_r1").then(|| block["content"].as_str())??
        }
        "/v1/chat/completions" => (last["tool_call_id"] == "call_r1").then(|| last["content"].as_str())??,
        _ => (last["call_id"] == "call_r1").then(|| last["output"].as_str())??,
    };
    Some(text.to_owned())
}

fn offered(body: &Value) -> bool {
    body["tools"]
        .as_array()
        .is_some_and(|t| t.iter().any(|t| t["name"] == TOOL || t["function"]["name"] == TOOL))
}

fn cited_key(body: &Value) -> Option<String> {
    // The conversation only: the tool's own description shows an example marker.
    let text = json!([body["system"], body["messages"], body["input"]]).to_string();
    let at = text.find("headroom_retrieve(\\\"h:")? + "headroom_retrieve(\\\"".len();
    Some(text[at..at + 26].to_owned())
}

/// An Anthropic answer: thinking first when asked for, then `blocks`.
fn anthropic(id: &str, body: &Value, blocks: Vec<Value>, stop: &str, round: Round, stream: bool) -> Response {
    let mut all = Vec::new();
    if provider::thinking_on(body) {
        let thought = match round {
            Round::Call => "The marker hides the part I need.",
            Round::Reply => "Now I have the original.",
        };
        all.push(provider::thinking_block(body, thought));
    }
    all.extend(blocks);
    let repeats_input = matches!(round, Round::Reply);
    provider::anthropic(id, &all, stop, &round_usage("/v1/messages", round), stream, repeats_input)
}

/// A Responses answer: a reasoning item before the first item when asked for.
fn responses(id: &str, body: &Value, items: Vec<Value>, round: Round, stream: bool) -> Response {
    let mut all = Vec::new();
    if provider::reasoning_on(body)
        && let Some(first) = items.first()
    {
        all.push(provider::reasoning_item(&format!("rs_{id}"), first));
    }
    all.extend(items);
    provider::responses(id, &all, &round_usage("/v1/responses", round), stream)
}

fn reply(path: &str, body: &Value, stream: bool, text: &str, client_tool: bool) -> Response {
    let t = serde_json::to_string(text).unwrap_or_default();
    match path {
        "/v1/messages" => {
            let mut blocks = vec![json!({"type": "text", "text": text})];
            if client_tool {
                blocks.push(json!({"type": "tool_use", "id": "toolu_c1", "name": "bash", "input": {"command": "ls"}}));
            }
            let stop = if client_tool { "tool_use" } else { "end_turn" };
            anthropic("msg_final", body, blocks, stop, Round::Reply, stream)
        }
        "/v1/chat/completions" if !stream => json_response(json!({
            "id": "chatcmpl-final", "object": "chat.completion", "created": 2, "model": "gpt-mock",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": round_usage(path, Round::Reply)})),
        "/v1/chat/completions" => chat_stream(body, vec![
            format!("data: {{\"id\":\"chatcmpl-final\",\"object\":\"chat.completion.chunk\",\"created\":2,\"model\":\"gpt-mock\",\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":{t}}},\"finish_reason\":null}}]}}"),
            r#"data: {"id":"chatcmpl-final","object":"chat.completion.chunk","created":2,"model":"gpt-mock","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#.into(),
        ], Round::Reply),
        _ => {
            let mut items = vec![message_item(text)];
            if client_tool {
                items.push(json!({"type": "function_call", "id": "fc_c1", "call_id": "call_c1", "name": "shell",
                    "arguments": "{\"command\":[\"ls\"]}", "status": "completed"}));
            }
            responses("resp_final", body, items, Round::Reply, stream)
        }
    }
}

fn message_item(text: &str) -> Value {
    json!({"type": "message", "id": "msg_f", "status": "completed", "role": "assistant",
           "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

/// Say a few words, then call the tool for `key`.
fn call(path: &str, body: &Value, stream: bool, key: &str) -> Response {
    let args = json!({"hash": key}).to_string();
    let a = serde_json::to_string(&args).unwrap_or_default();
    match path {
        "/v1/messages" => {
            let blocks = vec![json!({"type": "text", "text": "Let me look."}),
                json!({"type": "tool_use", "id": "toolu_r1", "name": TOOL, "input": {"hash": key}})];
            anthropic("msg_call", body, blocks, "tool_use", Round::Call, stream)
        }
        "/v1/chat/completions" if !stream => json_response(json!({
            "id": "chatcmpl-call", "object": "chat.completion", "created": 1, "model": "gpt-mock",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Let me look.", "tool_calls": [
                {"id": "call_r1", "type": "function", "function": {"name": TOOL, "arguments": args}}]},
                "finish_reason": "tool_calls"}],
            "usage": round_usage(path, Round::Call)})),
        "/v1/chat/completions" => chat_stream(body, vec![
            r#"data: {"id":"chatcmpl-call","object":"chat.completion.chunk","created":1,"model":"gpt-mock","choices":[{"index":0,"delta":{"role":"assistant","content":"Let me look."},"finish_reason":null}]}"#.into(),
            format!("data: {{\"id\":\"chatcmpl-call\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-mock\",\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"id\":\"call_r1\",\"type\":\"function\",\"function\":{{\"name\":\"{TOOL}\",\"arguments\":\"\"}}}}]}},\"finish_reason\":null}}]}}"),
            format!("data: {{\"id\":\"chatcmpl-call\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-mock\",\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"function\":{{\"arguments\":{a}}}}}]}},\"finish_reason\":null}}]}}"),
            r#"data: {"id":"chatcmpl-call","object":"chat.completion.chunk","created":1,"model":"gpt-mock","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#.into(),
        ], Round::Call),
        _ => {
            let item = json!({"type": "function_call", "id": "fc_1", "call_id": "call_r1", "name": TOOL,
                              "arguments": args, "status": "completed"});
            responses("resp_call", body, vec![item], Round::Call, stream)
        }
    }
}

/// A chat stream of `chunks`, then the usage chunk when the request asked for it, then `[DONE]`.
fn chat_stream(body: &Value, mut chunks: Vec<String>, round: Round) -> Response {
    if body["stream_options"]["include_usage"] == true {
        let usage = round_usage("/v1/chat/completions", round);
        chunks.push(format!(
            "data: {}",
            json!({"id": "chatcmpl-u", "object": "chat.completion.chunk",
            "created": 1, "model": "gpt-mock", "choices": [], "usage": usage})
        ));
    }
    chunks.push("data: [DONE]".into());
    provider::sse(chunks)
}

fn json_response(v: Value) -> Response {
    axum::Json(v).into_response()
}
