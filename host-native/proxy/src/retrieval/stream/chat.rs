//! OpenAI Chat Completions streams: tool calls arrive as `delta.tool_calls` entries addressed
//! by `index`; the proxy's entries are withheld and the client's renumbered without gaps.
//! Only choice 0 is followed (requests with `n > 1` never get the tool). With
//! `stream_options.include_usage`, the usage chunk of the last round carries every round's.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::{Value, json};

use super::Splice;
use crate::retrieval::sse::{self, Event, encode};
use crate::retrieval::tool::NAME;
use crate::retrieval::turn::{Call, Turn};
use crate::retrieval::usage;

struct ToolCall {
    id: String,
    name: String,
    arguments: String,
    client_index: Option<u64>,
}

#[derive(Default)]
pub struct Chat {
    next_index: u64,
    content: String,
    calls: BTreeMap<u64, ToolCall>,
    holding: bool,
    held: Vec<Bytes>,
    /// Usage of the rounds seen so far (continued, or held to be).
    total: Value,
    /// A round was continued: later usage chunks say the sum.
    continued: bool,
}

impl Chat {
    /// Track the tool-call entries of a delta; returns the entries the client should see
    /// (renumbered) and whether anything had to change.
    fn tool_calls(&mut self, entries: &[Value]) -> (Vec<Value>, bool) {
        let mut kept = Vec::new();
        let mut changed = false;
        for entry in entries {
            let index = entry["index"].as_u64().unwrap_or(0);
            if !self.calls.contains_key(&index) {
                let name = entry["function"]["name"].as_str().unwrap_or_default().to_owned();
                let client_index = (name != NAME).then(|| {
                    self.next_index += 1;
                    self.next_index - 1
                });
                self.calls.insert(
                    index,
                    ToolCall { id: String::new(), name, arguments: String::new(), client_index },
                );
            }
            let Some(call) = self.calls.get_mut(&index) else { continue };
            if let Some(id) = entry["id"].as_str() {
                call.id = id.to_owned();
            }
            call.arguments.push_str(entry["function"]["arguments"].as_str().unwrap_or_default());
            match call.client_index {
                None => changed = true,
                Some(ci) => {
                    let mut e = entry.clone();
                    if let (true, Some(fields)) = (ci != index, e.as_object_mut()) {
                        fields.insert("index".into(), ci.into());
                        changed = true;
                    }
                    kept.push(e);
                }
            }
        }
        (kept, changed)
    }

    fn ours(&self) -> impl Iterator<Item = &ToolCall> {
        self.calls.values().filter(|c| c.client_index.is_none())
    }
}

impl Splice for Chat {
    fn event(&mut self, event: &Event, out: &mut Vec<Bytes>) {
        let parsed = serde_json::from_str::<Value>(&event.data).ok();
        let round_usage = parsed.as_ref().map(|c| c["usage"].clone()).filter(Value::is_object);
        if self.holding {
            // Usage chunk and `[DONE]` of a round that will be continued.
            if let Some(u) = &round_usage {
                usage::add(&mut self.total, u);
            }
            self.held.push(event.raw.clone());
            return;
        }
        let Some(mut chunk) = parsed else {
            out.push(event.raw.clone());
            return;
        };
        if let Some(u) = &round_usage {
            let total = usage::sum(&self.total, u);
            if self.continued {
                chunk["usage"] = total.clone();
                if chunk["choices"][0].is_null() {
                    out.push(encode(event.name.as_deref(), &chunk.to_string()));
                    return;
                }
            }
            self.total = total;
        }
        // Usage-only chunks have no choices: nothing of ours can be in them.
        if chunk["choices"][0].is_null() {
            out.push(event.raw.clone());
            return;
        }
        if let Some(text) = chunk["choices"][0]["delta"]["content"].as_str() {
            self.content.push_str(text);
        }
        let mut changed = false;
        if let Some(entries) = chunk["choices"][0]["delta"]["tool_calls"].as_array().cloned() {
            let (kept, c) = self.tool_calls(&entries);
            changed = c;
            let delta = chunk.pointer_mut("/choices/0/delta").and_then(Value::as_object_mut);
            if let (true, Some(delta)) = (changed, delta) {
                if kept.is_empty() {
                    delta.remove("tool_calls");
                } else {
                    delta.insert("tool_calls".into(), Value::Array(kept));
                }
            }
        }
        let choice = &chunk["choices"][0];
        let ours = self.ours().count();
        if choice["finish_reason"] == "tool_calls" && ours > 0 && ours == self.calls.len() {
            self.holding = true;
            self.held.push(event.raw.clone());
            return;
        }
        let patched = self.continued && round_usage.is_some();
        if !changed && !patched {
            out.push(event.raw.clone());
        } else if !is_empty_delta(choice) || chunk["usage"].is_object() {
            out.push(encode(event.name.as_deref(), &chunk.to_string()));
        }
    }

    fn take_pending(&mut self) -> Option<(Turn, Vec<Call>)> {
        let calls = std::mem::take(&mut self.calls);
        let content = std::mem::take(&mut self.content);
        if !std::mem::take(&mut self.holding) {
            return None;
        }
        self.continued = true;
        let ours = calls
            .values()
            .filter(|c| c.client_index.is_none())
            .map(|c| Call::from_arguments(&c.id, &c.arguments));
        let ours = ours.collect();
        let tool_calls = calls
            .into_values()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
        let content = (!content.is_empty()).then_some(content);
        Some((Turn::Chat { content, tool_calls }, ours))
    }

    fn discard_held(&mut self) {
        self.held.clear();
    }

    fn release_held(&mut self) -> Vec<Bytes> {
        // The client never saw the calls this finish reason refers to; the usage covers every
        // round, this one included.
        let held = std::mem::take(&mut self.held);
        held.into_iter().map(|raw| self.closing(raw)).collect()
    }
}

impl Chat {
    /// A held chunk as the last round's: `stop` for `tool_calls`, the summed usage.
    fn closing(&self, raw: Bytes) -> Bytes {
        let Some(event) = sse::Parser::default().push(&raw).pop() else { return raw };
        let Ok(mut chunk) = serde_json::from_str::<Value>(&event.data) else { return raw };
        let mut changed = false;
        if chunk["choices"][0]["finish_reason"] == "tool_calls" {
            chunk["choices"][0]["finish_reason"] = "stop".into();
            changed = true;
        }
        if chunk["usage"].is_object() {
            chunk["usage"] = self.total.clone();
            changed = true;
        }
        if changed { encode(event.name.as_deref(), &chunk.to_string()) } else { raw }
    }
}

/// A chunk left with nothing to say once the proxy's entries are removed.
fn is_empty_delta(choice: &Value) -> bool {
    choice["finish_reason"].is_null() && choice["delta"].as_object().is_none_or(serde_json::Map::is_empty)
}
