//! Which dialect a bare list of messages is in, read from its shape.
//!
//! Plain `{role, content}` messages and `text` blocks read the same in every dialect, so the
//! rule looks for what only one dialect has: Anthropic-only blocks, Responses-only items and
//! content parts, Chat-only roles, fields and parts.

use serde_json::Value;

use crate::request::Dialect;

/// Content block types only Anthropic messages have (Chat has `image_url`, Responses
/// `input_image`).
const ANTHROPIC_BLOCKS: &[&str] = &[
    "tool_result",
    "tool_use",
    "thinking",
    "redacted_thinking",
    "image",
    "document",
    "search_result",
    "server_tool_use",
    "web_search_tool_result",
    "web_fetch_tool_result",
    "code_execution_tool_result",
    "bash_code_execution_tool_result",
    "text_editor_code_execution_tool_result",
    "mcp_tool_use",
    "mcp_tool_result",
    "container_upload",
];

/// Item types only Responses `input` has (`message` included: Chat and Anthropic messages
/// carry no `type`).
const RESPONSES_ITEMS: &[&str] = &[
    "message",
    "function_call",
    "function_call_output",
    "custom_tool_call",
    "custom_tool_call_output",
    "reasoning",
    "item_reference",
    "computer_call",
    "computer_call_output",
    "local_shell_call",
    "local_shell_call_output",
    "shell_call",
    "shell_call_output",
    "apply_patch_call",
    "apply_patch_call_output",
    "web_search_call",
    "file_search_call",
    "image_generation_call",
    "code_interpreter_call",
    "mcp_call",
    "mcp_list_tools",
    "mcp_approval_request",
    "mcp_approval_response",
];

/// Content part types only Responses messages have.
const RESPONSES_PARTS: &[&str] = &["input_text", "output_text", "input_image", "input_file"];

/// Content part types only Chat messages have.
const CHAT_PARTS: &[&str] = &["image_url", "file"];

/// Roles Anthropic messages never have (its system prompt is a top-level field).
const CHAT_ROLES: &[&str] = &["tool", "function", "system", "developer"];

/// The dialect of `messages`. Anthropic if a message has an Anthropic-only block; Responses if
/// an item is a Responses-only item or has Responses-only content parts (the first such
/// message decides); otherwise Chat, unless the caller has an Anthropic-style `system` prompt
/// (`has_system`) and nothing is Chat-only (`tool`/`system` roles, `tool_calls`, `image_url`
/// parts). Callers that know the dialect state it instead.
pub fn sniff(messages: &[Value], has_system: bool) -> Dialect {
    let mut chat = false;
    for m in messages {
        let Some(obj) = m.as_object() else { continue };
        let role = obj.get("role").and_then(Value::as_str);
        if role.is_some_and(|r| CHAT_ROLES.contains(&r)) || obj.contains_key("tool_calls") {
            chat = true;
        }
        let mut responses =
            obj.get("type").and_then(Value::as_str).is_some_and(|t| RESPONSES_ITEMS.contains(&t));
        if let Some(blocks) = obj.get("content").and_then(Value::as_array) {
            for t in blocks.iter().filter_map(|b| b.get("type").and_then(Value::as_str)) {
                // An Anthropic API response pushed as it is has `type: "message"` too: its
                // blocks decide.
                if ANTHROPIC_BLOCKS.contains(&t) {
                    return Dialect::AnthropicMessages;
                }
                responses |= RESPONSES_PARTS.contains(&t);
                chat |= CHAT_PARTS.contains(&t);
            }
        }
        if responses {
            return Dialect::OpenAiResponses;
        }
    }
    if has_system && !chat { Dialect::AnthropicMessages } else { Dialect::OpenAiChat }
}

/// The dialect of a whole request body: Responses when it has `input` and no `messages`,
/// otherwise its `messages` sniffed (with its `system` field as the hint); `None` for a
/// body that is neither (not JSON, not an object, no message list).
pub fn sniff_body(body: &[u8]) -> Option<Dialect> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let obj = value.as_object()?;
    if obj.contains_key("input") && !obj.contains_key("messages") {
        return Some(Dialect::OpenAiResponses);
    }
    let messages = obj.get("messages")?.as_array()?;
    Some(sniff(messages, obj.contains_key("system")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn of(v: Value) -> Dialect {
        sniff(v.as_array().map(Vec::as_slice).unwrap_or_default(), false)
    }

    #[test]
    fn each_dialect_by_what_only_it_has() {
        assert_eq!(of(json!([{"role": "user", "content": "hi"}])), Dialect::OpenAiChat);
        assert_eq!(
            of(
                json!([{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "x"}]}])
            ),
            Dialect::AnthropicMessages
        );
        assert_eq!(
            of(json!([{"role": "user", "content": [{"type": "image", "source": {"type": "base64"}}]}])),
            Dialect::AnthropicMessages
        );
        assert_eq!(
            of(json!([{"type": "custom_tool_call_output", "call_id": "c", "output": "x"}])),
            Dialect::OpenAiResponses
        );
        assert_eq!(
            of(json!([{"role": "user", "content": [{"type": "input_text", "text": "hi"}]}])),
            Dialect::OpenAiResponses
        );
        // An Anthropic response pushed as it is: `type: message`, Anthropic blocks.
        assert_eq!(
            of(
                json!([{"type": "message", "role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "x", "input": {}}]}])
            ),
            Dialect::AnthropicMessages
        );
    }

    #[test]
    fn a_system_prompt_means_anthropic_unless_something_is_chat_only() {
        let plain = json!([{"role": "user", "content": "hi"}]);
        assert_eq!(sniff(plain.as_array().unwrap(), true), Dialect::AnthropicMessages);
        let tool = json!([{"role": "tool", "tool_call_id": "c", "content": "x"}]);
        assert_eq!(sniff(tool.as_array().unwrap(), true), Dialect::OpenAiChat);
        let sys = json!([{"role": "system", "content": "be terse"}]);
        assert_eq!(sniff(sys.as_array().unwrap(), true), Dialect::OpenAiChat);
    }

    #[test]
    fn bodies() {
        assert_eq!(sniff_body(br#"{"model":"m","input":"hi"}"#), Some(Dialect::OpenAiResponses));
        assert_eq!(sniff_body(br#"{"system":"s","messages":[]}"#), Some(Dialect::AnthropicMessages));
        assert_eq!(sniff_body(br#"{"messages":[]}"#), Some(Dialect::OpenAiChat));
        assert_eq!(sniff_body(b"plain text"), None);
        assert_eq!(sniff_body(br#"{"text":"x"}"#), None);
    }
}
