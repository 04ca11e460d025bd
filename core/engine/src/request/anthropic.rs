//! Anthropic Messages: tool_result contents, and command output sent as user text.

use std::collections::BTreeMap;

use super::raw::{self, Object};
use super::{Candidate, ages, clip_query};
use crate::Options;
use crate::error::CompressError;

pub(super) fn candidates<'a>(
    root: &Object<'a>,
    opts: &Options,
) -> Result<Vec<Candidate<'a>>, CompressError> {
    let Some(messages) = root.get("messages") else {
        return Err(CompressError::MalformedRequest(
            "missing field `messages`".into(),
        ));
    };
    let messages = raw::array(messages)
        .ok_or_else(|| CompressError::MalformedRequest("`messages` is not an array".into()))?;
    let parsed: Vec<Object<'a>> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            Object::parse(m).ok_or_else(|| {
                CompressError::MalformedRequest(format!("messages[{i}] is not an object"))
            })
        })
        .collect::<Result<_, _>>()?;
    let roles: Vec<bool> = parsed
        .iter()
        .map(|m| m.str("role").as_deref() == Some("assistant"))
        .collect();
    let ages = ages(&roles);

    let mut out = Vec::new();
    // tool_use id -> (tool name, the call's text: assistant prose + tool input)
    let mut calls: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut previous_text = String::new();
    for (i, msg) in parsed.iter().enumerate() {
        let frozen = (i as u32) < opts.frozen_count;
        let role = msg.str("role");
        let Some(content) = msg.get("content") else {
            continue;
        };
        if role.as_deref() == Some("assistant") {
            previous_text = assistant_text(content, &mut calls);
            continue;
        }
        if role.as_deref() != Some("user") {
            continue;
        }
        if raw::as_str(content).is_some() {
            out.push(Candidate {
                message_index: i as u32,
                block_index: 0,
                raw: content,
                query: clip_query(previous_text.clone()),
                age: ages[i],
                protected: frozen,
                machine_output: true,
            });
            continue;
        }
        let Some(blocks) = raw::array(content) else {
            continue;
        };
        for (b, block) in blocks.iter().enumerate() {
            let Some(block_obj) = Object::parse(block) else {
                continue;
            };
            match block_obj.str("type").as_deref() {
                Some("tool_result") => {
                    let id = block_obj.str("tool_use_id").unwrap_or_default();
                    let (name, query) = calls.get(id.as_ref()).cloned().unwrap_or_default();
                    let protected = frozen || opts.is_protected_tool(&name);
                    let Some(inner) = block_obj.get("content") else {
                        continue;
                    };
                    if raw::as_str(inner).is_some() {
                        out.push(candidate(i, b, inner, &query, ages[i], protected, false));
                    } else if let Some(parts) = raw::array(inner) {
                        for part in parts {
                            if let Some(text) = text_of_block(part) {
                                out.push(candidate(i, b, text, &query, ages[i], protected, false));
                            }
                        }
                    }
                }
                Some("text") => {
                    if let Some(text) = block_obj.get("text") {
                        out.push(candidate(i, b, text, &previous_text, ages[i], frozen, true));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

fn candidate<'a>(
    i: usize,
    b: usize,
    raw: &'a serde_json::value::RawValue,
    query: &str,
    age: u32,
    protected: bool,
    machine_output: bool,
) -> Candidate<'a> {
    Candidate {
        message_index: i as u32,
        block_index: b as u32,
        raw,
        query: clip_query(query.to_owned()),
        age,
        protected,
        machine_output,
    }
}

/// The `text` value of a `{"type":"text"}` block.
fn text_of_block(block: &serde_json::value::RawValue) -> Option<&serde_json::value::RawValue> {
    let obj = Object::parse(block)?;
    (obj.str("type").as_deref() == Some("text"))
        .then(|| obj.get("text"))
        .flatten()
}

/// The assistant's words and calls, recorded per tool_use id; returns the whole turn's text.
fn assistant_text(
    content: &serde_json::value::RawValue,
    calls: &mut BTreeMap<String, (String, String)>,
) -> String {
    if let Some(s) = raw::as_str(content) {
        return s.into_owned();
    }
    let mut text = String::new();
    for block in raw::array(content).unwrap_or_default() {
        let Some(obj) = Object::parse(block) else {
            continue;
        };
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
