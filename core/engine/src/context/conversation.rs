//! A request's messages as droppable units.
//!
//! A unit is what must go together for the request to stay valid: a tool call and its result
//! (Anthropic `tool_use`/`tool_result`, Chat `tool_calls`/`tool` messages, Responses
//! `function_call`/`function_call_output`), a Responses reasoning item and the item it
//! precedes, and in Anthropic every assistant turn with the user turn that follows it, so
//! that removing a unit keeps user and assistant turns alternating.

use std::collections::BTreeMap;

use crate::error::CompressError;
use crate::request::Dialect;
use crate::request::raw::{self, Object};

/// What a message is, for the rules of what may be dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `system` or `developer`: never dropped.
    System,
    /// A user message (in Anthropic also the carrier of tool results).
    User,
    /// An assistant message or a Responses call item.
    Assistant,
    /// A Chat `tool`/`function` message or a Responses call output.
    ToolResult,
    /// Anything else (Responses reasoning and unknown items).
    Other,
}

/// One message (Responses: input item).
pub struct Item<'a> {
    /// Its JSON as received.
    pub raw: raw::Raw<'a>,
    /// Its role.
    pub role: Role,
    /// True for a user message with text of its own (not only tool results).
    pub human: bool,
    /// The text a reader would see (contents, tool inputs and outputs), for scoring.
    pub text: String,
}

/// A request's message list.
pub struct Conversation<'a> {
    /// Byte range of the list (`messages` or `input`) within the body.
    pub list: std::ops::Range<usize>,
    /// The messages in order.
    pub items: Vec<Item<'a>>,
    /// Units: sorted message indices, ordered by their first message.
    pub units: Vec<Vec<usize>>,
}

/// Parse the message list of `body`; `None` when there is none to manage (Responses with a
/// string `input`).
pub fn parse(dialect: Dialect, body: &str) -> Result<Option<Conversation<'_>>, CompressError> {
    let root = raw::root(body)?;
    let field = if dialect == Dialect::OpenAiResponses { "input" } else { "messages" };
    let Some(list) = root.get(field) else {
        return Err(CompressError::MalformedRequest(format!("missing field `{field}`")));
    };
    if raw::is_str(list) {
        return Ok(None);
    }
    let objects = raw::object_list(&root, field)?;
    let mut items = Vec::with_capacity(objects.len());
    let mut links = Links::new(objects.len());
    for (i, (raw, obj)) in objects.iter().enumerate() {
        items.push(item(dialect, obj, *raw, i, &mut links));
    }
    if dialect == Dialect::AnthropicMessages {
        for i in 1..items.len() {
            if items[i - 1].role == Role::Assistant && items[i].role == Role::User {
                links.union(i - 1, i);
            }
        }
    }
    Ok(Some(Conversation { list: raw::span(body, list), units: links.units(), items }))
}

fn item<'a>(dialect: Dialect, obj: &Object<'a>, raw: raw::Raw<'a>, i: usize, links: &mut Links) -> Item<'a> {
    let kind = obj.str("type");
    let role = match (obj.str("role").as_deref(), kind.as_deref()) {
        (Some("system" | "developer"), _) => Role::System,
        (Some("tool" | "function"), _) => Role::ToolResult,
        (_, Some("function_call_output" | "custom_tool_call_output")) => Role::ToolResult,
        (Some("assistant"), _) | (_, Some("function_call" | "custom_tool_call")) => Role::Assistant,
        (Some("user"), _) => Role::User,
        _ => Role::Other,
    };
    match dialect {
        Dialect::AnthropicMessages => {
            for block in obj.get("content").and_then(raw::array).unwrap_or_default() {
                let Some(b) = Object::parse(block) else { continue };
                match b.str("type").as_deref() {
                    Some("tool_use") => links.call(b.str("id").unwrap_or_default().as_ref(), i),
                    Some("tool_result") => links.result(b.str("tool_use_id").unwrap_or_default().as_ref(), i),
                    _ => {}
                }
            }
        }
        Dialect::OpenAiChat => {
            for call in obj.get("tool_calls").and_then(raw::array).unwrap_or_default() {
                if let Some(id) = Object::parse(call).and_then(|c| c.str("id")) {
                    links.call(&id, i);
                }
            }
            match obj.str("tool_call_id") {
                Some(id) => links.result(&id, i),
                // Legacy `function` results answer the call just before them.
                None if role == Role::ToolResult && i > 0 => links.union(i - 1, i),
                None => {}
            }
        }
        Dialect::OpenAiResponses => {
            let call_id = obj.str("call_id").unwrap_or_default();
            match role {
                Role::Assistant if !call_id.is_empty() => links.call(&call_id, i),
                Role::ToolResult => links.result(&call_id, i),
                _ => {}
            }
            // A reasoning item must be followed by the item it produced.
            if kind.as_deref() == Some("reasoning") {
                links.follow(i);
            }
        }
    }
    let human = role == Role::User && has_own_text(obj.get("content"));
    let mut text = String::new();
    collect_text(raw, &mut text);
    Item { raw, role, human, text }
}

/// True when `content` is a string or holds a part that is not a tool result.
fn has_own_text(content: Option<raw::Raw<'_>>) -> bool {
    let Some(content) = content else { return false };
    if raw::is_str(content) {
        return true;
    }
    raw::array(content)
        .unwrap_or_default()
        .into_iter()
        .any(|part| Object::parse(part).and_then(|p| p.str("type")).is_some_and(|t| t != "tool_result"))
}

/// Fields whose strings are identifiers, signatures or binary data, not text anyone reads.
const OPAQUE: &[&str] = &[
    "id",
    "type",
    "role",
    "signature",
    "encrypted_content",
    "data",
    "tool_use_id",
    "tool_call_id",
    "call_id",
    "cache_control",
    "media_type",
    "status",
];

/// Every readable string of a JSON value, newline separated.
fn collect_text(raw: raw::Raw<'_>, out: &mut String) {
    if let Some(s) = raw::as_str(raw) {
        out.push_str(&s);
        out.push('\n');
    } else if let Some(items) = raw::array(raw) {
        for item in items {
            collect_text(item, out);
        }
    } else if let Some(obj) = Object::parse(raw) {
        for (key, value) in obj.fields() {
            if !OPAQUE.contains(&key) {
                collect_text(value, out);
            }
        }
    }
}

/// Union-find over message indices, with tool call ids.
struct Links {
    parent: Vec<usize>,
    calls: BTreeMap<String, usize>,
    follows: Vec<usize>,
}

impl Links {
    fn new(n: usize) -> Self {
        Self { parent: (0..n).collect(), calls: BTreeMap::new(), follows: Vec::new() }
    }

    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }

    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[ra.max(rb)] = ra.min(rb);
        }
    }

    fn call(&mut self, id: &str, i: usize) {
        if !id.is_empty() {
            self.calls.insert(id.to_owned(), i);
        }
    }

    fn result(&mut self, id: &str, i: usize) {
        if let Some(&c) = self.calls.get(id) {
            self.union(c, i);
        }
    }

    /// Tie message `i` to the one after it.
    fn follow(&mut self, i: usize) {
        self.follows.push(i);
    }

    fn units(mut self) -> Vec<Vec<usize>> {
        let n = self.parent.len();
        for f in std::mem::take(&mut self.follows) {
            if f + 1 < n {
                self.union(f, f + 1);
            }
        }
        let mut by_root: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for i in 0..n {
            let r = self.find(i);
            by_root.entry(r).or_default().push(i);
        }
        by_root.into_values().collect()
    }
}
