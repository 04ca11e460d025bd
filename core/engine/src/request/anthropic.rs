//! Anthropic Messages: tool_result contents, command output sent as user text, and assistant
//! text blocks. Thinking and redacted_thinking blocks (signed) and tool_use inputs are never
//! blocks.

use super::raw::{self, Object, Raw};
use super::{Origin, State, Walk, plain_text};
use crate::Options;

pub(super) const LIST: &str = "messages";

/// The top-level field holding the system prompt.
pub(super) const PREAMBLE: Option<&str> = Some("system");

/// The system prompt, read before the messages.
pub(super) fn preamble(root: &Object<'_>, walk: &mut Walk<'_>) {
    walk.seen(None, plain_text(PREAMBLE.and_then(|f| root.get(f))));
}

pub(super) fn is_assistant(msg: &Object<'_>) -> bool {
    msg.str("role").as_deref() == Some("assistant")
}

/// An assistant turn sets everything later messages read of the ones before it.
pub(super) fn resets(msg: &Object<'_>) -> bool {
    is_assistant(msg)
}

pub(super) fn message<'a>(
    state: &mut State,
    i: usize,
    msg: &Object<'a>,
    walk: &mut Walk<'a>,
    opts: &Options,
) {
    let Some(content) = msg.get("content") else { return };
    match msg.str("role").as_deref() {
        Some("assistant") => {
            walk.texts(i, Some(content), &["text"], "", Origin::AssistantText, false);
            state.previous_text = record_calls(content, state);
            walk.seen(Some(i), state.previous_text.clone());
        }
        Some("user") => {
            if raw::is_str(content) {
                walk.block(i, 0, content, &state.previous_text, Origin::UserText, false);
                return;
            }
            for (b, block) in raw::array(content).unwrap_or_default().into_iter().enumerate() {
                let Some(obj) = Object::parse(block) else { continue };
                match obj.str("type").as_deref() {
                    Some("tool_result") => {
                        let id = obj.str("tool_use_id").unwrap_or_default();
                        let (name, query) = state.call(&id);
                        let protected = opts.is_protected_tool(&name);
                        let inner = obj.get("content");
                        if inner.is_some_and(raw::is_str) {
                            if let Some(inner) = inner {
                                walk.block(i, b, inner, &query, Origin::ToolOutput, protected);
                            }
                        } else {
                            walk.texts(i, inner, &["text"], &query, Origin::ToolOutput, protected);
                        }
                    }
                    Some("text") => {
                        if let Some(text) = obj.get("text") {
                            walk.block(i, b, text, &state.previous_text, Origin::UserText, false);
                        }
                    }
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

/// Record each tool_use of an assistant turn by id; returns the turn's text and tool inputs,
/// the relevance hint for what answers it.
fn record_calls(content: Raw<'_>, state: &mut State) -> String {
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
                state.insert_call(id, name, &format!("{text}{input}"));
                text.push_str(input);
                text.push('\n');
            }
            _ => {}
        }
    }
    text
}
