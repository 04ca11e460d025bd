//! OpenAI Chat Completions: `tool` (and legacy `function`) messages, command output sent as
//! user text, and assistant content. `tool_calls` arguments are never blocks.

use super::raw::{self, Object};
use super::{Origin, State, Walk, plain_text};
use crate::Options;

const TEXT_PARTS: &[&str] = &["text"];

pub(super) const LIST: &str = "messages";

/// No top-level field holds a system prompt: system prompts are messages.
pub(super) const PREAMBLE: Option<&str> = None;

/// Nothing precedes the messages (system prompts are messages).
pub(super) fn preamble(_root: &Object<'_>, _walk: &mut Walk<'_>) {}

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
    let content = msg.get("content");
    match msg.str("role").as_deref() {
        Some("assistant") => {
            walk.texts(i, content, TEXT_PARTS, "", Origin::AssistantText, false);
            state.previous_text = plain_text(content);
            for call in msg.get("tool_calls").and_then(raw::array).unwrap_or_default() {
                let Some(obj) = Object::parse(call) else { continue };
                let id = obj.str("id").unwrap_or_default().into_owned();
                let function = obj.get("function").and_then(Object::parse);
                let name = function.as_ref().and_then(|f| f.str("name")).unwrap_or_default().into_owned();
                let args =
                    function.as_ref().and_then(|f| f.str("arguments")).unwrap_or_default().into_owned();
                let query = format!("{}{args}", state.previous_text);
                state.insert_call(id, name, &query);
                walk.seen(Some(i), args.clone());
                state.previous_text.push_str(&args);
                state.previous_text.push('\n');
            }
        }
        Some("tool") => {
            let id = msg.str("tool_call_id").unwrap_or_default();
            let (name, query) = state.call(&id);
            let protected = opts.is_protected_tool(&name);
            walk.texts(i, content, TEXT_PARTS, &query, Origin::ToolOutput, protected);
        }
        Some("function") => {
            let protected = opts.is_protected_tool(&msg.str("name").unwrap_or_default());
            walk.texts(i, content, TEXT_PARTS, &state.previous_text, Origin::ToolOutput, protected);
        }
        Some("user") => walk.texts(i, content, TEXT_PARTS, &state.previous_text, Origin::UserText, false),
        _ => walk.seen(Some(i), plain_text(content)),
    }
}
