//! Anthropic Messages streams: `content_block_*` events carry an `index` that SDKs use to
//! address the message's content list, so withheld blocks leave no gap and continuation
//! blocks continue the numbering.
//!
//! Two things the client's one message must get right across rounds:
//! - Usage: only the first `message_start` is relayed, so the sum of every round goes in the
//!   final `message_delta`, whose counts SDKs take as the message's totals.
//! - Thinking: a continuation's thinking blocks are signed over a prefix that holds the
//!   proxy's call and answer, which the client never sees and never resends; resent without
//!   them, the blocks fail the provider's checks. They are withheld, so what the client holds
//!   is the first round's signed thinking followed by plain content (DECISIONS D28). So is
//!   thinking that follows one of the proxy's calls within a round (interleaved thinking).

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::Value;

use super::Splice;
use crate::retrieval::sse::{self, Event, encode};
use crate::retrieval::turn::{Call, Turn, is_ours, is_thinking};
use crate::retrieval::usage;

/// A block being streamed.
struct Block {
    value: Value,
    partial_json: String,
    /// The client's index, or `None` when withheld.
    client_index: Option<u64>,
}

#[derive(Default)]
pub struct Anthropic {
    rounds_done: usize,
    next_index: u64,
    blocks: BTreeMap<u64, Block>,
    calls: Vec<Call>,
    client_tool_use: bool,
    holding: bool,
    held: Vec<Bytes>,
    /// One of the proxy's calls started in this round.
    ours_started: bool,
    /// Usage of the rounds continued so far.
    total: Value,
    /// Usage of this round: `message_start`'s, overlaid by `message_delta`'s.
    round: Value,
}

impl Anthropic {
    /// Forward `event` with its `index` changed to the client's, byte-identical if equal.
    fn forward(event: &Event, mut data: Value, client_index: u64, out: &mut Vec<Bytes>) {
        if data["index"].as_u64() == Some(client_index) {
            out.push(event.raw.clone());
        } else {
            data["index"] = client_index.into();
            out.push(encode(event.name.as_deref(), &data.to_string()));
        }
    }
}

impl Splice for Anthropic {
    fn event(&mut self, event: &Event, out: &mut Vec<Bytes>) {
        let Ok(mut data) = serde_json::from_str::<Value>(&event.data) else {
            out.push(event.raw.clone());
            return;
        };
        let kind = data["type"].as_str().unwrap_or_default().to_owned();
        let index = data["index"].as_u64().unwrap_or(0);
        match kind.as_str() {
            "message_start" => {
                self.round = data["message"]["usage"].clone();
                if self.rounds_done == 0 {
                    out.push(event.raw.clone());
                }
            }
            "content_block_start" if data["content_block"].is_object() => {
                let value = data["content_block"].take();
                // Thinking after one of the proxy's calls was produced with that call before it.
                let after_ours = self.rounds_done > 0 || self.ours_started;
                let ours = is_ours(&value) || (after_ours && is_thinking(&value));
                self.ours_started |= is_ours(&value);
                if value["type"] == "tool_use" && !ours {
                    self.client_tool_use = true;
                }
                let client_index = (!ours).then(|| {
                    self.next_index += 1;
                    self.next_index - 1
                });
                data["content_block"] = value.clone();
                self.blocks.insert(index, Block { value, partial_json: String::new(), client_index });
                if let Some(ci) = client_index {
                    Self::forward(event, data, ci, out);
                }
            }
            "content_block_delta" | "content_block_stop" => {
                let Some(block) = self.blocks.get_mut(&index) else {
                    out.push(event.raw.clone());
                    return;
                };
                if kind == "content_block_delta" {
                    accumulate(block, &data["delta"]);
                } else {
                    // Any block streamed as JSON (tool_use, server_tool_use, mcp_tool_use) is
                    // replayed with the input it streamed.
                    if let Ok(input) = serde_json::from_str::<Value>(&block.partial_json) {
                        block.value["input"] = input;
                    } else if block.value["type"] == "tool_use" && block.value["input"].is_null() {
                        block.value["input"] = Value::Object(Default::default());
                    }
                    if is_ours(&block.value) {
                        let id = block.value["id"].as_str().unwrap_or_default().to_owned();
                        self.calls.push(Call::new(&id, &block.value["input"]));
                    }
                }
                if let Some(ci) = block.client_index {
                    Self::forward(event, data, ci, out);
                }
            }
            "message_delta" => {
                usage::overlay(&mut self.round, &data["usage"]);
                if data["delta"]["stop_reason"] == "tool_use"
                    && !self.calls.is_empty()
                    && !self.client_tool_use
                {
                    self.holding = true;
                    self.held.push(event.raw.clone());
                } else if self.rounds_done > 0 {
                    data["usage"] = usage::sum(&self.total, &self.round);
                    out.push(encode(event.name.as_deref(), &data.to_string()));
                } else {
                    out.push(event.raw.clone());
                }
            }
            "message_stop" if self.holding => self.held.push(event.raw.clone()),
            _ => out.push(event.raw.clone()),
        }
    }

    fn take_pending(&mut self) -> Option<(Turn, Vec<Call>)> {
        let blocks = std::mem::take(&mut self.blocks);
        let calls = std::mem::take(&mut self.calls);
        self.client_tool_use = false;
        self.ours_started = false;
        let round = std::mem::take(&mut self.round);
        if !std::mem::take(&mut self.holding) {
            return None;
        }
        self.total = usage::sum(&self.total, &round);
        self.rounds_done += 1;
        Some((Turn::Anthropic(blocks.into_values().map(|b| b.value).collect()), calls))
    }

    fn discard_held(&mut self) {
        self.held.clear();
    }

    fn release_held(&mut self) -> Vec<Bytes> {
        // The client never saw the calls this stop reason refers to; the usage covers every
        // round, this one included (added when it was taken).
        let held = std::mem::take(&mut self.held);
        held.into_iter().map(|raw| self.closing(raw)).collect()
    }
}

impl Anthropic {
    /// A held `message_delta` as the last round's: `end_turn`, with the summed usage.
    fn closing(&self, raw: Bytes) -> Bytes {
        let Some(event) = sse::Parser::default().push(&raw).pop() else { return raw };
        let Ok(mut data) = serde_json::from_str::<Value>(&event.data) else { return raw };
        if data["type"] != "message_delta" {
            return raw;
        }
        if data["delta"]["stop_reason"] == "tool_use" {
            data["delta"]["stop_reason"] = "end_turn".into();
        }
        if self.total.is_object() {
            data["usage"] = self.total.clone();
        }
        encode(event.name.as_deref(), &data.to_string())
    }
}

/// Apply one delta to the block it belongs to, so the continuation replays the exact turn
/// (thinking signatures included).
fn accumulate(block: &mut Block, delta: &Value) {
    let append = |field: &mut Value, more: &Value| {
        let joined = format!("{}{}", field.as_str().unwrap_or_default(), more.as_str().unwrap_or_default());
        *field = joined.into();
    };
    match delta["type"].as_str() {
        Some("text_delta") => append(&mut block.value["text"], &delta["text"]),
        Some("thinking_delta") => append(&mut block.value["thinking"], &delta["thinking"]),
        Some("signature_delta") => block.value["signature"] = delta["signature"].clone(),
        Some("input_json_delta") => {
            block.partial_json.push_str(delta["partial_json"].as_str().unwrap_or_default())
        }
        Some("citations_delta") => {
            if !block.value["citations"].is_array() {
                block.value["citations"] = Value::Array(Vec::new());
            }
            if let Some(list) = block.value["citations"].as_array_mut() {
                list.push(delta["citation"].clone());
            }
        }
        _ => {}
    }
}
