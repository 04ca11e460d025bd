//! Provider request bodies: find the blocks worth compressing, splice their rewrites back.
//!
//! Each dialect module lists the body's text in conversation order as [`Segment`]s: blocks
//! that may be rewritten (tool outputs, command output sent as user text, and assistant
//! prose, which only token mode offloads when it has aged) with their raw JSON string spans,
//! and text that is only read (system prompts, tool inputs), which later blocks may refer to.
//! Everything that is not a block (thinking blocks and their signatures, tool inputs,
//! unknown fields) is forwarded byte for byte.

mod anthropic;
pub mod facts;
pub mod machine_output;
mod openai_chat;
mod openai_responses;
pub mod raw;

use std::collections::BTreeMap;
use std::ops::Range;

use crate::error::CompressError;
use raw::{Object, Raw};

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
    /// Protected because of its tool (the part of `protected` that belongs to the block).
    pub tool_protected: bool,
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
    Ok(segments_in(dialect, body, opts, None)?.0)
}

/// Where a body's messages are, kept so that the next request of the conversation, which
/// repeats this body's bytes up to some message, reads only what follows it.
#[derive(Default)]
pub(crate) struct Layout {
    /// Byte range of each message (Responses: input item).
    items: Vec<Range<usize>>,
    /// Whether each is an assistant turn.
    assistant: Vec<bool>,
    /// The top-level fields before the message list.
    before: Vec<(String, Range<usize>)>,
    /// Segments before the first message's (the system prompt, the instructions).
    preamble: usize,
    /// Index of the first segment of each message, and one past the last segment.
    first_segment: Vec<usize>,
    /// Messages listed from the previous request's segments instead of read (0: all read).
    pub unread: usize,
    /// The top level's model and output budget, for the window check.
    pub head: crate::context::Head,
    /// Segments listed from the previous request's records, at the same indices: their bytes
    /// lie in the common prefix of the two bodies, so they equal what the records kept.
    pub kept: Range<usize>,
}

impl Layout {
    /// Bytes held (for the memory's budget).
    pub fn bytes(&self) -> usize {
        self.items.len() * 25
            + self.first_segment.len() * 8
            + self.before.iter().map(|(k, _)| k.len() + 16).sum::<usize>()
    }
}

/// A segment of the previous request kept for the next one: what it takes to list it again
/// without reading its message.
pub(crate) enum Kept {
    /// A block (its raw string's span in the body, which the new body repeats).
    Block {
        message_index: u32,
        block_index: u32,
        span: Range<usize>,
        query: String,
        tool_protected: bool,
        origin: Origin,
    },
    /// Read-only text.
    Seen { message_index: u32, text: String },
}

/// The previous request of the conversation, for [`segments_in`]: how much of it the new body
/// repeats, its layout, and its segments in order.
pub(crate) struct Before<'p> {
    /// Bytes the new body shares with the previous body from the start.
    pub common: usize,
    pub layout: &'p Layout,
    pub kept: &'p dyn Fn(std::ops::Range<usize>) -> Vec<Kept>,
}

/// The messages of the previous request that this one repeats byte for byte, and the offset
/// just after the last of them; `None` when it repeats none.
fn repeated(before: &Before<'_>) -> Option<(usize, usize)> {
    let common = before.common;
    // Messages wholly inside the common prefix. The one after the last of them (or the end
    // of the list) is read anew.
    let k = before.layout.items.iter().take_while(|r| r.end <= common).count();
    (k > 0).then(|| (k, before.layout.items[k - 1].end))
}

/// [`segments`], reusing `before` when this body repeats its first messages: the body is
/// validated from the first message it does not repeat, the messages before it are listed
/// from the previous request's segments, and the dialect walker reads only from the last
/// message that sets what later ones read. Falls back to reading the whole body when that
/// cannot be done exactly. Also returns this body's layout for the next request.
pub(crate) fn segments_in<'a>(
    dialect: Dialect,
    body: &'a str,
    opts: &crate::Options,
    before: Option<&Before<'_>>,
) -> Result<(Vec<Segment<'a>>, Layout), CompressError> {
    if let Some(before) = before
        && let Some((k, at)) = repeated(before)
        && let Some(done) = resumed(dialect, body, opts, before, k, at)
    {
        return Ok(done);
    }
    let root = raw::root(body)?;
    walk_all(dialect, body, &root, opts)
}

/// Read the whole body.
fn walk_all<'a>(
    dialect: Dialect,
    body: &'a str,
    root: &Object<'a>,
    opts: &crate::Options,
) -> Result<(Vec<Segment<'a>>, Layout), CompressError> {
    let list = list_field(dialect);
    if dialect == Dialect::OpenAiResponses && !openai_responses::has_list(root)? {
        return Ok((Vec::new(), Layout { head: crate::context::Head::of(root), ..Layout::default() }));
    }
    let (raws, parsed): (Vec<Raw<'a>>, Vec<Object<'a>>) = raw::object_list(root, list)?.into_iter().unzip();
    let items: Vec<Range<usize>> = raws.iter().map(|r| raw::span(body, *r)).collect();
    let assistant: Vec<bool> = parsed.iter().map(|m| is_assistant(dialect, m)).collect();
    let mut walk = Walk::new(&assistant, opts);
    preamble(dialect, root, &mut walk);
    let preamble_len = walk.out.len();
    let mut state = State::default();
    let mut first_segment = Vec::with_capacity(parsed.len() + 1);
    for (i, msg) in parsed.iter().enumerate() {
        first_segment.push(walk.out.len());
        message(dialect, &mut state, i, msg, &mut walk, opts);
    }
    first_segment.push(walk.out.len());
    let before = fields_before(body, root, list);
    let head = crate::context::Head::of(root);
    Ok((
        walk.out,
        Layout {
            items,
            assistant,
            before,
            preamble: preamble_len,
            first_segment,
            unread: 0,
            head,
            kept: 0..0,
        },
    ))
}

/// Read the body from its `k`th message, the bytes before `at` being the previous request's.
fn resumed<'a>(
    dialect: Dialect,
    body: &'a str,
    opts: &crate::Options,
    before: &Before<'_>,
    k: usize,
    at: usize,
) -> Option<(Vec<Segment<'a>>, Layout)> {
    let list = list_field(dialect);
    let layout = before.layout;
    let rest = raw::rest_of_top_level_array(body, at)?;
    // The object as a whole read would see it: the fields before the list (same bytes), the
    // list, the fields after it.
    let list_start = layout.items.first()?.start;
    let list_open = body[..list_start].rfind('[')?;
    let mut fields: Vec<(std::borrow::Cow<'a, str>, Raw<'a>)> = layout
        .before
        .iter()
        .map(|(k, r)| (std::borrow::Cow::Owned(k.clone()), Raw::trusted(&body[r.clone()])))
        .collect();
    fields.push((std::borrow::Cow::Borrowed(list), Raw::trusted(&body[list_open..rest.array_end])));
    fields.extend(rest.fields);
    let root = Object::from_fields(fields);
    if root.get(list).map(|r| r.get().as_ptr()) != Some(body[list_open..].as_ptr()) {
        return None;
    }
    let mut items: Vec<Raw<'a>> = layout.items[..k].iter().map(|r| Raw::trusted(&body[r.clone()])).collect();
    items.extend(rest.items);
    let mut assistant = layout.assistant[..k].to_vec();
    let mut parsed = Vec::with_capacity(items.len() - k);
    for item in &items[k..] {
        let obj = Object::parse(*item)?;
        assistant.push(is_assistant(dialect, &obj));
        parsed.push(obj);
    }
    let mut walk = Walk::new(&assistant, opts);
    preamble(dialect, &root, &mut walk);
    let preamble_len = walk.out.len();
    // The messages before `k`: listed again from the previous request's segments.
    let kept = (before.kept)(layout.preamble..*layout.first_segment.get(k)?);
    let mut first_segment = Vec::with_capacity(items.len() + 1);
    let mut next = 0;
    for seg in kept {
        let m = match &seg {
            Kept::Block { message_index, .. } | Kept::Seen { message_index, .. } => *message_index as usize,
        };
        while next <= m {
            first_segment.push(walk.out.len());
            next += 1;
        }
        walk.kept(seg, body);
    }
    while next < k {
        first_segment.push(walk.out.len());
        next += 1;
    }
    // The state the messages from `k` on read: from the last message before `k` that sets it.
    // Each message of that window is parsed once, on the way back to it.
    let mut window = Vec::new();
    for i in (0..k).rev() {
        let msg = Object::parse(items[i])?;
        let sets = resets(dialect, &msg);
        window.push((i, msg));
        if sets {
            break;
        }
    }
    let start = window.last().map_or(0, |(i, _)| *i);
    let mut state = State::default();
    walk.muted = true;
    for (i, msg) in window.iter().rev() {
        message(dialect, &mut state, *i, msg, &mut walk, opts);
    }
    walk.muted = false;
    state.counting_misses = start > 0;
    for (j, msg) in parsed.iter().enumerate() {
        first_segment.push(walk.out.len());
        message(dialect, &mut state, k + j, msg, &mut walk, opts);
    }
    first_segment.push(walk.out.len());
    if state.missed {
        // A call answered from before the messages re-read: only the whole walk knows it.
        return None;
    }
    let items = items.iter().map(|r| raw::span(body, *r)).collect();
    let before_fields = layout.before.clone();
    // The kept segments stand where their records do only behind a preamble of the same length.
    let kept = if preamble_len == layout.preamble { preamble_len..first_segment[k] } else { 0..0 };
    Some((
        walk.out,
        Layout {
            items,
            assistant,
            before: before_fields,
            preamble: preamble_len,
            first_segment,
            unread: start,
            head: crate::context::Head::of(&root),
            kept,
        },
    ))
}

/// The top-level fields before the list field, by name and span.
fn fields_before(body: &str, root: &Object<'_>, list: &str) -> Vec<(String, Range<usize>)> {
    root.fields().take_while(|(k, _)| *k != list).map(|(k, v)| (k.to_owned(), raw::span(body, v))).collect()
}

/// The top-level field holding the system prompt or instructions, if the dialect has one.
fn preamble_field(dialect: Dialect) -> Option<&'static str> {
    match dialect {
        Dialect::AnthropicMessages => anthropic::PREAMBLE,
        Dialect::OpenAiChat => openai_chat::PREAMBLE,
        Dialect::OpenAiResponses => openai_responses::PREAMBLE,
    }
}

fn list_field(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::AnthropicMessages => anthropic::LIST,
        Dialect::OpenAiChat => openai_chat::LIST,
        Dialect::OpenAiResponses => openai_responses::LIST,
    }
}

fn preamble(dialect: Dialect, root: &Object<'_>, walk: &mut Walk<'_>) {
    match dialect {
        Dialect::AnthropicMessages => anthropic::preamble(root, walk),
        Dialect::OpenAiChat => openai_chat::preamble(root, walk),
        Dialect::OpenAiResponses => openai_responses::preamble(root, walk),
    }
}

fn is_assistant(dialect: Dialect, msg: &Object<'_>) -> bool {
    match dialect {
        Dialect::AnthropicMessages => anthropic::is_assistant(msg),
        Dialect::OpenAiChat => openai_chat::is_assistant(msg),
        Dialect::OpenAiResponses => openai_responses::is_assistant(msg),
    }
}

fn resets(dialect: Dialect, msg: &Object<'_>) -> bool {
    match dialect {
        Dialect::AnthropicMessages => anthropic::resets(msg),
        Dialect::OpenAiChat => openai_chat::resets(msg),
        Dialect::OpenAiResponses => openai_responses::resets(msg),
    }
}

fn message<'a>(
    dialect: Dialect,
    state: &mut State,
    i: usize,
    msg: &Object<'a>,
    walk: &mut Walk<'a>,
    opts: &crate::Options,
) {
    match dialect {
        Dialect::AnthropicMessages => anthropic::message(state, i, msg, walk, opts),
        Dialect::OpenAiChat => openai_chat::message(state, i, msg, walk, opts),
        Dialect::OpenAiResponses => openai_responses::message(state, i, msg, walk, opts),
    }
}

/// What a dialect walker carries from one message to the next: the calls made so far (by id:
/// the tool's name and the text that asked for it) and the text the next user or tool
/// message answers.
#[derive(Default)]
pub(crate) struct State {
    calls: BTreeMap<String, (String, String)>,
    pub previous_text: String,
    /// Set when a looked-up call was not found while `counting_misses`: a walk that started
    /// part-way may not know it.
    counting_misses: bool,
    missed: bool,
}

impl State {
    /// Record a call; its hint is kept as blocks use it (the tail).
    pub fn insert_call(&mut self, id: String, name: String, query: &str) {
        self.calls.insert(id, (name, clip_query(query)));
    }

    /// The tool name and hint of call `id` (empty when unknown).
    pub fn call(&mut self, id: &str) -> (String, String) {
        match self.calls.get(id) {
            Some(c) => c.clone(),
            None => {
                self.missed |= self.counting_misses;
                Default::default()
            }
        }
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
    /// Read messages only for the state they leave: list nothing.
    pub muted: bool,
}

impl<'a> Walk<'a> {
    pub fn new(is_assistant: &[bool], opts: &crate::Options) -> Self {
        let turns = is_assistant.iter().filter(|a| **a).count() as u32;
        Self {
            out: Vec::new(),
            ages: ages(is_assistant),
            turns,
            frozen_count: opts.frozen_count,
            muted: false,
        }
    }

    /// List again a segment of the previous request, whose bytes `body` repeats.
    pub fn kept(&mut self, seg: Kept, body: &'a str) {
        match seg {
            Kept::Seen { message_index, text } => {
                let age = self.ages.get(message_index as usize).copied().unwrap_or(0);
                self.out.push(Segment::Seen { message_index, age, text });
            }
            Kept::Block { message_index, block_index, span, query, tool_protected, origin } => {
                self.out.push(Segment::Block(Candidate {
                    message_index,
                    block_index,
                    raw: Raw::trusted(&body[span]),
                    query,
                    age: self.ages.get(message_index as usize).copied().unwrap_or(0),
                    turns: self.turns,
                    protected: tool_protected || message_index < self.frozen_count,
                    tool_protected,
                    origin,
                }));
            }
        }
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
        if self.muted {
            return;
        }
        self.out.push(Segment::Block(Candidate {
            message_index: i as u32,
            block_index: b as u32,
            raw,
            query: clip_query(query),
            age: self.ages.get(i).copied().unwrap_or(0),
            turns: self.turns,
            protected: protected || (i as u32) < self.frozen_count,
            tool_protected: protected,
            origin,
        }));
    }

    /// Add text of message `i` that is only read (`None`: before the first message).
    pub fn seen(&mut self, i: Option<usize>, text: impl Into<String>) {
        if self.muted {
            return;
        }
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
        if self.muted {
            return;
        }
        if raw::is_str(content) {
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
