//! OpenAI Responses: `function_call_output` / `custom_tool_call_output` items, and command
//! output sent as user messages. Reasoning items (with their encrypted content) are never
//! candidates.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use super::raw::{self, Object};
use super::{Candidate, ages, clip_query};
use crate::Options;
use crate::error::CompressError;

pub(super) fn candidates<'a>(
    root: &Object<'a>,
    opts: &Options,
) -> Result<Vec<Candidate<'a>>, CompressError> {
    let Some(input) = root.get("input") else {
        return Err(CompressError::MalformedRequest(
            "missing field `input`".into(),
        ));
    };
    if raw::as_str(input).is_some() {
        return Ok(Vec::new());
    }
    let items = raw::array(input).ok_or_else(|| {
        CompressError::MalformedRequest("`input` is not a string or an array".into())
    })?;
    let parsed: Vec<Object<'a>> = items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            Object::parse(m).ok_or_else(|| {
                CompressError::MalformedRequest(format!("input[{i}] is not an object"))
            })
        })
        .collect::<Result<_, _>>()?;
    let is_assistant: Vec<bool> = parsed
        .iter()
        .map(|o| {
            matches!(
                o.str("type").as_deref(),
                Some("function_call") | Some("custom_tool_call")
            ) || o.str("role").as_deref() == Some("assistant")
        })
        .collect();
    let ages = ages(&is_assistant);

    let mut out = Vec::new();
    let mut calls: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut previous_text = String::new();
    for (i, item) in parsed.iter().enumerate() {
        let frozen = (i as u32) < opts.frozen_count;
        let kind = item.str("type");
        match kind.as_deref() {
            Some("function_call") | Some("custom_tool_call") => {
                let id = item.str("call_id").unwrap_or_default().into_owned();
                let name = item.str("name").unwrap_or_default().into_owned();
                let args = item
                    .str("arguments")
                    .or_else(|| item.str("input"))
                    .unwrap_or_default();
                let query = format!("{previous_text}{args}");
                previous_text = query.clone();
                calls.insert(id, (name, query));
            }
            Some("function_call_output") | Some("custom_tool_call_output") => {
                let id = item.str("call_id").unwrap_or_default();
                let (name, query) = calls.get(id.as_ref()).cloned().unwrap_or_default();
                let protected = frozen || opts.is_protected_tool(&name);
                push_texts(
                    &mut out,
                    i,
                    item.get("output"),
                    &query,
                    ages[i],
                    protected,
                    false,
                    "output_text",
                );
            }
            Some("message") | None => match item.str("role").as_deref() {
                Some("assistant") => {
                    previous_text = message_text(item);
                }
                Some("user") => push_texts(
                    &mut out,
                    i,
                    item.get("content"),
                    &previous_text,
                    ages[i],
                    frozen,
                    true,
                    "input_text",
                ),
                _ => {}
            },
            _ => {}
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn push_texts<'a>(
    out: &mut Vec<Candidate<'a>>,
    i: usize,
    content: Option<&'a RawValue>,
    query: &str,
    age: u32,
    protected: bool,
    machine_output: bool,
    part_type: &str,
) {
    let Some(content) = content else { return };
    let mut push = |b: usize, raw: &'a RawValue| {
        out.push(Candidate {
            message_index: i as u32,
            block_index: b as u32,
            raw,
            query: clip_query(query.to_owned()),
            age,
            protected,
            machine_output,
        })
    };
    if raw::as_str(content).is_some() {
        push(0, content);
        return;
    }
    for (b, part) in raw::array(content)
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let Some(obj) = Object::parse(part) else {
            continue;
        };
        let t = obj.str("type");
        if (t.as_deref() == Some(part_type)
            || t.as_deref() == Some("text")
            || t.as_deref() == Some("input_text"))
            && let Some(text) = obj.get("text")
        {
            push(b, text);
        }
    }
}

fn message_text(item: &Object<'_>) -> String {
    let Some(content) = item.get("content") else {
        return String::new();
    };
    if let Some(s) = raw::as_str(content) {
        return s.into_owned();
    }
    let mut text = String::new();
    for part in raw::array(content).unwrap_or_default() {
        if let Some(t) = Object::parse(part).and_then(|o| o.str("text")) {
            text.push_str(&t);
            text.push('\n');
        }
    }
    text
}
