//! OpenAI Chat Completions: `tool` (and legacy `function`) messages, command output sent as
//! user text, and assistant content. `tool_calls` arguments are never blocks.

use std::collections::BTreeMap;

use super::raw::{self, Object};
use super::{Origin, Segment, Walk, plain_text};
use crate::Options;
use crate::error::CompressError;

const TEXT_PARTS: &[&str] = &["text"];

pub(super) fn segments<'a>(root: &Object<'a>, opts: &Options) -> Result<Vec<Segment<'a>>, CompressError> {
    let parsed = raw::object_list(root, "messages")?;
    let is_assistant: Vec<bool> =
        parsed.iter().map(|m| m.str("role").as_deref() == Some("assistant")).collect();
    let mut walk = Walk::new(&is_assistant, opts);

    let mut calls: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut previous_text = String::new();
    for (i, msg) in parsed.iter().enumerate() {
        let content = msg.get("content");
        match msg.str("role").as_deref() {
            Some("assistant") => {
                walk.texts(i, content, TEXT_PARTS, "", Origin::AssistantText, false);
                previous_text = plain_text(content);
                for call in msg.get("tool_calls").and_then(raw::array).unwrap_or_default() {
                    let Some(obj) = Object::parse(call) else { continue };
                    let id = obj.str("id").unwrap_or_default().into_owned();
                    let function = obj.get("function").and_then(Object::parse);
                    let name = function.as_ref().and_then(|f| f.str("name")).unwrap_or_default().into_owned();
                    let args =
                        function.as_ref().and_then(|f| f.str("arguments")).unwrap_or_default().into_owned();
                    calls.insert(id, (name, format!("{previous_text}{args}")));
                    walk.seen(Some(i), args.clone());
                    previous_text.push_str(&args);
                    previous_text.push('\n');
                }
            }
            Some("tool") => {
                let id = msg.str("tool_call_id").unwrap_or_default();
                let (name, query) = calls.get(id.as_ref()).cloned().unwrap_or_default();
                let protected = opts.is_protected_tool(&name);
                walk.texts(i, content, TEXT_PARTS, &query, Origin::ToolOutput, protected);
            }
            Some("function") => {
                let protected = opts.is_protected_tool(&msg.str("name").unwrap_or_default());
                walk.texts(i, content, TEXT_PARTS, &previous_text, Origin::ToolOutput, protected);
            }
            Some("user") => walk.texts(i, content, TEXT_PARTS, &previous_text, Origin::UserText, false),
            _ => walk.seen(Some(i), plain_text(content)),
        }
    }
    Ok(walk.out)
}
