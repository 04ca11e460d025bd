//! Anthropic Messages: tool_result contents, command output sent as user text, and assistant
//! text blocks. Thinking and redacted_thinking blocks (signed) and tool_use inputs are never
//! blocks.

use std::collections::BTreeMap;

use super::raw::{self, Object};
use super::{Origin, Segment, Walk, plain_text};
use crate::Options;
use crate::error::CompressError;

pub(super) fn segments<'a>(root: &Object<'a>, opts: &Options) -> Result<Vec<Segment<'a>>, CompressError> {
    let parsed = raw::object_list(root, "messages")?;
    let is_assistant: Vec<bool> =
        parsed.iter().map(|m| m.str("role").as_deref() == Some("assistant")).collect();
    let mut walk = Walk::new(&is_assistant, opts);
    walk.seen(None, plain_text(root.get("system")));

    // tool_use id -> (tool name, the call's text: assistant prose + tool input)
    let mut calls: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut previous_text = String::new();
    for (i, msg) in parsed.iter().enumerate() {
        let Some(content) = msg.get("content") else { continue };
        match msg.str("role").as_deref() {
            Some("assistant") => {
                walk.texts(i, Some(content), &["text"], "", Origin::AssistantText, false);
                previous_text = record_calls(content, &mut calls);
                walk.seen(Some(i), previous_text.clone());
            }
            Some("user") => {
                if raw::as_str(content).is_some() {
                    walk.block(i, 0, content, &previous_text, Origin::UserText, false);
                    continue;
                }
                for (b, block) in raw::array(content).unwrap_or_default().into_iter().enumerate() {
                    let Some(obj) = Object::parse(block) else { continue };
                    match obj.str("type").as_deref() {
                        Some("tool_result") => {
                            let id = obj.str("tool_use_id").unwrap_or_default();
                            let (name, query) = calls.get(id.as_ref()).cloned().unwrap_or_default();
                            let protected = opts.is_protected_tool(&name);
                            let inner = obj.get("content");
                            if inner.is_some_and(|c| raw::as_str(c).is_some()) {
                                if let Some(inner) = inner {
                                    walk.block(i, b, inner, &query, Origin::ToolOutput, protected);
                                }
                            } else {
                                walk.texts(i, inner, &["text"], &query, Origin::ToolOutput, protected);
                            }
                        }
                        Some("text") => {
                            if let Some(text) = obj.get("text") {
                                walk.block(i, b, text, &previous_text, Origin::UserText, false);
                            }
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(walk.out)
}

/// Record each tool_use of an assistant turn by id; returns the turn's text and tool inputs,
/// the relevance hint for what answers it.
fn record_calls(content: raw::Raw<'_>, calls: &mut BTreeMap<String, (String, String)>) -> String {
    if let Some(s) = raw::as_str(content) {
        return s.into_owned();
    }
    let mut text = String::new();
    for block in raw::array(content).unwrap_or_default() {
        let Some(obj) = Object::parse(block) else { continue };
        match obj.str("type").as_deref() {
            Some("text") => {
                if let Some(t) = obj.str("text") {
                    text.push_str(&t);
                    text.push('\n');
                }
            }
            Some("tool_use") => {
                let name = obj.str("name").unwrap_or_default().into_owned();
                let input = obj.get("input").map(|r| r.get()).unwrap_or_default();
                let id = obj.str("id").unwrap_or_default().into_owned();
                calls.insert(id, (name, format!("{text}{input}")));
                text.push_str(input);
                text.push('\n');
            }
            _ => {}
        }
    }
    text
}
