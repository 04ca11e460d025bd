//! Whether a request's history holds tool or command output: the sign of an agent loop, in
//! which markers will come and the retrieval tool should arrive early.

use std::borrow::Cow;

use headroom_runtime::wit::Dialect;

use super::json::member_items;

/// Just the role and type of a message or input item, without parsing its content.
#[derive(serde::Deserialize)]
struct Kind<'a> {
    #[serde(borrow)]
    role: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "type")]
    kind: Option<Cow<'a, str>>,
}

/// True when one of the messages at `indices` (the blocks the engine looked at) is output a
/// tool or a command produced: a `tool` message, a tool result or command output inside a
/// `user` message (text a person typed is never looked at), or a Responses `*_output` item.
pub fn holds_output(dialect: Dialect, body: &[u8], indices: impl IntoIterator<Item = u32>) -> bool {
    let mut indices: Vec<u32> = indices.into_iter().collect();
    if indices.is_empty() {
        return false;
    }
    indices.sort_unstable();
    indices.dedup();
    let Ok(text) = std::str::from_utf8(body) else { return false };
    let list = if dialect == Dialect::OpenaiResponses { "input" } else { "messages" };
    let Some(items) = member_items(text, list) else { return false };
    indices.iter().filter_map(|&i| items.get(i as usize)).any(|raw| {
        serde_json::from_str::<Kind<'_>>(raw.get()).is_ok_and(|k| match k.role.as_deref() {
            Some(role) => matches!(role, "tool" | "user"),
            None => k.kind.as_deref().is_some_and(|t| t.ends_with("_output")),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_count_assistant_text_does_not() {
        let chat = br#"{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"long"},{"role":"tool","content":"x"}]}"#;
        assert!(holds_output(Dialect::OpenaiChat, chat, [2]));
        assert!(!holds_output(Dialect::OpenaiChat, chat, [1]));
        assert!(!holds_output(Dialect::OpenaiChat, chat, []));
        let responses = br#"{"input":[{"type":"function_call_output","call_id":"c","output":"x"}]}"#;
        assert!(holds_output(Dialect::OpenaiResponses, responses, [0]));
    }
}
