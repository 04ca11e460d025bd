//! The mock upstream's model that uses `headroom_retrieve`: asked a question with a marker in
//! view (and the tool offered), it calls the tool with the marker's key; given the tool's
//! answer, it replies `retrieved N chars: FIRST LINE`. JSON or SSE, in all three dialects.
//! `x-mock-continuation-delay-ms` delays only the answer to a continuation, so tests can
//! see the first round reach the client before the proxy's continuation returns;
//! `x-mock-retrieve-forever` makes it call the tool again after every answer;
//! `x-mock-reject-tool` answers 400 to any request offering the tool, and
//! `x-mock-fail-continuation` 529 to any request answering it.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

const TOOL: &str = "headroom_retrieve";

/// The mock's answer to `body` at `path`.
pub async fn answer(path: &str, headers: &http::HeaderMap, body: &Value) -> Response {
    let stream = body["stream"].as_bool().unwrap_or(false);
    if headers.contains_key("x-mock-reject-tool") && offered(body) {
        let error = json!({"type": "error", "error": {"type": "invalid_request_error", "message": "tools are not supported"}});
        return (http::StatusCode::BAD_REQUEST, axum::Json(error)).into_response();
    }
    if headers.contains_key("x-mock-fail-continuation") && retrieved(path, body).is_some() {
        let error = json!({"type": "error", "error": {"type": "overloaded_error", "message": "overloaded"}});
        return (http::StatusCode::from_u16(529).unwrap_or_default(), axum::Json(error)).into_response();
    }
    let forever = headers.contains_key("x-mock-retrieve-forever");
    match retrieved(path, body).filter(|_| !forever) {
        Some(text) => {
            if let Some(ms) =
                headers.get("x-mock-continuation-delay-ms").and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
            {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            let first = text.lines().next().unwrap_or_default();
            reply(path, stream, &format!("retrieved {} chars: {first}", text.len()))
        }
        None => match (offered(body), cited_key(body)) {
            (true, Some(key)) => call(path, stream, &key),
            _ => reply(path, stream, "no marker in view"),
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
    let text = body.to_string();
    let at = text.find("headroom_retrieve(\\\"h:")? + "headroom_retrieve(\\\"".len();
    Some(text[at..at + 26].to_owned())
}

fn reply(path: &str, stream: bool, text: &str) -> Response {
    let t = serde_json::to_string(text).unwrap_or_default();
    match (path, stream) {
        ("/v1/messages", false) => json_response(json!({
            "id": "msg_final", "type": "message", "role": "assistant", "model": "claude-mock",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 20, "output_tokens": 5}})),
        ("/v1/messages", true) => sse(vec![
            r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_final","type":"message","role":"assistant","model":"claude-mock","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":20,"output_tokens":1}}}"#.into(),
            r#"event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#.into(),
            format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{{\"type\":\"text_delta\",\"text\":{t}}}}}"),
            r#"event: content_block_stop
data: {"type":"content_block_stop","index":0}"#.into(),
            r#"event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":5}}"#.into(),
            r#"event: message_stop
data: {"type":"message_stop"}"#.into(),
        ]),
        ("/v1/chat/completions", false) => json_response(json!({
            "id": "chatcmpl-final", "object": "chat.completion", "created": 2, "model": "gpt-mock",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}})),
        ("/v1/chat/completions", true) => sse(vec![
            format!("data: {{\"id\":\"chatcmpl-final\",\"object\":\"chat.completion.chunk\",\"created\":2,\"model\":\"gpt-mock\",\"choices\":[{{\"index\":0,\"delta\":{{\"role\":\"assistant\",\"content\":{t}}},\"finish_reason\":null}}]}}"),
            r#"data: {"id":"chatcmpl-final","object":"chat.completion.chunk","created":2,"model":"gpt-mock","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#.into(),
            "data: [DONE]".into(),
        ]),
        (_, false) => json_response(json!({
            "id": "resp_final", "object": "response", "created_at": 2, "status": "completed", "model": "gpt-mock",
            "output": [message_item(text)],
            "usage": {"input_tokens": 20, "output_tokens": 5, "total_tokens": 25}})),
        (_, true) => {
            let item = message_item(text);
            let mut added = item.clone();
            added["content"] = json!([]);
            let part = json!({"type": "output_text", "text": "", "annotations": []});
            let done = item["content"][0].clone();
            let at = json!({"output_index": 0, "content_index": 0, "item_id": "msg_f"});
            let with = |mut v: Value| {
                if let Some(o) = v.as_object_mut() {
                    o.extend(at.as_object().cloned().unwrap_or_default());
                }
                v
            };
            responses_events(vec![
                json!({"type": "response.output_item.added", "output_index": 0, "item": added}),
                with(json!({"type": "response.content_part.added", "part": part})),
                with(json!({"type": "response.output_text.delta", "delta": text})),
                with(json!({"type": "response.output_text.done", "text": text})),
                with(json!({"type": "response.content_part.done", "part": done})),
                json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
            ], "resp_final", vec![item])
        }
    }
}

fn message_item(text: &str) -> Value {
    json!({"type": "message", "id": "msg_f", "status": "completed", "role": "assistant",
           "content": [{"type": "output_text", "text": text, "annotations": []}]})
}

/// Say a few words, then call the tool for `key`.
fn call(path: &str, stream: bool, key: &str) -> Response {
    let args = json!({"hash": key}).to_string();
    let a = serde_json::to_string(&args).unwrap_or_default();
    match (path, stream) {
        ("/v1/messages", false) => json_response(json!({
            "id": "msg_call", "type": "message", "role": "assistant", "model": "claude-mock",
            "content": [{"type": "text", "text": "Let me look."},
                        {"type": "tool_use", "id": "toolu_r1", "name": TOOL, "input": {"hash": key}}],
            "stop_reason": "tool_use", "stop_sequence": null, "usage": {"input_tokens": 10, "output_tokens": 3}})),
        ("/v1/messages", true) => sse(vec![
            r#"event: message_start
data: {"type":"message_start","message":{"id":"msg_call","type":"message","role":"assistant","model":"claude-mock","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":10,"output_tokens":1}}}"#.into(),
            r#"event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#.into(),
            r#"event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Let me look."}}"#.into(),
            r#"event: content_block_stop
data: {"type":"content_block_stop","index":0}"#.into(),
            format!("event: content_block_start\ndata: {{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{{\"type\":\"tool_use\",\"id\":\"toolu_r1\",\"name\":\"{TOOL}\",\"input\":{{}}}}}}"),
            format!("event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{{\"type\":\"input_json_delta\",\"partial_json\":{a}}}}}"),
            r#"event: content_block_stop
data: {"type":"content_block_stop","index":1}"#.into(),
            r#"event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":3}}"#.into(),
            r#"event: message_stop
data: {"type":"message_stop"}"#.into(),
        ]),
        ("/v1/chat/completions", false) => json_response(json!({
            "id": "chatcmpl-call", "object": "chat.completion", "created": 1, "model": "gpt-mock",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Let me look.", "tool_calls": [
                {"id": "call_r1", "type": "function", "function": {"name": TOOL, "arguments": args}}]},
                "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13}})),
        ("/v1/chat/completions", true) => sse(vec![
            r#"data: {"id":"chatcmpl-call","object":"chat.completion.chunk","created":1,"model":"gpt-mock","choices":[{"index":0,"delta":{"role":"assistant","content":"Let me look."},"finish_reason":null}]}"#.into(),
            format!("data: {{\"id\":\"chatcmpl-call\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-mock\",\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"id\":\"call_r1\",\"type\":\"function\",\"function\":{{\"name\":\"{TOOL}\",\"arguments\":\"\"}}}}]}},\"finish_reason\":null}}]}}"),
            format!("data: {{\"id\":\"chatcmpl-call\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-mock\",\"choices\":[{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"function\":{{\"arguments\":{a}}}}}]}},\"finish_reason\":null}}]}}"),
            r#"data: {"id":"chatcmpl-call","object":"chat.completion.chunk","created":1,"model":"gpt-mock","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}"#.into(),
            "data: [DONE]".into(),
        ]),
        (_, stream) => {
            let item = json!({"type": "function_call", "id": "fc_1", "call_id": "call_r1", "name": TOOL,
                              "arguments": args, "status": "completed"});
            if !stream {
                return json_response(json!({
                    "id": "resp_call", "object": "response", "created_at": 1, "status": "completed", "model": "gpt-mock",
                    "output": [item], "usage": {"input_tokens": 10, "output_tokens": 3, "total_tokens": 13}}));
            }
            let mut added = item.clone();
            added["arguments"] = "".into();
            responses_events(vec![
                json!({"type": "response.output_item.added", "output_index": 0, "item": added}),
                json!({"type": "response.function_call_arguments.delta", "output_index": 0, "item_id": "fc_1", "delta": args}),
                json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
            ], "resp_call", vec![item])
        }
    }
}

/// A Responses stream: created, the given events, completed; numbered from 0.
fn responses_events(middle: Vec<Value>, id: &str, output: Vec<Value>) -> Response {
    let response = json!({"id": id, "object": "response", "created_at": 1, "status": "in_progress", "model": "gpt-mock", "output": []});
    let mut completed = response.clone();
    completed["status"] = "completed".into();
    completed["output"] = Value::Array(output);
    let mut events = vec![json!({"type": "response.created", "response": response})];
    events.extend(middle);
    events.push(json!({"type": "response.completed", "response": completed}));
    sse(events
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e["sequence_number"] = i.into();
            format!("event: {}\ndata: {e}", e["type"].as_str().unwrap_or_default())
        })
        .collect())
}

fn json_response(v: Value) -> Response {
    axum::Json(v).into_response()
}

fn sse(events: Vec<String>) -> Response {
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        events.into_iter().map(|e| Ok(Bytes::from(format!("{e}\n\n")))).collect();
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap_or_default()
}
