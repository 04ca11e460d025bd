//! Drop units until a request fits, and rebuild it valid for its dialect with one marker.
//!
//! The marker says which messages went (1-based positions in the request as the client sent
//! it) and carries the key of their original JSON, offloaded for the host to store. Kept
//! messages are copied byte for byte, except the one Anthropic user turn the marker joins
//! (a new user turn there would break the alternation of roles).

use std::collections::BTreeSet;

use super::conversation::{Conversation, Role};
use super::score;
use crate::marker::{Marker, Unit, ranges_of};
use crate::offload::{Offload, key_for};
use crate::options::ContextStrategy;
use crate::request::Dialect;
use crate::request::raw::{self, Object};
use crate::tokens::TokenCounter;

/// Tokens set aside for the marker while choosing what to drop (it costs about 60).
const MARKER_ALLOWANCE: u32 = 100;

/// Token counts of a request: each message, and everything outside the list.
pub struct Tally {
    /// Per message.
    pub items: Vec<u32>,
    /// The rest of the body (system prompt, tool definitions, parameters).
    pub rest: u32,
}

impl Tally {
    /// Count `body`'s parts. JSON syntax and escapes are counted too: a few percent over
    /// the provider's own count, which errs on the side of fitting.
    pub fn of(body: &str, conv: &Conversation<'_>, counter: &dyn TokenCounter) -> Self {
        let items = conv.items.iter().map(|m| counter.count(m.raw.get())).collect();
        let rest = format!("{}{}", &body[..conv.list.start], &body[conv.list.end..]);
        Self { items, rest: counter.count(&rest) }
    }

    /// The whole request.
    pub fn total(&self) -> u32 {
        self.items.iter().fold(self.rest, |a, &b| a.saturating_add(b))
    }
}

/// A request body parsed and counted.
pub struct Measured<'a> {
    /// Its dialect.
    pub dialect: Dialect,
    /// The body.
    pub body: &'a str,
    /// Its messages.
    pub conv: Conversation<'a>,
    /// Their tokens.
    pub tally: Tally,
}

impl<'a> Measured<'a> {
    /// Parse and count `body`; `None` when it has no message list to manage.
    pub fn of(
        dialect: Dialect,
        body: &'a str,
        counter: &dyn TokenCounter,
    ) -> Result<Option<Self>, crate::CompressError> {
        let Some(conv) = super::conversation::parse(dialect, body)? else { return Ok(None) };
        let tally = Tally::of(body, &conv, counter);
        Ok(Some(Self { dialect, body, conv, tally }))
    }
}

/// A request with messages dropped.
pub struct Dropped {
    /// The new body.
    pub body: String,
    /// How many messages went.
    pub count: u32,
    /// Their original JSON (an array), under the marker's key.
    pub offload: Offload,
    /// Tokens of the new body.
    pub tokens: u32,
}

/// Drop the lowest-ranked units of the request until it fits `limit` tokens. `originals` are the
/// messages as the client sent them (the same positions as `conv`'s). `None` when no
/// message may be dropped.
pub fn drop_to_fit(
    req: &Measured<'_>,
    originals: &[&str],
    limit: u32,
    strategy: ContextStrategy,
    counter: &dyn TokenCounter,
) -> Option<Dropped> {
    let Measured { dialect, body, conv, tally } = req;
    let (dialect, conv) = (*dialect, conv);
    let droppable = droppable_units(conv);
    let mut total = tally.total().saturating_add(MARKER_ALLOWANCE);
    let mut dropped = BTreeSet::new();
    for u in score::drop_order(conv, &droppable, strategy) {
        if total <= limit {
            break;
        }
        for &i in &conv.units[u] {
            total = total.saturating_sub(tally.items[i]);
            dropped.insert(i);
        }
    }
    if dropped.is_empty() {
        return None;
    }
    let original = format!("[{}]", dropped.iter().map(|&i| originals[i]).collect::<Vec<_>>().join(","));
    let key = key_for(&original);
    let marker = Marker::new(Unit::Messages, ranges_of(dropped.iter().map(|i| i + 1)), &key)
        .with_note("dropped to fit the model's context window")
        .render();
    let parts = rebuild(dialect, conv, &dropped, &marker);
    let tokens = parts.iter().fold(tally.rest, |sum, part| {
        sum.saturating_add(match part {
            Part::Kept(i) => tally.items[*i],
            Part::New(text) => counter.count(text),
        })
    });
    let list: Vec<&str> = parts
        .iter()
        .map(|p| match p {
            Part::Kept(i) => conv.items[*i].raw.get(),
            Part::New(text) => text.as_str(),
        })
        .collect();
    let body = format!("{}[{}]{}", &body[..conv.list.start], list.join(","), &body[conv.list.end..]);
    Some(Dropped { body, count: dropped.len() as u32, offload: Offload { key, original }, tokens })
}

/// Units that may go: not a system message, not part of the latest turn.
fn droppable_units(conv: &Conversation<'_>) -> Vec<usize> {
    let is_input = |r: Role| matches!(r, Role::User | Role::ToolResult);
    let tail = conv.items.iter().rposition(|m| is_input(m.role)).or_else(|| conv.items.len().checked_sub(1));
    conv.units
        .iter()
        .enumerate()
        .filter(|(_, unit)| {
            unit.iter().all(|&i| conv.items[i].role != Role::System && tail.is_none_or(|t| i < t))
        })
        .map(|(u, _)| u)
        .collect()
}

/// One message of the rebuilt list.
enum Part {
    /// Message `i`, byte for byte.
    Kept(usize),
    /// The marker, alone or joined to a user turn.
    New(String),
}

/// The new message list.
fn rebuild(dialect: Dialect, conv: &Conversation<'_>, dropped: &BTreeSet<usize>, marker: &str) -> Vec<Part> {
    let first = dropped.first().copied().unwrap_or(0);
    let mut out = Vec::with_capacity(conv.items.len() + 1 - dropped.len());
    if dialect != Dialect::AnthropicMessages {
        let at = insertion_point(conv, dropped, first);
        for i in 0..conv.items.len() {
            if i == at {
                out.push(Part::New(user_message(marker)));
            }
            if !dropped.contains(&i) {
                out.push(Part::Kept(i));
            }
        }
        if at == conv.items.len() {
            out.push(Part::New(user_message(marker)));
        }
        return out;
    }
    // Anthropic: roles must alternate and the first turn must be the user's. The marker joins
    // the user turn before the first drop; with none, it opens the conversation (joining the
    // first kept turn when that is the user's).
    let before = (0..first).rev().find(|i| !dropped.contains(i));
    let mut placed = false;
    for i in (0..conv.items.len()).filter(|i| !dropped.contains(i)) {
        let item = &conv.items[i];
        if !placed && before == Some(i) && item.role == Role::User {
            out.push(Part::New(with_text_block(item.raw.get(), marker, true)));
            placed = true;
        } else if !placed && i > first {
            placed = true;
            if item.role == Role::User {
                out.push(Part::New(with_text_block(item.raw.get(), marker, false)));
                continue;
            }
            out.push(Part::New(user_message(marker)));
            out.push(Part::Kept(i));
        } else {
            out.push(Part::Kept(i));
        }
    }
    if !placed {
        out.push(Part::New(user_message(marker)));
    }
    out
}

/// Where a marker message may go in Chat and Responses: the first position after the first
/// dropped message that does not separate a kept call from its result.
fn insertion_point(conv: &Conversation<'_>, dropped: &BTreeSet<usize>, first: usize) -> usize {
    let n = conv.items.len();
    let mut inside = vec![false; n + 1];
    for unit in &conv.units {
        if unit.iter().any(|i| dropped.contains(i)) {
            continue;
        }
        let (lo, hi) = (unit[0], unit[unit.len() - 1]);
        for flag in &mut inside[lo + 1..=hi] {
            *flag = true;
        }
    }
    (first + 1..=n).find(|&k| !inside[k] && (k == n || !dropped.contains(&k))).unwrap_or(n)
}

fn user_message(text: &str) -> String {
    let text = serde_json::Value::String(text.to_owned());
    format!("{{\"role\":\"user\",\"content\":{text}}}")
}

/// `message` with a text block added to its content: at the end, or at the front after any
/// tool results (Anthropic wants those first). Every other byte is kept.
fn with_text_block(message: &str, text: &str, at_end: bool) -> String {
    let block = format!("{{\"type\":\"text\",\"text\":{}}}", serde_json::Value::String(text.to_owned()));
    let Some(content) = object(message).and_then(|o| o.get("content")) else {
        return message.to_owned();
    };
    let span = raw::span(message, content);
    let mut parts: Vec<String> = match raw::as_str(content) {
        Some(s) => {
            vec![format!("{{\"type\":\"text\",\"text\":{}}}", serde_json::Value::String(s.into_owned()))]
        }
        None => raw::array(content).unwrap_or_default().iter().map(|p| p.get().to_owned()).collect(),
    };
    let at = if at_end {
        parts.len()
    } else {
        parts
            .iter()
            .take_while(|p| object(p).and_then(|o| o.str("type")).as_deref() == Some("tool_result"))
            .count()
    };
    parts.insert(at, block);
    format!("{}[{}]{}", &message[..span.start], parts.join(","), &message[span.end..])
}

fn object(text: &str) -> Option<Object<'_>> {
    raw::parse(text).and_then(Object::parse)
}
