//! OpenAI Chat Completions: `tool` (and legacy `function`) messages, and command output sent
//! as user text.

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
    let messages = root
        .get("messages")
        .ok_or_else(|| CompressError::MalformedRequest("missing field `messages`".into()))?;
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
    let mut calls: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut previous_text = String::new();
    for (i, msg) in parsed.iter().enumerate() {
        let frozen = (i as u32) < opts.frozen_count;
        let role = msg.str("role");
        let content = msg.get("content");
        match role.as_deref() {
            Some("assistant") => previous_text = assistant_text(msg, &mut calls),
            Some("tool") | Some("function") => {
                let (name, query) = match role.as_deref() {
                    Some("tool") => {
                        let id = msg.str("tool_call_id").unwrap_or_default();
                        calls.get(id.as_ref()).cloned().unwrap_or_default()
                    }
                    _ => (
                        msg.str("name").unwrap_or_default().into_owned(),
                        previous_text.clone(),
                    ),
                };
                let protected = frozen || opts.is_protected_tool(&name);
                push_texts(&mut out, i, content, &query, ages[i], protected, false);
            }
            Some("user") => push_texts(&mut out, i, content, &previous_text, ages[i], frozen, true),
            _ => {}
        }
    }
    Ok(out)
}

/// String content, or the `text` of each `{"type":"text"}` part.
fn push_texts<'a>(
    out: &mut Vec<Candidate<'a>>,
    i: usize,
    content: Option<&'a RawValue>,
    query: &str,
    age: u32,
    protected: bool,
    machine_output: bool,
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
        if obj.str("type").as_deref() == Some("text")
            && let Some(text) = obj.get("text")
        {
            push(b, text);
        }
    }
}

fn assistant_text(msg: &Object<'_>, calls: &mut BTreeMap<String, (String, String)>) -> String {
    let mut text = String::new();
    if let Some(content) = msg.get("content") {
        if let Some(s) = raw::as_str(content) {
            text.push_str(&s);
            text.push('\n');
        } else {
            for part in raw::array(content).unwrap_or_default() {
                if let Some(t) = Object::parse(part).and_then(|o| o.str("text")) {
                    text.push_str(&t);
                    text.push('\n');
                }
            }
        }
    }
    for call in msg
        .get("tool_calls")
        .and_then(raw::array)
        .unwrap_or_default()
    {
        let Some(obj) = Object::parse(call) else {
            continue;
        };
        let id = obj.str("id").unwrap_or_default().into_owned();
        let function = obj.get("function").and_then(Object::parse);
        let name = function
            .as_ref()
            .and_then(|f| f.str("name"))
            .unwrap_or_default()
            .into_owned();
        let args = function
            .as_ref()
            .and_then(|f| f.str("arguments"))
            .unwrap_or_default()
            .into_owned();
        calls.insert(id, (name, format!("{text}{args}")));
        text.push_str(&args);
        text.push('\n');
    }
    text
}
