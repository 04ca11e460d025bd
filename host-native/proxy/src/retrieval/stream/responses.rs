//! OpenAI Responses streams: events address output items by `output_index` and are ordered
//! by `sequence_number`; the final `response.completed` carries the whole response. Withheld
//! items leave no gap, continuation events continue both numberings, and the final response
//! lists every item the client saw across the rounds, with every round's usage added up.
//!
//! A reasoning item must be followed by the item it preceded: a client resending one without
//! it is refused. So a reasoning item's events wait until the next item starts: before one of
//! the proxy's calls, the reasoning is withheld with the call (the continuation still replays
//! both upstream); before anything else, or at the end of the round, it goes out as it was.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::Value;

use super::Splice;
use crate::retrieval::sse::{Event, encode};
use crate::retrieval::turn::{Call, Turn, is_client_call, is_ours};
use crate::retrieval::usage;

#[derive(Default)]
pub struct Responses {
    rounds_done: usize,
    /// Upstream output index -> client output index (`None`: withheld) for this round.
    index: BTreeMap<u64, Option<u64>>,
    next_index: u64,
    next_sequence: Option<u64>,
    /// The first round's response id.
    response_id: Option<Value>,
    /// This round's finished items by upstream index (for the continuation).
    items: BTreeMap<u64, Value>,
    /// Every item the client has seen finished, across rounds.
    shown: Vec<Value>,
    client_calls: bool,
    holding: bool,
    held: Vec<Bytes>,
    /// A reasoning item waiting for the item after it: its upstream index and its events.
    reasoning: Option<(u64, Vec<(Event, Value)>)>,
    /// Usage of the rounds continued so far.
    total: Value,
}

impl Responses {
    fn ours(&self) -> usize {
        self.index.values().filter(|v| v.is_none()).count()
    }

    /// Renumber and forward, byte-identical when nothing changes.
    fn forward(&mut self, event: &Event, mut data: Value, mut changed: bool, out: &mut Vec<Bytes>) {
        if let Some(seq) = data["sequence_number"].as_u64() {
            let want = *self.next_sequence.get_or_insert(seq);
            if seq != want {
                data["sequence_number"] = want.into();
                changed = true;
            }
            self.next_sequence = Some(want + 1);
        }
        out.push(if changed { encode(event.name.as_deref(), &data.to_string()) } else { event.raw.clone() });
    }

    /// A new client output index.
    fn next_client_index(&mut self) -> u64 {
        self.next_index += 1;
        self.next_index - 1
    }

    /// Settle the waiting reasoning item: withheld when the item after it is one of ours,
    /// otherwise numbered and sent with the events it held.
    fn settle_reasoning(&mut self, next_is_ours: bool, out: &mut Vec<Bytes>) {
        let Some((upstream, events)) = self.reasoning.take() else { return };
        if next_is_ours {
            self.index.insert(upstream, None);
            return;
        }
        let client = self.next_client_index();
        self.index.insert(upstream, Some(client));
        for (event, data) in events {
            self.send_item_event(&event, data, upstream, client, out);
        }
    }

    fn send_item_event(
        &mut self,
        event: &Event,
        mut data: Value,
        upstream: u64,
        client: u64,
        out: &mut Vec<Bytes>,
    ) {
        let changed = client != upstream;
        data["output_index"] = client.into();
        self.forward(event, data, changed, out);
    }

    /// The items of this round the client saw, in order.
    fn shown_this_round(&self) -> Vec<Value> {
        self.items
            .iter()
            .filter(|(up, _)| self.index.get(up).is_some_and(Option::is_some))
            .map(|(_, item)| item.clone())
            .collect()
    }
}

impl Splice for Responses {
    fn event(&mut self, event: &Event, out: &mut Vec<Bytes>) {
        let Ok(mut data) = serde_json::from_str::<Value>(&event.data) else {
            out.push(event.raw.clone());
            return;
        };
        let kind = data["type"].as_str().unwrap_or_default().to_owned();
        if self.rounds_done > 0 && matches!(kind.as_str(), "response.created" | "response.in_progress") {
            return;
        }
        // SDKs hold a stream to one response id: later rounds speak as the first response.
        let mut renamed = false;
        if data["response"].is_object() {
            match &self.response_id {
                None => self.response_id = Some(data["response"]["id"].clone()),
                Some(id) if data["response"]["id"] != *id => {
                    data["response"]["id"] = id.clone();
                    renamed = true;
                }
                Some(_) => {}
            }
        }
        let upstream = data["output_index"].as_u64();
        if let Some((waiting, events)) = &mut self.reasoning
            && upstream == Some(*waiting)
        {
            if kind == "response.output_item.done" {
                self.items.insert(*waiting, data["item"].clone());
            }
            events.push((event.clone(), data));
            return;
        }
        if kind == "response.output_item.added"
            && let Some(upstream) = upstream
        {
            let item = &data["item"];
            if is_client_call(item) {
                self.client_calls = true;
            }
            let ours = is_ours(item);
            self.settle_reasoning(ours, out);
            if item["type"] == "reasoning" {
                self.reasoning = Some((upstream, vec![(event.clone(), data)]));
                return;
            }
            let client = (!ours).then(|| self.next_client_index());
            self.index.insert(upstream, client);
        }
        if kind == "response.completed" {
            self.settle_reasoning(false, out);
            let this = data["response"]["usage"].clone();
            let ours = self.ours();
            if ours > 0 && !self.client_calls {
                self.total = usage::sum(&self.total, &this);
                self.holding = true;
                self.held.push(event.raw.clone());
                return;
            }
            let mut changed = renamed;
            if ours > 0 || self.rounds_done > 0 {
                let seen = self.shown_this_round();
                self.shown.extend(seen);
                if let Some(response) = data.get_mut("response").and_then(Value::as_object_mut) {
                    response.insert("output".into(), Value::Array(self.shown.clone()));
                    changed = true;
                }
            }
            if self.rounds_done > 0 && this.is_object() {
                data["response"]["usage"] = usage::sum(&self.total, &this);
                changed = true;
            }
            return self.forward(event, data, changed, out);
        }
        let Some(upstream) = upstream else {
            return self.forward(event, data, renamed, out);
        };
        if kind == "response.output_item.done" {
            self.items.insert(upstream, data["item"].clone());
        }
        match self.index.get(&upstream).copied().flatten() {
            None if self.index.contains_key(&upstream) => {}
            None => self.forward(event, data, false, out),
            Some(client) => self.send_item_event(event, data, upstream, client, out),
        }
    }

    fn take_pending(&mut self) -> Option<(Turn, Vec<Call>)> {
        let shown = self.shown_this_round();
        let items = std::mem::take(&mut self.items);
        self.index.clear();
        self.client_calls = false;
        if !std::mem::take(&mut self.holding) {
            // A reasoning item still waiting (the stream ended before the next item) goes out
            // with the closing events.
            return None;
        }
        self.reasoning = None;
        self.rounds_done += 1;
        self.shown.extend(shown);
        let calls = items
            .values()
            .filter(|i| is_ours(i))
            .map(|i| {
                Call::from_arguments(
                    i["call_id"].as_str().unwrap_or_default(),
                    i["arguments"].as_str().unwrap_or("{}"),
                )
            })
            .collect();
        Some((Turn::Responses(items.into_values().collect()), calls))
    }

    fn discard_held(&mut self) {
        self.held.clear();
    }

    fn release_held(&mut self) -> Vec<Bytes> {
        // Giving up on a held round: its completion lists what the client saw, in its numbering,
        // and the usage of every round (this one was added when it was held).
        let mut out = Vec::new();
        self.settle_reasoning(false, &mut out);
        for raw in std::mem::take(&mut self.held) {
            let event = crate::retrieval::sse::Parser::default().push(&raw).pop();
            let parsed =
                event.as_ref().and_then(|e| serde_json::from_str::<Value>(&e.data).ok().map(|d| (e, d)));
            let Some((event, mut data)) = parsed else {
                out.push(raw);
                continue;
            };
            if let Some(response) = data.get_mut("response").and_then(Value::as_object_mut) {
                response.insert("output".into(), Value::Array(self.shown.clone()));
                if let Some(id) = &self.response_id {
                    response.insert("id".into(), id.clone());
                }
                if self.total.is_object() {
                    response.insert("usage".into(), self.total.clone());
                }
            }
            self.forward(event, data, true, &mut out);
        }
        out
    }
}
