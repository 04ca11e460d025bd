//! One block through the engine: gates, detection, routing, the never-worse check.

use crate::kind::ContentKind;
use crate::marker::Marker;
use crate::offload::{Offload, key_for};
use crate::options::{Mode, Options};
use crate::tokens::TokenCounter;
use crate::transforms::query::Query;
use crate::transforms::{Ctx, aged};
use crate::{DeclineReason, route};

/// What happened to a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Rewritten by the named transform.
    Compressed(String),
    /// Left as it was.
    Declined(DeclineReason),
}

/// The result for one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockResult {
    /// The detected (or hinted) kind.
    pub kind: ContentKind,
    /// What happened.
    pub status: Status,
    /// New text when compressed.
    pub text: Option<String>,
    /// Tokens before.
    pub tokens_before: u32,
    /// Tokens after.
    pub tokens_after: u32,
    /// Original to store, for lossy rewrites.
    pub offload: Option<Offload>,
}

/// How a block is to be treated, from its place in the conversation.
pub struct BlockInput<'a> {
    /// The text.
    pub text: &'a str,
    /// Kind hint, if the caller knows.
    pub kind: Option<ContentKind>,
    /// The relevance hint.
    pub query: &'a str,
    /// Assistant turns after the block (0 for the newest).
    pub age: u32,
}

/// Compress one block. `None` when the block is too small to be considered at all.
pub fn process(
    input: &BlockInput<'_>,
    opts: &Options,
    counter: &dyn TokenCounter,
) -> Option<BlockResult> {
    let text = input.text;
    let aged = opts.mode == Mode::Token && input.age >= opts.offload_after_turns;
    let min_tokens = if aged {
        aged::MIN_TOKENS.min(opts.min_tokens)
    } else {
        opts.min_tokens
    };
    // A BPE token spans at least one byte: shorter texts cannot reach the threshold.
    if text.len() < min_tokens as usize {
        return None;
    }
    let before = counter.count(text);
    let declined = |kind: ContentKind, reason| BlockResult {
        kind,
        status: Status::Declined(reason),
        text: None,
        tokens_before: before,
        tokens_after: before,
        offload: None,
    };
    let kind = input
        .kind
        .clone()
        .unwrap_or_else(|| crate::detect::detect(text));
    if before < min_tokens {
        return Some(declined(kind, DeclineReason::BelowThreshold));
    }
    // Text that already carries our markers was compressed upstream of us: leave it.
    if !Marker::find_all(text).is_empty() {
        return Some(declined(kind, DeclineReason::Protected));
    }
    let key = key_for(text);
    let query = Query::new(input.query);
    let ctx = Ctx {
        query: &query,
        key: &key,
        lossy: opts.lossy,
    };
    let rewrite = if aged && opts.lossy {
        aged::compress(text, &kind, &ctx)
    } else {
        route::run(&kind, text, &ctx)
    };
    let Some(rewrite) = rewrite else {
        return Some(declined(kind, DeclineReason::NoTransform));
    };
    if rewrite.lossy && !opts.lossy {
        return Some(declined(kind, DeclineReason::NoTransform));
    }
    let after = counter.count(&rewrite.text);
    if after >= before || rewrite.text.is_empty() {
        return Some(declined(kind, DeclineReason::NotSmaller));
    }
    let offload = rewrite.lossy.then(|| Offload {
        key,
        original: text.to_owned(),
    });
    Some(BlockResult {
        kind,
        status: Status::Compressed(rewrite.transform),
        text: Some(rewrite.text),
        tokens_before: before,
        tokens_after: after,
        offload,
    })
}
