//! Retrieval for non-streaming responses: answer the calls, continue, and hand the client one
//! response holding everything the model said across the rounds (its own calls removed), with
//! the usage of every round added up.

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use headroom_runtime::wit::Dialect;
use serde_json::Value;

use super::continuation::next_body;
use super::turn::{Round, from_response, is_our_chat_call, is_ours, is_thinking, responses_shown};
use super::usage;
use super::{Exchange, MAX_ROUNDS};
use crate::errors::ProxyError;
use crate::upstream;

/// Resolve retrievals in `first` (the upstream's answer to `body`).
pub async fn respond(
    exchange: Exchange,
    mut body: Bytes,
    first: crate::upstream::Answer,
) -> Result<Response, ProxyError> {
    let mut upstream_response = first;
    let mut earlier: Vec<Value> = Vec::new();
    for round in 0..=MAX_ROUNDS {
        let head = upstream::relay_headers(&upstream_response);
        // What the check read is left: the client may get another body (the accounting reads
        // whichever it gets).
        let (bytes, _) =
            upstream::guard::read_json(upstream_response, exchange.state.config.stream_idle_timeout).await?;
        let Ok(mut response) = serde_json::from_slice::<Value>(&bytes) else {
            return head.body(Body::from(bytes)).map_err(|e| ProxyError::Unreachable(e.to_string()));
        };
        let Round { turn, calls, client_calls } = from_response(exchange.dialect, &response);
        if calls.is_empty() && earlier.is_empty() {
            // Nothing of the proxy's in the answer: relayed byte for byte.
            return head.body(Body::from(bytes)).map_err(|e| ProxyError::Unreachable(e.to_string()));
        }
        strip_ours(exchange.dialect, &mut response);
        if !(calls.is_empty() || client_calls || round == MAX_ROUNDS) {
            let answers = exchange.answers(calls.iter().map(|c| c.key.clone()).collect()).await;
            // `body` is the proxy's own JSON text: always UTF-8.
            if let Ok(text) = std::str::from_utf8(&body)
                && let Ok(next) = next_body(text, &turn, &calls, &answers).map(Bytes::from)
                && let Ok(continued) = exchange.send(next.clone()).await
                && continued.status().is_success()
            {
                body = next;
                earlier.push(response);
                upstream_response = continued;
                continue;
            }
            // The continuation failed: the client still gets what the model said (without the
            // proxy's calls) for a request that succeeded, never an error of the proxy's own.
        }
        merge(exchange.dialect, &mut response, &earlier);
        return head
            .body(Body::from(response.to_string()))
            .map_err(|e| ProxyError::Unreachable(e.to_string()));
    }
    unreachable!("the last round always returns")
}

/// Remove the proxy's own calls from a response, fixing the stop reason when none are left.
fn strip_ours(dialect: Dialect, response: &mut Value) {
    match dialect {
        Dialect::AnthropicMessages => {
            if let Some(content) = response["content"].as_array_mut() {
                // Thinking after one of the proxy's calls was signed with the call before it.
                let mut after_ours = false;
                content.retain(|b| {
                    after_ours |= is_ours(b);
                    !(is_ours(b) || (after_ours && is_thinking(b)))
                });
                if response["stop_reason"] == "tool_use"
                    && !response["content"]
                        .as_array()
                        .is_some_and(|c| c.iter().any(|b| b["type"] == "tool_use"))
                {
                    response["stop_reason"] = "end_turn".into();
                }
            }
        }
        Dialect::OpenaiChat => {
            let Some(choice) = response.pointer_mut("/choices/0").and_then(Value::as_object_mut) else {
                return;
            };
            let Some(message) = choice.get_mut("message").and_then(Value::as_object_mut) else { return };
            let Some(calls) = message.get_mut("tool_calls").and_then(Value::as_array_mut) else { return };
            calls.retain(|c| !is_our_chat_call(c));
            if calls.is_empty() {
                message.remove("tool_calls");
                if choice.get("finish_reason").is_some_and(|f| f == "tool_calls") {
                    choice.insert("finish_reason".into(), "stop".into());
                }
            }
        }
        Dialect::OpenaiResponses => {
            if let Some(output) = response["output"].as_array_mut() {
                *output = responses_shown(output);
            }
        }
    }
}

/// Put what the model said in earlier rounds in front of the final answer, and add up usage.
fn merge(dialect: Dialect, last: &mut Value, earlier: &[Value]) {
    if earlier.is_empty() || !last.is_object() {
        return;
    }
    let list = match dialect {
        Dialect::AnthropicMessages => "content",
        Dialect::OpenaiResponses => "output",
        Dialect::OpenaiChat => "",
    };
    // Every count of every round, cache and reasoning details included.
    if last["usage"].is_object() {
        let mut total = serde_json::Value::Object(serde_json::Map::new());
        for r in earlier.iter().chain(std::iter::once(&*last)) {
            usage::add(&mut total, &r["usage"]);
        }
        last["usage"] = total;
    }
    if dialect == Dialect::OpenaiChat {
        let text: String = earlier
            .iter()
            .chain(std::iter::once(&*last))
            .filter_map(|r| r["choices"][0]["message"]["content"].as_str())
            .collect();
        if let (false, Some(message)) =
            (text.is_empty(), last.pointer_mut("/choices/0/message").and_then(Value::as_object_mut))
        {
            message.insert("content".into(), text.into());
        }
        return;
    }
    // A continuation's thinking is signed over a prefix holding the proxy's call and answer,
    // which the client never resends: only the first round's goes to the client (D28).
    let rounds = earlier.iter().chain(std::iter::once(&*last));
    let items: Vec<Value> = rounds
        .enumerate()
        .flat_map(|(round, r)| {
            let blocks = r[list].as_array().cloned().unwrap_or_default();
            blocks
                .into_iter()
                .filter(move |b| round == 0 || dialect != Dialect::AnthropicMessages || !is_thinking(b))
        })
        .collect();
    last[list] = Value::Array(items);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retrieval::turn::Turn;
    use serde_json::json;

    #[test]
    fn merges_rounds_and_sums_usage() {
        let mut first = json!({"content": [{"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "t", "name": "headroom_retrieve", "input": {}}],
            "stop_reason": "tool_use", "usage": {"input_tokens": 10, "output_tokens": 3}});
        strip_ours(Dialect::AnthropicMessages, &mut first);
        assert_eq!(first["stop_reason"], "end_turn");
        let mut last = json!({"content": [{"type": "text", "text": "Found it."}],
            "stop_reason": "end_turn", "usage": {"input_tokens": 30, "output_tokens": 4}});
        merge(Dialect::AnthropicMessages, &mut last, &[first]);
        assert_eq!(last["content"].as_array().unwrap().len(), 2);
        assert_eq!(last["usage"]["input_tokens"], 40);
        assert_eq!(last["usage"]["output_tokens"], 7);
    }

    #[test]
    fn thinking_the_client_could_not_resend_is_withheld() {
        let think = |t: &str| json!({"type": "thinking", "thinking": t, "signature": t});
        let ours = json!({"type": "tool_use", "id": "r", "name": "headroom_retrieve", "input": {}});
        let bash = json!({"type": "tool_use", "id": "b", "name": "bash", "input": {}});
        // Interleaved: thinking after our call was signed with the call before it.
        let mut first =
            json!({"content": [think("a"), ours, think("b"), bash.clone()], "stop_reason": "tool_use"});
        strip_ours(Dialect::AnthropicMessages, &mut first);
        assert_eq!(first["content"], json!([think("a"), bash.clone()]));
        // A continuation's thinking never reaches the client.
        let mut last = json!({"content": [think("c"), {"type": "text", "text": "done"}], "usage": {}});
        merge(Dialect::AnthropicMessages, &mut last, &[first]);
        assert_eq!(last["content"], json!([think("a"), bash, {"type": "text", "text": "done"}]));
    }

    #[test]
    fn keeps_turn_variants_distinct() {
        assert!(matches!(from_response(Dialect::OpenaiResponses, &json!({})).turn, Turn::Responses(_)));
    }
}
