//! OpenAI Responses: `function_call_output` / `custom_tool_call_output` items, command output
//! sent as user messages, and assistant messages. Reasoning items (with their encrypted
//! content) and call arguments are never blocks.

use super::raw::{self, Object};
use super::{Origin, State, Walk, plain_text};
use crate::Options;
use crate::error::CompressError;

const TEXT_PARTS: &[&str] = &["input_text", "output_text", "text"];

pub(super) const LIST: &str = "input";

/// Whether `input` is a list of items (`Ok(false)`: a plain string, nothing to compress).
pub(super) fn has_list(root: &Object<'_>) -> Result<bool, CompressError> {
    let input =
        root.get("input").ok_or_else(|| CompressError::MalformedRequest("missing field `input`".into()))?;
    if raw::is_str(input) {
        return Ok(false);
    }
    if !input.get().starts_with('[') {
        return Err(CompressError::MalformedRequest("`input` is not a string or an array".into()));
    }
    Ok(true)
}

/// The top-level field holding the instructions.
pub(super) const PREAMBLE: Option<&str> = Some("instructions");

/// The instructions, read before the input items.
pub(super) fn preamble(root: &Object<'_>, walk: &mut Walk<'_>) {
    walk.seen(None, plain_text(PREAMBLE.and_then(|f| root.get(f))));
}

pub(super) fn is_assistant(item: &Object<'_>) -> bool {
    matches!(item.str("type").as_deref(), Some("function_call" | "custom_tool_call"))
        || item.str("role").as_deref() == Some("assistant")
}

/// An output item clears, and an assistant message sets, what later items read of the ones
/// before them.
pub(super) fn resets(item: &Object<'_>) -> bool {
    match item.str("type").as_deref() {
        Some("function_call_output" | "custom_tool_call_output") => true,
        Some("message") | None => item.str("role").as_deref() == Some("assistant"),
        _ => false,
    }
}

pub(super) fn message<'a>(
    state: &mut State,
    i: usize,
    item: &Object<'a>,
    walk: &mut Walk<'a>,
    opts: &Options,
) {
    match item.str("type").as_deref() {
        Some("function_call" | "custom_tool_call") => {
            let id = item.str("call_id").unwrap_or_default().into_owned();
            let name = item.str("name").unwrap_or_default().into_owned();
            let args = item.str("arguments").or_else(|| item.str("input")).unwrap_or_default();
            state.previous_text.push_str(&args);
            state.previous_text.push('\n');
            walk.seen(Some(i), args.into_owned());
            let query = state.previous_text.clone();
            state.insert_call(id, name, &query);
        }
        Some("function_call_output" | "custom_tool_call_output") => {
            let id = item.str("call_id").unwrap_or_default();
            let (name, query) = state.call(&id);
            let protected = opts.is_protected_tool(&name);
            walk.texts(i, item.get("output"), TEXT_PARTS, &query, Origin::ToolOutput, protected);
            state.previous_text.clear();
        }
        Some("message") | None => match item.str("role").as_deref() {
            Some("assistant") => {
                walk.texts(i, item.get("content"), TEXT_PARTS, "", Origin::AssistantText, false);
                state.previous_text = plain_text(item.get("content"));
            }
            Some("user") => {
                walk.texts(i, item.get("content"), TEXT_PARTS, &state.previous_text, Origin::UserText, false)
            }
            _ => walk.seen(Some(i), plain_text(item.get("content"))),
        },
        _ => {}
    }
}
