//! The token figure a message list reports: what `POST /v1/compress`, `headroom compress`
//! and the npm package's `compress()` all return as `tokens_before` / `tokens_after`.

use serde_json::Value;

use crate::tokens::TokenCounter;

/// Keys whose values carry a block's text (`input`: tool inputs; `thinking`: reasoning).
const TEXT_KEYS: &[&str] = &["text", "content", "input", "thinking"];

/// Responses item types whose text is in `output` rather than `content`.
const OUTPUT_ITEMS: &[&str] = &[
    "function_call_output",
    "custom_tool_call_output",
    "computer_call_output",
    "local_shell_call_output",
    "shell_call_output",
    "apply_patch_call_output",
];

/// o200k tokens of the messages' text: string contents, text-bearing blocks and Responses
/// tool outputs, each piece followed by a newline. Not what a provider bills (that adds
/// framing per message); a stable figure for before and after.
pub fn count(messages: &[Value], counter: &dyn TokenCounter) -> u64 {
    let mut text = String::new();
    for m in messages {
        if let Some(c) = m.get("content") {
            text_of(c, &mut text);
        }
        let output_item = m.get("type").and_then(Value::as_str).is_some_and(|t| OUTPUT_ITEMS.contains(&t));
        if output_item && let Some(out) = m.get("output") {
            text_of(out, &mut text);
        }
    }
    u64::from(counter.count(&text))
}

fn text_of(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(items) => items.iter().for_each(|i| text_of(i, out)),
        Value::Object(map) => {
            for key in TEXT_KEYS {
                if let Some(x) = map.get(*key) {
                    text_of(x, out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn words(text: &str) -> u32 {
        text.split_whitespace().count() as u32
    }

    #[test]
    fn responses_outputs_count_like_chat_contents() {
        let output = "one two three four";
        let responses = json!([{"type": "function_call_output", "call_id": "c", "output": output}]);
        let custom = json!([{"type": "custom_tool_call_output", "call_id": "c", "output": [{"type": "input_text", "text": output}]}]);
        let chat = json!([{"role": "tool", "tool_call_id": "c", "content": output}]);
        let n = count(chat.as_array().unwrap(), &words);
        assert_eq!(n, 4);
        assert_eq!(count(responses.as_array().unwrap(), &words), n);
        assert_eq!(count(custom.as_array().unwrap(), &words), n);
    }

    #[test]
    fn blocks_and_nested_contents() {
        let m = json!([{"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t", "content": [{"type": "text", "text": "a b"}]},
            {"type": "thinking", "thinking": "c", "signature": "not counted"},
            {"type": "tool_use", "id": "t", "name": "n", "input": {"cmd": "ignored"}}
        ]}]);
        assert_eq!(count(m.as_array().unwrap(), &words), 3);
    }
}
