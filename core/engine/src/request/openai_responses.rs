//! OpenAI Responses: `function_call_output` / `custom_tool_call_output` items, command output
//! sent as user messages, and assistant messages. Reasoning items (with their encrypted
//! content) and call arguments are never blocks.

use std::collections::BTreeMap;

use super::raw::{self, Object};
use super::{Origin, Segment, Walk, plain_text};
use crate::Options;
use crate::error::CompressError;

const TEXT_PARTS: &[&str] = &["input_text", "output_text", "text"];

pub(super) fn segments<'a>(root: &Object<'a>, opts: &Options) -> Result<Vec<Segment<'a>>, CompressError> {
    let input =
        root.get("input").ok_or_else(|| CompressError::MalformedRequest("missing field `input`".into()))?;
    if raw::as_str(input).is_some() {
        return Ok(Vec::new());
    }
    if raw::array(input).is_none() {
        return Err(CompressError::MalformedRequest("`input` is not a string or an array".into()));
    }
    let parsed = raw::object_list(root, "input")?;
    let is_assistant: Vec<bool> = parsed
        .iter()
        .map(|o| {
            matches!(o.str("type").as_deref(), Some("function_call" | "custom_tool_call"))
                || o.str("role").as_deref() == Some("assistant")
        })
        .collect();
    let mut walk = Walk::new(&is_assistant, opts);
    walk.seen(None, plain_text(root.get("instructions")));

    let mut calls: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut previous_text = String::new();
    for (i, item) in parsed.iter().enumerate() {
        match item.str("type").as_deref() {
            Some("function_call" | "custom_tool_call") => {
                let id = item.str("call_id").unwrap_or_default().into_owned();
                let name = item.str("name").unwrap_or_default().into_owned();
                let args = item.str("arguments").or_else(|| item.str("input")).unwrap_or_default();
                previous_text.push_str(&args);
                previous_text.push('\n');
                walk.seen(Some(i), args.into_owned());
                calls.insert(id, (name, previous_text.clone()));
            }
            Some("function_call_output" | "custom_tool_call_output") => {
                let id = item.str("call_id").unwrap_or_default();
                let (name, query) = calls.get(id.as_ref()).cloned().unwrap_or_default();
                let protected = opts.is_protected_tool(&name);
                walk.texts(i, item.get("output"), TEXT_PARTS, &query, Origin::ToolOutput, protected);
                previous_text.clear();
            }
            Some("message") | None => match item.str("role").as_deref() {
                Some("assistant") => {
                    walk.texts(i, item.get("content"), TEXT_PARTS, "", Origin::AssistantText, false);
                    previous_text = plain_text(item.get("content"));
                }
                Some("user") => {
                    walk.texts(i, item.get("content"), TEXT_PARTS, &previous_text, Origin::UserText, false)
                }
                _ => walk.seen(Some(i), plain_text(item.get("content"))),
            },
            _ => {}
        }
    }
    Ok(walk.out)
}
