//! Provider request bodies: find the blocks worth compressing, splice their rewrites back.
//!
//! Each dialect module lists the body's text in conversation order as [`Segment`]s: blocks
//! that may be rewritten (tool outputs, command output sent as user text, and assistant
//! prose, which only token mode offloads when it has aged) with their raw JSON string spans,
//! and text that is only read (system prompts, tool inputs), which later blocks may refer to.
//! Everything that is not a block (thinking blocks and their signatures, tool inputs,
//! unknown fields) is forwarded byte for byte.

mod anthropic;
pub mod machine_output;
mod openai_chat;
mod openai_responses;
pub mod raw;

use crate::error::CompressError;

/// The wire format of a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Anthropic Messages.
    AnthropicMessages,
    /// OpenAI Chat Completions.
    OpenAiChat,
    /// OpenAI Responses.
    OpenAiResponses,
}

/// Where a block's text comes from, which decides what may be done to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A tool result.
    ToolOutput,
    /// Text in a user message: rewritten only if it is wrapped command output.
    UserText,
    /// The assistant's prose: only offloaded, in token mode, once aged.
    AssistantText,
}

/// A block that may be rewritten.
pub struct Candidate<'a> {
    /// Index of the message (Responses: input item).
    pub message_index: u32,
    /// Index of the content block within it.
    pub block_index: u32,
    /// The raw JSON string holding the block's text.
    pub raw: raw::Raw<'a>,
    /// The text that precedes the block: the call or command it answers.
    pub query: String,
    /// Assistant turns after this block's message.
    pub age: u32,
    /// Assistant turns in the whole request.
    pub turns: u32,
    /// Never rewrite (protected tool, or inside the frozen prefix).
    pub protected: bool,
    /// What the text is.
    pub origin: Origin,
}

/// The body's text in conversation order.
pub enum Segment<'a> {
    /// A block that may be rewritten.
    Block(Candidate<'a>),
    /// Text that is forwarded as it is but that later blocks may repeat.
    Seen {
        /// Index of the message it belongs to (0 for a system prompt outside `messages`).
        message_index: u32,
        /// Assistant turns after it.
        age: u32,
        /// The text.
        text: String,
    },
}

/// List the segments of a body in the given dialect.
pub fn segments<'a>(
    dialect: Dialect,
    body: &'a str,
    opts: &crate::Options,
) -> Result<Vec<Segment<'a>>, CompressError> {
    let root = raw::root(body)?;
    match dialect {
        Dialect::AnthropicMessages => anthropic::segments(&root, opts),
        Dialect::OpenAiChat => openai_chat::segments(&root, opts),
        Dialect::OpenAiResponses => openai_responses::segments(&root, opts),
    }
}

/// Replace byte ranges of `body`; `edits` must not overlap.
pub fn splice(body: &str, mut edits: Vec<(std::ops::Range<usize>, String)>) -> Vec<u8> {
    edits.sort_by_key(|(r, _)| r.start);
    let mut out = Vec::with_capacity(body.len());
    let mut at = 0;
    for (range, text) in edits {
        out.extend_from_slice(&body.as_bytes()[at..range.start]);
        out.extend_from_slice(text.as_bytes());
        at = range.end;
    }
    out.extend_from_slice(&body.as_bytes()[at..]);
    out
}

/// Number of assistant turns after each message, given whether each is an assistant turn.
pub(crate) fn ages(is_assistant: &[bool]) -> Vec<u32> {
    let mut ages = vec![0; is_assistant.len()];
    let mut seen = 0;
    for (i, a) in is_assistant.iter().enumerate().rev() {
        ages[i] = seen;
        if *a {
            seen += 1;
        }
    }
    ages
}

/// Keep the tail of a hint: the words closest to the block matter most.
pub(crate) fn clip_query(q: &str) -> String {
    const MAX: usize = 2000;
    if q.len() <= MAX {
        return q.to_owned();
    }
    let mut cut = q.len() - MAX;
    while !q.is_char_boundary(cut) {
        cut += 1;
    }
    q[cut..].to_owned()
}

/// Shared bookkeeping of the dialect walkers.
pub(crate) struct Walk<'a> {
    pub out: Vec<Segment<'a>>,
    pub ages: Vec<u32>,
    pub turns: u32,
    pub frozen_count: u32,
}

impl<'a> Walk<'a> {
    pub fn new(is_assistant: &[bool], opts: &crate::Options) -> Self {
        let turns = is_assistant.iter().filter(|a| **a).count() as u32;
        Self { out: Vec::new(), ages: ages(is_assistant), turns, frozen_count: opts.frozen_count }
    }

    /// Add a block; frozen messages are forwarded as they are.
    pub fn block(
        &mut self,
        i: usize,
        b: usize,
        raw: raw::Raw<'a>,
        query: &str,
        origin: Origin,
        protected: bool,
    ) {
        self.out.push(Segment::Block(Candidate {
            message_index: i as u32,
            block_index: b as u32,
            raw,
            query: clip_query(query),
            age: self.ages.get(i).copied().unwrap_or(0),
            turns: self.turns,
            protected: protected || (i as u32) < self.frozen_count,
            origin,
        }));
    }

    /// Add text of message `i` that is only read (`None`: before the first message).
    pub fn seen(&mut self, i: Option<usize>, text: impl Into<String>) {
        let text = text.into();
        if text.is_empty() {
            return;
        }
        let (message_index, age) = match i {
            Some(i) => (i as u32, self.ages.get(i).copied().unwrap_or(0)),
            None => (0, self.ages.first().map_or(0, |a| a + 1)),
        };
        self.out.push(Segment::Seen { message_index, age, text });
    }

    /// The string, or each `text` of the typed parts listed in `part_types`, as blocks.
    pub fn texts(
        &mut self,
        i: usize,
        content: Option<raw::Raw<'a>>,
        part_types: &[&str],
        query: &str,
        origin: Origin,
        protected: bool,
    ) {
        let Some(content) = content else { return };
        if raw::as_str(content).is_some() {
            self.block(i, 0, content, query, origin, protected);
            return;
        }
        for (b, part) in raw::array(content).unwrap_or_default().into_iter().enumerate() {
            let Some(obj) = raw::Object::parse(part) else { continue };
            let is_text = obj.str("type").is_some_and(|t| part_types.contains(&t.as_ref()));
            if is_text && let Some(text) = obj.get("text") {
                self.block(i, b, text, query, origin, protected);
            }
        }
    }
}

/// The plain text of a string or of an array of text parts (for system prompts and hints).
pub(crate) fn plain_text(content: Option<raw::Raw<'_>>) -> String {
    let Some(content) = content else { return String::new() };
    if let Some(s) = raw::as_str(content) {
        return s.into_owned();
    }
    let mut text = String::new();
    for part in raw::array(content).unwrap_or_default() {
        if let Some(t) = raw::Object::parse(part).and_then(|o| o.str("text")) {
            text.push_str(&t);
            text.push('\n');
        }
    }
    text
}
