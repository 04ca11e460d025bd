//! The text of messages and bodies, the way the corpus's `build.py` reads it.

use serde_json::Value;

/// What a message puts before the model, for counting: text blocks, each tool call's name
/// and input JSON, each tool result's text. Block types, ids and keys are structure, not
/// content, so they are left out (the same on both sides of every comparison).
pub fn message_text(message: &Value) -> String {
    let content = &message["content"];
    if let Some(s) = content.as_str() {
        return s.to_owned();
    }
    let mut parts: Vec<String> = Vec::new();
    for block in content.as_array().map(Vec::as_slice).unwrap_or_default() {
        match block["type"].as_str() {
            Some("text") => parts.push(block["text"].as_str().unwrap_or_default().to_owned()),
            Some("tool_use") => {
                parts.push(format!("{}\n{}", block["name"].as_str().unwrap_or_default(), block["input"]));
            }
            Some("tool_result") => parts.push(result_parts(block).join("\n")),
            _ => {}
        }
    }
    parts.join("\n")
}

/// The text parts of a tool_result block: its string content, or each text part of an array.
pub fn result_parts(block: &Value) -> Vec<String> {
    match &block["content"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter(|x| x["type"] == "text")
            .map(|x| x["text"].as_str().unwrap_or_default().to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

/// Every string value under `v`, depth first in document order (keys are not values).
fn walk<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => out.push(s),
        Value::Array(items) => items.iter().for_each(|x| walk(x, out)),
        Value::Object(map) => map.values().for_each(|x| walk(x, out)),
        _ => {}
    }
}

/// `build.py`'s `forwarded_text`: the strings of `system` then of `messages`, decoded and
/// joined by newlines. A next ref is kept when it occurs verbatim in this text.
pub fn forwarded_text(body: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(system) = body.get("system") {
        walk(system, &mut parts);
    }
    if let Some(messages) = body.get("messages") {
        walk(messages, &mut parts);
    }
    parts.join("\n")
}

/// Every string of the whole body (tools, model and the rest too), joined by newlines.
pub fn all_text(body: &Value) -> String {
    let mut parts = Vec::new();
    walk(body, &mut parts);
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn forwarded_text_reads_system_and_messages_only() {
        let body = json!({"model": "m", "system": "sys", "tools": [{"name": "Read"}],
            "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                "content": "out\nput"}]}]});
        assert_eq!(forwarded_text(&body), "sys\nuser\ntool_result\nt1\nout\nput");
        assert!(all_text(&body).contains("Read"));
        assert!(!forwarded_text(&body).contains("Read"));
    }

    #[test]
    fn message_text_keeps_content_not_structure() {
        let m = json!({"role": "assistant", "content": [{"type": "text", "text": "hi"},
            {"type": "tool_use", "id": "x", "name": "Bash", "input": {"command": "ls"}}]});
        assert_eq!(message_text(&m), "hi\nBash\n{\"command\":\"ls\"}");
    }
}
