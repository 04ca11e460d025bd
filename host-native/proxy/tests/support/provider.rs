//! What the mock upstream's providers enforce and how they speak, for the retrieval model:
//!
//! - Anthropic with thinking on (`thinking.type` `enabled` or `adaptive`): every answer opens
//!   with a thinking block whose signature binds it to its prefix (`system`, `tools`, the
//!   messages and blocks before it, `cache_control` aside), as preserved thinking does. A
//!   request is refused (400, the API's error shape) when a thinking block comes back with a
//!   different prefix or text, or when the assistant turn before the final tool results does
//!   not open with a thinking block (the API's documented rules and messages).
//! - OpenAI Responses with `reasoning`: every answer opens with a reasoning item whose
//!   encrypted content names the item that followed it; a request resending a reasoning item
//!   without that item right after it is refused as the API refuses it.
//!
//! Answers are built from their blocks or items and rendered as JSON or as the provider's
//! event stream.

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Whether `body` asks an Anthropic model to think.
pub fn thinking_on(body: &Value) -> bool {
    matches!(body["thinking"]["type"].as_str(), Some("enabled" | "adaptive"))
}

/// Whether `body` asks a Responses model for reasoning items.
pub fn reasoning_on(body: &Value) -> bool {
    body["reasoning"].is_object()
}

fn without_cache_control(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| *k != "cache_control")
                .map(|(k, v)| (k.clone(), without_cache_control(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_cache_control).collect()),
        other => other.clone(),
    }
}

/// The signature of a thinking block with `text` after `messages` (the last one possibly
/// partial) in a request with `body`'s system prompt and tools.
pub fn signature(body: &Value, messages: &[Value], text: &str) -> String {
    let prefix = json!({"system": body["system"], "tools": body["tools"], "messages": messages});
    let mut hasher = blake3::Hasher::new();
    hasher.update(without_cache_control(&prefix).to_string().as_bytes());
    hasher.update(b"\0");
    hasher.update(text.as_bytes());
    format!("sig-{}", &hasher.finalize().to_hex()[..32])
}

/// A thinking block opening an answer to `body`.
pub fn thinking_block(body: &Value, text: &str) -> Value {
    let mut messages = body["messages"].as_array().cloned().unwrap_or_default();
    messages.push(json!({"role": "assistant", "content": []}));
    json!({"type": "thinking", "thinking": text, "signature": signature(body, &messages, text)})
}

fn anthropic_error(message: String) -> Response {
    let error = json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}});
    (http::StatusCode::BAD_REQUEST, axum::Json(error)).into_response()
}

/// The Anthropic API's refusal of `body`, if it has one.
pub fn anthropic_rejects(body: &Value) -> Option<Response> {
    if !thinking_on(body) {
        return None;
    }
    let messages = body["messages"].as_array()?;
    for (i, message) in messages.iter().enumerate() {
        let Some(blocks) = message["content"].as_array().filter(|_| message["role"] == "assistant") else {
            continue;
        };
        for (j, block) in blocks.iter().enumerate() {
            if block["type"] != "thinking" {
                continue;
            }
            let mut before = messages[..i].to_vec();
            before.push(json!({"role": "assistant", "content": blocks[..j]}));
            let text = block["thinking"].as_str().unwrap_or_default();
            if block["signature"].as_str() != Some(&signature(body, &before, text)) {
                return Some(anthropic_error(format!(
                    "messages.{i}.content.{j}: Invalid `signature` in `thinking` block: the block or what \
                     precedes it (system, tools, earlier messages and blocks) changed since it was produced"
                )));
            }
        }
    }
    let last = messages.last()?;
    let ends_on_results = last["role"] == "user"
        && last["content"].as_array().is_some_and(|c| c.iter().any(|b| b["type"] == "tool_result"));
    let i = messages.len().checked_sub(2)?;
    let first = &messages[i]["content"][0]["type"];
    if ends_on_results
        && messages[i]["role"] == "assistant"
        && first != "thinking"
        && first != "redacted_thinking"
    {
        return Some(anthropic_error(format!(
            "messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{}`. When \
             `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the \
             lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from \
             previous turns. To avoid this requirement, disable `thinking`. Please consult our documentation at \
             https://docs.anthropic.com/en/docs/build-with-claude/extended-thinking",
            first.as_str().unwrap_or_default()
        )));
    }
    None
}

/// A reasoning item that preceded `next` (an output item).
pub fn reasoning_item(id: &str, next: &Value) -> Value {
    let bound = match next["type"].as_str() {
        Some("function_call") => format!("function_call:{}", next["call_id"].as_str().unwrap_or_default()),
        other => other.unwrap_or_default().to_owned(),
    };
    json!({"type": "reasoning", "id": id, "summary": [{"type": "summary_text", "text": "Thinking it over."}],
           "encrypted_content": format!("enc:{bound}")})
}

/// The Responses API's refusal of `body`, if it has one.
pub fn responses_rejects(body: &Value) -> Option<Response> {
    let input = body["input"].as_array()?;
    for (k, item) in input.iter().enumerate() {
        if item["type"] != "reasoning" {
            continue;
        }
        let bound = item["encrypted_content"].as_str().unwrap_or_default().trim_start_matches("enc:");
        let follows = input.get(k + 1).is_some_and(|next| match bound.split_once(':') {
            Some(("function_call", call)) => next["type"] == "function_call" && next["call_id"] == call,
            _ => next["type"] == bound,
        });
        if !follows {
            let id = item["id"].as_str().unwrap_or_default();
            let error = json!({"error": {"message": format!(
                "Item '{id}' of type 'reasoning' was provided without its required following item."),
                "type": "invalid_request_error", "param": "input", "code": null}});
            return Some((http::StatusCode::BAD_REQUEST, axum::Json(error)).into_response());
        }
    }
    None
}

/// An Anthropic answer of `blocks`, JSON or streamed. `usage` is the message's; a stream
/// reports its input counts in `message_start` and, when `delta_repeats_input`, again in
/// `message_delta` (as newer API versions do).
pub fn anthropic(
    id: &str,
    blocks: &[Value],
    stop: &str,
    usage: &Value,
    stream: bool,
    delta_repeats_input: bool,
) -> Response {
    if !stream {
        return axum::Json(json!({"id": id, "type": "message", "role": "assistant", "model": "claude-mock",
            "content": blocks, "stop_reason": stop, "stop_sequence": null, "usage": usage}))
        .into_response();
    }
    let mut start_usage = usage.clone();
    start_usage["output_tokens"] = 1.into();
    let mut events = vec![(
        "message_start",
        json!({"type": "message_start", "message": {"id": id, "type": "message",
        "role": "assistant", "model": "claude-mock", "content": [], "stop_reason": null, "stop_sequence": null,
        "usage": start_usage}}),
    )];
    for (index, block) in blocks.iter().enumerate() {
        let (empty, deltas) = match block["type"].as_str() {
            Some("thinking") => (
                json!({"type": "thinking", "thinking": "", "signature": ""}),
                vec![
                    json!({"type": "thinking_delta", "thinking": block["thinking"]}),
                    json!({"type": "signature_delta", "signature": block["signature"]}),
                ],
            ),
            Some("tool_use") => {
                let mut empty = block.clone();
                empty["input"] = json!({});
                (empty, vec![json!({"type": "input_json_delta", "partial_json": block["input"].to_string()})])
            }
            _ => (
                json!({"type": "text", "text": ""}),
                vec![json!({"type": "text_delta", "text": block["text"]})],
            ),
        };
        events.push((
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": empty}),
        ));
        for delta in deltas {
            events.push((
                "content_block_delta",
                json!({"type": "content_block_delta", "index": index, "delta": delta}),
            ));
        }
        events.push(("content_block_stop", json!({"type": "content_block_stop", "index": index})));
    }
    let mut delta_usage = json!({"output_tokens": usage["output_tokens"]});
    if delta_repeats_input {
        for key in ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"] {
            delta_usage[key] = usage[key].clone();
        }
    }
    events.push((
        "message_delta",
        json!({"type": "message_delta",
        "delta": {"stop_reason": stop, "stop_sequence": null}, "usage": delta_usage}),
    ));
    events.push(("message_stop", json!({"type": "message_stop"})));
    sse(events.into_iter().map(|(name, data)| format!("event: {name}\ndata: {data}")).collect())
}

/// A Responses answer of `items`, JSON or streamed.
pub fn responses(id: &str, items: &[Value], usage: &Value, stream: bool) -> Response {
    let response = json!({"id": id, "object": "response", "created_at": 1, "status": "in_progress",
        "model": "gpt-mock", "output": []});
    let mut completed = response.clone();
    completed["status"] = "completed".into();
    completed["output"] = Value::Array(items.to_vec());
    completed["usage"] = usage.clone();
    if !stream {
        return axum::Json(completed).into_response();
    }
    let mut events = vec![json!({"type": "response.created", "response": response})];
    for (index, item) in items.iter().enumerate() {
        let mut added = item.clone();
        let item_id = item["id"].clone();
        let at = |mut v: Value| {
            v["output_index"] = index.into();
            v["item_id"] = item_id.clone();
            v
        };
        match item["type"].as_str() {
            Some("message") => {
                added["content"] = json!([]);
                let text = item["content"][0]["text"].clone();
                let part = json!({"type": "output_text", "text": "", "annotations": []});
                events.push(
                    json!({"type": "response.output_item.added", "output_index": index, "item": added}),
                );
                events.push(at(
                    json!({"type": "response.content_part.added", "content_index": 0, "part": part}),
                ));
                events.push(at(
                    json!({"type": "response.output_text.delta", "content_index": 0, "delta": text}),
                ));
                events
                    .push(at(json!({"type": "response.output_text.done", "content_index": 0, "text": text})));
                events.push(at(json!({"type": "response.content_part.done", "content_index": 0,
                    "part": item["content"][0]})));
            }
            Some("function_call") => {
                added["arguments"] = "".into();
                events.push(
                    json!({"type": "response.output_item.added", "output_index": index, "item": added}),
                );
                events.push(at(
                    json!({"type": "response.function_call_arguments.delta", "delta": item["arguments"]}),
                ));
            }
            _ => {
                added["summary"] = json!([]);
                events.push(
                    json!({"type": "response.output_item.added", "output_index": index, "item": added}),
                );
                events.push(at(json!({"type": "response.reasoning_summary_text.delta", "summary_index": 0,
                    "delta": item["summary"][0]["text"]})));
            }
        }
        events.push(json!({"type": "response.output_item.done", "output_index": index, "item": item}));
    }
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

/// Server-sent events, one chunk each.
pub fn sse(events: Vec<String>) -> Response {
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        events.into_iter().map(|e| Ok(Bytes::from(format!("{e}\n\n")))).collect();
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap_or_default()
}
