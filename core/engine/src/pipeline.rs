//! One block through the engine: gates, detection, routing, the never-worse check.
//!
//! A block has a first-sight rewrite (what it becomes when it is the newest output: the same
//! in every later request, so the provider's cached prefix stays valid) and, in token mode
//! once it has aged, an offloaded form. The first-sight text is what the conversation showed,
//! so it is also what later blocks may point back to.

use crate::history::History;
use crate::kind::ContentKind;
use crate::marker::Marker;
use crate::offload::{Offload, key_for};
use crate::options::{Mode, Options};
use crate::request::Origin;
use crate::tokens::TokenCounter;
use crate::transforms::query::Query;
use crate::transforms::{Ctx, Rewrite, aged, seen};
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

/// A block and its place in the conversation.
pub struct BlockInput<'a> {
    /// The text.
    pub text: &'a str,
    /// Kind hint, if the caller knows.
    pub kind: Option<ContentKind>,
    /// The relevance hint.
    pub query: &'a str,
    /// Assistant turns after the block (0 for the newest).
    pub age: u32,
    /// Where the text comes from.
    pub origin: Origin,
}

/// The outcome for a block: what is forwarded now, and the text it showed when first sent
/// (for the history index; `None` when it was not needed).
pub struct Processed {
    /// What to forward (`None`: the block is too small to be considered).
    pub result: Option<BlockResult>,
    /// The block as first forwarded, for [`History`].
    pub first_sight: Option<String>,
}

/// Compress one block.
pub fn process(
    input: &BlockInput<'_>,
    opts: &Options,
    counter: &dyn TokenCounter,
    history: &History,
) -> Processed {
    let n = opts.offload_after_turns;
    let aged = opts.mode == Mode::Token && input.age >= n && opts.lossy;
    // Younger blocks may point back only at blocks that were themselves not yet offloaded
    // when they were new; in token mode, older first-sight texts are never needed.
    let need_first_sight = opts.mode == Mode::Cache || input.age < n.saturating_mul(2);

    let mut first_result = None;
    let mut first_text = None;
    if need_first_sight || !aged {
        let r = first_sight(input, opts, counter, history);
        first_text = Some(r.as_ref().and_then(|r| r.text.clone()).unwrap_or_else(|| input.text.to_owned()));
        first_result = r;
    }
    let result = if aged { offloaded(input, opts, counter) } else { first_result };
    Processed { result, first_sight: need_first_sight.then_some(first_text).flatten() }
}

fn first_sight(
    input: &BlockInput<'_>,
    opts: &Options,
    counter: &dyn TokenCounter,
    history: &History,
) -> Option<BlockResult> {
    if input.origin == Origin::AssistantText {
        return None;
    }
    let window = if opts.mode == Mode::Token { opts.offload_after_turns.max(1) } else { u32::MAX };
    decide(input, opts.min_tokens, opts, counter, |text, kind, ctx| {
        let own = route::run(kind, text, ctx);
        if !ctx.lossy {
            return own;
        }
        // Earlier text, but not so old that it was already offloaded when this block was new.
        let seen = seen::compress(text, ctx, history, input.age, input.age.saturating_add(window - 1));
        match (own, seen) {
            (Some(a), Some(b)) => Some(if b.text.len() < a.text.len() { b } else { a }),
            (a, b) => a.or(b),
        }
    })
}

fn offloaded(input: &BlockInput<'_>, opts: &Options, counter: &dyn TokenCounter) -> Option<BlockResult> {
    let min_tokens = aged::MIN_TOKENS.min(opts.min_tokens);
    decide(input, min_tokens, opts, counter, |text, kind, ctx| match input.origin {
        Origin::AssistantText => aged::reasoning(text, ctx),
        _ => aged::compress(text, kind, ctx),
    })
}

/// The gates shared by every path: size, markers already present, never worse.
fn decide(
    input: &BlockInput<'_>,
    min_tokens: u32,
    opts: &Options,
    counter: &dyn TokenCounter,
    transform: impl FnOnce(&str, &ContentKind, &Ctx) -> Option<Rewrite>,
) -> Option<BlockResult> {
    let text = input.text;
    // A BPE token spans at least one byte: shorter texts cannot reach the threshold.
    if text.len() < min_tokens as usize {
        return None;
    }
    let before = counter.count(text);
    let kind = input.kind.clone().unwrap_or_else(|| crate::detect::detect(text));
    let declined = |kind: ContentKind, reason| {
        Some(BlockResult {
            kind,
            status: Status::Declined(reason),
            text: None,
            tokens_before: before,
            tokens_after: before,
            offload: None,
        })
    };
    if before < min_tokens {
        return declined(kind, DeclineReason::BelowThreshold);
    }
    // Text that already carries our markers was compressed upstream of us: leave it.
    if !Marker::find_all(text).is_empty() {
        return declined(kind, DeclineReason::Protected);
    }
    let key = key_for(text);
    let query = Query::new(input.query);
    let ctx = Ctx { query: &query, key: &key, lossy: opts.lossy };
    let Some(rewrite) = transform(text, &kind, &ctx) else {
        return declined(kind, DeclineReason::NoTransform);
    };
    if (rewrite.lossy && !opts.lossy) || rewrite.text.is_empty() {
        return declined(kind, DeclineReason::NoTransform);
    }
    let after = counter.count(&rewrite.text);
    if after >= before {
        return declined(kind, DeclineReason::NotSmaller);
    }
    let offload = rewrite.lossy.then(|| Offload { key, original: text.to_owned() });
    Some(BlockResult {
        kind,
        status: Status::Compressed(rewrite.transform),
        text: Some(rewrite.text),
        tokens_before: before,
        tokens_after: after,
        offload,
    })
}
