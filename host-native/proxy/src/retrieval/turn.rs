//! What the model said in one round, in each dialect's terms: the assistant turn to replay in
//! a continuation, and the `headroom_retrieve` calls in it.

use serde_json::{Value, json};

use super::tool::NAME;

/// One `headroom_retrieve` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The provider's call id (`tool_use_id` / `tool_call_id` / `call_id`).
    pub id: String,
    /// The key asked for, normalised to the `h:` form.
    pub key: String,
}

impl Call {
    /// A call from its id and the tool input (`{"hash": ...}`); a missing hash asks for "".
    pub fn new(id: &str, input: &Value) -> Self {
        let raw = input["hash"].as_str().unwrap_or_default().trim();
        let key = if raw.starts_with("h:") || raw.is_empty() { raw.to_owned() } else { format!("h:{raw}") };
        Self { id: id.to_owned(), key }
    }

    /// A call whose input arrives as a JSON text (OpenAI arguments).
    pub fn from_arguments(id: &str, arguments: &str) -> Self {
        Self::new(id, &serde_json::from_str(arguments).unwrap_or(Value::Null))
    }
}

/// The assistant's turn, as the continuation must replay it.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    /// Anthropic content blocks (thinking, text, tool_use), all of them.
    Anthropic(Vec<Value>),
    /// OpenAI chat: the text (if any) and every tool call.
    Chat {
        /// Text content.
        content: Option<String>,
        /// `tool_calls` entries.
        tool_calls: Vec<Value>,
    },
    /// OpenAI Responses output items, all of them.
    Responses(Vec<Value>),
}

/// A round's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    /// The turn to replay.
    pub turn: Turn,
    /// Retrieval calls in it.
    pub calls: Vec<Call>,
    /// The model also called the client's own tools: the client must answer those, so the
    /// proxy does not continue (and hides its own calls from the client).
    pub client_calls: bool,
}

/// True for an Anthropic `tool_use` block or a Responses `function_call` item of ours.
pub fn is_ours(item: &Value) -> bool {
    matches!(item["type"].as_str(), Some("tool_use" | "function_call")) && item["name"] == NAME
}

/// True for an Anthropic `thinking` or `redacted_thinking` block.
pub fn is_thinking(block: &Value) -> bool {
    matches!(block["type"].as_str(), Some("thinking" | "redacted_thinking"))
}

/// Responses output `items` as the client may hold them: without the proxy's calls, nor a
/// reasoning item whose following item was one of them (a reasoning item resent without the
/// item it preceded is refused by the provider).
pub fn responses_shown(items: &[Value]) -> Vec<Value> {
    let mut kept: Vec<Value> = Vec::with_capacity(items.len());
    let mut next_dropped = false;
    for item in items.iter().rev() {
        let drop = is_ours(item) || (next_dropped && item["type"] == "reasoning");
        if !drop {
            kept.push(item.clone());
        }
        next_dropped = drop;
    }
    kept.reverse();
    kept
}

/// Responses call items the provider runs itself: they need nothing from the client.
const SERVER_CALLS: &[&str] =
    &["web_search_call", "file_search_call", "code_interpreter_call", "image_generation_call", "mcp_call"];

/// True for a call the client must answer: an Anthropic `tool_use` or any Responses `*_call`
/// item (functions, custom tools, local shell, computer use) that is not ours and not run by
/// the provider.
pub fn is_client_call(item: &Value) -> bool {
    let kind = item["type"].as_str().unwrap_or_default();
    let call = kind == "tool_use" || (kind.ends_with("_call") && !SERVER_CALLS.contains(&kind));
    call && !is_ours(item)
}

/// True for a chat `tool_calls` entry of ours.
pub fn is_our_chat_call(call: &Value) -> bool {
    call["function"]["name"] == NAME
}

/// Read the round out of a complete (non-streaming) response.
pub fn from_response(dialect: headroom_runtime::wit::Dialect, response: &Value) -> Round {
    use headroom_runtime::wit::Dialect;
    match dialect {
        Dialect::AnthropicMessages => {
            let blocks = response["content"].as_array().cloned().unwrap_or_default();
            from_items(blocks, "tool_use", Turn::Anthropic)
        }
        Dialect::OpenaiResponses => {
            let items = response["output"].as_array().cloned().unwrap_or_default();
            from_items(items, "function_call", Turn::Responses)
        }
        Dialect::OpenaiChat => {
            let message = &response["choices"][0]["message"];
            let tool_calls = message["tool_calls"].as_array().cloned().unwrap_or_default();
            let calls = tool_calls
                .iter()
                .filter(|c| is_our_chat_call(c))
                .map(|c| {
                    Call::from_arguments(
                        c["id"].as_str().unwrap_or_default(),
                        c["function"]["arguments"].as_str().unwrap_or("{}"),
                    )
                })
                .collect::<Vec<_>>();
            let client_calls = tool_calls.len() > calls.len();
            let content = message["content"].as_str().map(str::to_owned);
            Round { turn: Turn::Chat { content, tool_calls }, calls, client_calls }
        }
    }
}

fn from_items(items: Vec<Value>, call_type: &str, wrap: fn(Vec<Value>) -> Turn) -> Round {
    let mut calls = Vec::new();
    let mut client_calls = false;
    for item in &items {
        if is_ours(item) {
            let id = item["id"].as_str().filter(|_| call_type == "tool_use");
            let id = id.or_else(|| item["call_id"].as_str()).unwrap_or_default();
            calls.push(match &item["input"] {
                Value::Null => Call::from_arguments(id, item["arguments"].as_str().unwrap_or("{}")),
                input => Call::new(id, input),
            });
        } else if is_client_call(item) {
            client_calls = true;
        }
    }
    Round { turn: wrap(items), calls, client_calls }
}

/// The chat assistant message replaying `turn`.
pub fn chat_message(content: &Option<String>, tool_calls: &[Value]) -> Value {
    json!({"role": "assistant", "content": content, "tool_calls": tool_calls})
}

#[cfg(test)]
mod tests {
    use super::*;
    use headroom_runtime::wit::Dialect;

    #[test]
    fn reads_calls_in_every_dialect() {
        let a = json!({"content": [{"type": "text", "text": "x"},
            {"type": "tool_use", "id": "tu_1", "name": NAME, "input": {"hash": "abc"}}]});
        let r = from_response(Dialect::AnthropicMessages, &a);
        assert_eq!(r.calls, vec![Call { id: "tu_1".into(), key: "h:abc".into() }]);
        assert!(!r.client_calls);
        let c = json!({"choices": [{"message": {"content": null, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": NAME, "arguments": "{\"hash\":\"h:1\"}"}},
            {"id": "c2", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]}}]});
        let r = from_response(Dialect::OpenaiChat, &c);
        assert_eq!(r.calls[0].key, "h:1");
        assert!(r.client_calls);
        let o = json!({"output": [{"type": "function_call", "id": "fc_1", "call_id": "call_9", "name": NAME,
            "arguments": "{\"hash\":\"h:2\"}"}]});
        let r = from_response(Dialect::OpenaiResponses, &o);
        assert_eq!(r.calls, vec![Call { id: "call_9".into(), key: "h:2".into() }]);
        assert!(!r.client_calls);
        let mut with_patch = o.clone();
        with_patch["output"]
            .as_array_mut()
            .unwrap()
            .push(json!({"type": "custom_tool_call", "name": "apply_patch"}));
        assert!(from_response(Dialect::OpenaiResponses, &with_patch).client_calls);
        let reasoned = json!([{"type": "reasoning", "id": "rs_1"}, {"type": "function_call", "name": NAME},
            {"type": "reasoning", "id": "rs_2"}, {"type": "message", "id": "m"}]);
        let shown = responses_shown(reasoned.as_array().unwrap());
        assert_eq!(shown, vec![reasoned[2].clone(), reasoned[3].clone()]);
        let mut with_search = o;
        with_search["output"].as_array_mut().unwrap().push(json!({"type": "web_search_call", "id": "ws"}));
        assert!(!from_response(Dialect::OpenaiResponses, &with_search).client_calls);
    }
}
