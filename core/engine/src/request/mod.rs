//! Provider request bodies: find the blocks worth compressing, splice their rewrites back.
//!
//! Each dialect module lists [`Candidate`]s (tool outputs, and command output sent as user
//! messages) with their raw JSON string spans; everything else (system prompts, text a
//! person typed, assistant turns, tool_use inputs, thinking blocks and their signatures) is
//! never a candidate and so is forwarded byte for byte.

mod anthropic;
pub mod machine_output;
mod openai_chat;
mod openai_responses;
pub mod raw;

use serde_json::value::RawValue;

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

/// A block that may be rewritten.
pub struct Candidate<'a> {
    /// Index of the message (Responses: input item).
    pub message_index: u32,
    /// Index of the content block within it.
    pub block_index: u32,
    /// The raw JSON string holding the block's text.
    pub raw: &'a RawValue,
    /// The text that precedes the block: the call or command it answers.
    pub query: String,
    /// Assistant turns after this block's message.
    pub age: u32,
    /// Never rewrite (protected tool, or inside the frozen prefix).
    pub protected: bool,
    /// The text is a wrapped command output; only its inner output may change.
    pub machine_output: bool,
}

/// List the candidates of a body in the given dialect.
pub fn candidates<'a>(
    dialect: Dialect,
    body: &'a str,
    opts: &crate::Options,
) -> Result<Vec<Candidate<'a>>, CompressError> {
    let root = raw::root(body)?;
    match dialect {
        Dialect::AnthropicMessages => anthropic::candidates(&root, opts),
        Dialect::OpenAiChat => openai_chat::candidates(&root, opts),
        Dialect::OpenAiResponses => openai_responses::candidates(&root, opts),
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

/// Number of assistant turns after each message, given each message's role.
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
pub(crate) fn clip_query(mut q: String) -> String {
    const MAX: usize = 2000;
    if q.len() > MAX {
        let mut cut = q.len() - MAX;
        while !q.is_char_boundary(cut) {
            cut += 1;
        }
        q.drain(..cut);
    }
    q
}
