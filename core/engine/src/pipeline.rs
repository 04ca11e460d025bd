//! One block through the engine: gates, detection, routing, the never-worse check.
//!
//! A block has a first-sight rewrite (what it becomes when it is the newest output: the same
//! in every later request, so the provider's cached prefix stays valid) and, in token mode
//! once it has aged, an offloaded form. The first-sight text is what the conversation showed,
//! so it is also what later blocks may point back to.

use std::cell::OnceCell;

use crate::batch::Boundaries;
use crate::frame::{self, Framed};
use crate::history::History;
use crate::kind::ContentKind;
use crate::marker::Marker;
use crate::offload::{Offload, key_for};
use crate::options::{Mode, Options};
use crate::plugins::Plugins;
use crate::request::Origin;
use crate::tokens::TokenCounter;
use crate::transforms::query::Query;
use crate::transforms::{Ctx, Rewrite, aged, numbered, seen};
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
    /// Assistant turns in the whole request.
    pub turns: u32,
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
    /// What working the block out learnt about it.
    pub seed: Seed,
}

/// What working a block out learnt about the block alone (each a pure function of it), kept
/// with a conversation's memory so that offloading the block on a later turn does not work them
/// out again: its kind (detection was a tenth of a boundary turn), the key of its original and
/// its tokens.
#[derive(Debug, Clone, Default)]
pub struct Seed {
    kind: Option<ContentKind>,
    key: Option<String>,
    before: Option<u32>,
}

impl Seed {
    /// Bytes held, for hosts that bound what they keep.
    pub fn bytes(&self) -> usize {
        32 + self.key.as_ref().map_or(0, String::len)
    }
}

/// Blocks this small may still point back at lines shown earlier (a marker costs about 40).
pub const SEEN_MIN_TOKENS: u32 = 100;

/// The fewest bytes a block must have for any path of the pipeline to look at it, with
/// `min_tokens` as the options set it: a token spans at least one byte, and every gate is a
/// token count. A request body shorter than this cannot be rewritten, so a host may forward it
/// without calling the engine.
pub fn smallest_block_bytes(min_tokens: u32) -> usize {
    min_tokens.min(SEEN_MIN_TOKENS).min(crate::transforms::aged::MIN_TOKENS) as usize
}

/// Where a block stands against token mode's offload boundaries: everything about the
/// conversation beyond the block itself and the text before it that decides its outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    /// Offloaded now.
    pub aged: bool,
    /// Its first-sight text is needed (by this request or by later blocks' lookups).
    pub need_first_sight: bool,
    /// The boundary when the block was new (token mode only).
    pub boundary_then: Option<u32>,
}

impl Standing {
    /// The standing of `input` under `bounds`.
    pub fn of(input: &BlockInput<'_>, opts: &Options, bounds: &Boundaries) -> Self {
        let token = opts.mode == Mode::Token && opts.lossy;
        // The assistant turns before this block: its position, stable across requests.
        let turn = input.turns.saturating_sub(input.age);
        let cutoff = if token { bounds.at(input.turns) } else { None };
        let aged = cutoff.is_some_and(|b| turn <= b);
        // Younger blocks (those after the boundary) may point back only at blocks that were
        // not yet offloaded when they were new; older first-sight texts are not worked out.
        let need_first_sight =
            !aged || cutoff.is_some_and(|b| bounds.at(b + 1).is_none_or(|then| turn > then));
        let boundary_then = token.then(|| bounds.at(turn)).flatten();
        Self { aged, need_first_sight, boundary_then }
    }
}

/// Compress one block: the `before` plugins filter it first (whatever its size), and what they
/// return is the block from then on. With `known`, an offloaded block's first-sight text is
/// already known (a conversation's memory kept it in `history`): it is not worked out again,
/// `first_sight` comes back `None`, and what the earlier work learnt is taken as learnt.
pub fn process(
    input: &BlockInput<'_>,
    opts: &Options,
    counter: &dyn TokenCounter,
    history: &History,
    bounds: &Boundaries,
    plugins: &Plugins<'_>,
    known: Option<&Seed>,
) -> Processed {
    let unfiltered = |input: &BlockInput<'_>, opts, counter, history, bounds, plugins| {
        unfiltered(input, opts, counter, history, bounds, plugins, known)
    };
    if !plugins.has_filters() {
        return unfiltered(input, opts, counter, history, bounds, plugins);
    }
    let kind_cell = OnceCell::new();
    let kind = || {
        kind_cell
            .get_or_init(|| input.kind.clone().unwrap_or_else(|| crate::detect::detect(input.text)))
            .clone()
    };
    let Some((text, by)) = plugins.filter(input.text, &kind, input.query, opts.lossy) else {
        return unfiltered(input, opts, counter, history, bounds, plugins);
    };
    let filtered = BlockInput {
        text: &text,
        kind: input.kind.clone(),
        query: input.query,
        age: input.age,
        turns: input.turns,
        origin: input.origin,
    };
    let mut processed = unfiltered(&filtered, opts, counter, history, bounds, plugins);
    let name = format!("plugin:{}", by.join("+"));
    let tokens_before = counter.count(input.text);
    processed.result = Some(match processed.result {
        Some(mut r) => {
            match &r.status {
                Status::Compressed(t) => r.status = Status::Compressed(format!("{name}+{t}")),
                Status::Declined(_) => {
                    r.status = Status::Compressed(name);
                    r.text = Some(text.clone());
                }
            }
            r.tokens_before = tokens_before;
            r
        }
        None => BlockResult {
            kind: kind(),
            status: Status::Compressed(name),
            tokens_before,
            tokens_after: counter.count(&text),
            text: Some(text.clone()),
            offload: None,
        },
    });
    processed
}

/// A block after its filters.
fn unfiltered(
    input: &BlockInput<'_>,
    opts: &Options,
    counter: &dyn TokenCounter,
    history: &History,
    bounds: &Boundaries,
    plugins: &Plugins<'_>,
    known: Option<&Seed>,
) -> Processed {
    let Standing { aged, need_first_sight, boundary_then } = Standing::of(input, opts, bounds);
    let need_first_sight = need_first_sight && !(aged && known.is_some());
    let turn = input.turns.saturating_sub(input.age);
    let mut first_result = None;
    let mut first_text = None;
    // A block that is both shown as first seen and offloaded now is counted, unpadded,
    // unframed and detected once for the two.
    let prepared = Prepared::new(input, counter);
    if let Some(seed) = known {
        prepared.seed(seed);
    }
    if need_first_sight {
        // Earlier text is looked up by place (see `History::add`): this block's own place is
        // the newest, and what was already offloaded when it was new is not in view.
        let newest = i64::from(turn) + 1;
        let oldest = boundary_then.map_or(i64::MIN, |b| i64::from(b) + 2);
        let r = first_sight(&prepared, opts, history, (newest, oldest), plugins);
        first_text = Some(r.as_ref().and_then(|r| r.text.clone()).unwrap_or_else(|| input.text.to_owned()));
        first_result = r;
    }
    let result = if aged { offloaded(&prepared, opts) } else { first_result };
    Processed { result, first_sight: first_text, seed: prepared.learnt() }
}

fn first_sight(
    prepared: &Prepared<'_>,
    opts: &Options,
    history: &History,
    (newest, oldest): (i64, i64),
    plugins: &Plugins<'_>,
) -> Option<BlockResult> {
    let input = prepared.input;
    if input.origin == Origin::AssistantText {
        return None;
    }
    // Pointing at lines already shown pays off on much smaller blocks than transforming.
    let gate = if opts.lossy { opts.min_tokens.min(SEEN_MIN_TOKENS) } else { opts.min_tokens };
    decide(prepared, gate, opts.min_tokens, opts, |target, kind, ctx, tokens| {
        let own = if tokens >= opts.min_tokens {
            // Code and prose just read through a numbered listing (Claude Code's `Read`) stay
            // whole while fresh: `Edit` needs their exact lines.
            target.run(&kind(), ctx, false, |inner| {
                let k = kind();
                plugins.route(&k, inner, input.query, ctx, || route::run_enabled(&k, inner, ctx, opts))
            })
        } else {
            None
        };
        if !ctx.lossy {
            return own;
        }
        // Lines shown earlier are looked up as they were shown: frame and numbers included.
        let seen = seen::compress(target.text, ctx, history, newest, oldest);
        match (own, seen) {
            (Some(a), Some(b)) => Some(if b.text.len() < a.text.len() { b } else { a }),
            (a, b) => a.or(b),
        }
    })
}

fn offloaded(prepared: &Prepared<'_>, opts: &Options) -> Option<BlockResult> {
    let input = prepared.input;
    let min_tokens = aged::MIN_TOKENS.min(opts.min_tokens);
    decide(prepared, min_tokens, min_tokens, opts, |target, kind, ctx, _| match input.origin {
        Origin::AssistantText => aged::reasoning(target.text, ctx),
        _ => target.run(&kind(), ctx, true, |inner| aged::compress(inner, &kind(), ctx)),
    })
}

/// What [`decide`] works out about a block before any transform, computed once for every
/// path the block takes and only as far as a path needs it. Each part depends on the block
/// alone (the counter is a pure function of the text).
struct Prepared<'a> {
    input: &'a BlockInput<'a>,
    counter: &'a dyn TokenCounter,
    before: OnceCell<u32>,
    /// The unpadded listing, if any, and the frames of the text transforms see.
    work: OnceCell<(Option<String>, Option<Framed>)>,
    kind: OnceCell<ContentKind>,
    protected: OnceCell<bool>,
    key: OnceCell<String>,
    plain_after: OnceCell<u32>,
}

impl<'a> Prepared<'a> {
    fn new(input: &'a BlockInput<'a>, counter: &'a dyn TokenCounter) -> Self {
        Self {
            input,
            counter,
            before: OnceCell::new(),
            work: OnceCell::new(),
            kind: OnceCell::new(),
            protected: OnceCell::new(),
            key: OnceCell::new(),
            plain_after: OnceCell::new(),
        }
    }

    /// Take what earlier work on the same block learnt (see [`Seed`]).
    fn seed(&self, seed: &Seed) {
        if let Some(kind) = &seed.kind {
            let _ = self.kind.set(kind.clone());
        }
        if let Some(key) = &seed.key {
            let _ = self.key.set(key.clone());
        }
        if let Some(before) = seed.before {
            let _ = self.before.set(before);
        }
    }

    /// What this work learnt, for later work on the same block.
    fn learnt(&self) -> Seed {
        Seed {
            kind: self.kind.get().cloned(),
            key: self.key.get().cloned(),
            before: self.before.get().copied(),
        }
    }

    /// Tokens in the block.
    fn before(&self) -> u32 {
        *self.before.get_or_init(|| self.counter.count(self.input.text))
    }

    fn work(&self) -> &(Option<String>, Option<Framed>) {
        self.work.get_or_init(|| {
            let input = self.input;
            // A numbered listing in an output loses the padding of its line numbers before
            // anything else runs (the assistant's own prose is left as it wrote it, and a
            // diff keeps its marker column).
            let unpadded = (input.origin != Origin::AssistantText && input.kind != Some(ContentKind::Diff))
                .then(|| numbered::unpad(input.text))
                .flatten();
            let work = unpadded.as_deref().unwrap_or(input.text);
            // What the agent wrapped around the output (numbers, headers, envelopes) is not
            // what the output is: detection and transforms see the inside.
            let framed = (input.origin != Origin::AssistantText).then(|| frame::recognise(work)).flatten();
            (unpadded, framed)
        })
    }

    /// The block as transforms see it.
    fn target(&self) -> Target<'_> {
        let (unpadded, framed) = self.work();
        Target { text: unpadded.as_deref().unwrap_or(self.input.text), framed: framed.as_ref() }
    }

    fn kind(&self) -> ContentKind {
        self.kind
            .get_or_init(|| {
                self.input.kind.clone().unwrap_or_else(|| crate::detect::detect(self.target().inner()))
            })
            .clone()
    }

    /// Text that already carries our markers was compressed upstream of us.
    fn protected(&self) -> bool {
        *self.protected.get_or_init(|| !Marker::find_all(self.input.text).is_empty())
    }

    fn key(&self) -> &str {
        self.key.get_or_init(|| key_for(self.input.text))
    }

    /// Tokens in the unpadded listing.
    fn plain_after(&self, unpadded: &str) -> u32 {
        *self.plain_after.get_or_init(|| self.counter.count(unpadded))
    }
}

/// The gates shared by every path: size, markers already present, never worse. Blocks under
/// `report_from` tokens that the transform leaves alone are not reported (nor detected: detection
/// is the costliest step for the many small blocks of a long history).
fn decide(
    prepared: &Prepared<'_>,
    gate: u32,
    report_from: u32,
    opts: &Options,
    transform: impl FnOnce(&Target<'_>, &dyn Fn() -> ContentKind, &Ctx, u32) -> Option<Rewrite>,
) -> Option<BlockResult> {
    let input = prepared.input;
    let counter = prepared.counter;
    let text = input.text;
    // A BPE token spans at least one byte: shorter texts cannot reach the threshold.
    if text.len() < gate as usize {
        return None;
    }
    let before = prepared.before();
    if before < gate {
        return None;
    }
    let unpadded = &prepared.work().0;
    let target = prepared.target();
    let kind = || prepared.kind();
    let reported = before >= report_from;
    let declined = |reason| {
        reported.then(|| BlockResult {
            kind: kind(),
            status: Status::Declined(reason),
            text: None,
            tokens_before: before,
            tokens_after: before,
            offload: None,
        })
    };
    // Text that already carries our markers was compressed upstream of us: leave it.
    if prepared.protected() {
        return declined(DeclineReason::Protected);
    }
    let key = prepared.key();
    let query = Query::new(input.query);
    let ctx = Ctx { query: &query, key, lossy: opts.lossy };
    let transformed = transform(&target, &kind, &ctx, before)
        .filter(|r| (opts.lossy || !r.lossy) && !r.text.is_empty())
        .map(|r| {
            let after = counter.count(&r.text);
            (r, after)
        });
    // The unpadded listing alone, when no transform ran or it saved less.
    let plain = unpadded.as_ref().map(|t| {
        let after = prepared.plain_after(t);
        (Rewrite::lossless(t.clone(), "numbered:unpadded"), after)
    });
    let best = match (transformed, plain) {
        (Some(a), Some(b)) => Some(if b.1 < a.1 { b } else { a }),
        (a, b) => a.or(b),
    };
    let Some((rewrite, after)) = best else {
        return declined(DeclineReason::NoTransform);
    };
    if after >= before {
        return declined(DeclineReason::NotSmaller);
    }
    let offload = rewrite.lossy.then(|| Offload { key: key.to_owned(), original: text.to_owned() });
    Some(BlockResult {
        kind: kind(),
        status: Status::Compressed(rewrite.transform),
        text: Some(rewrite.text),
        tokens_before: before,
        tokens_after: after,
        offload,
    })
}

/// A block's text as transforms see it: the whole (unpadded) text, and its frames if any.
pub struct Target<'a> {
    /// The whole text.
    pub text: &'a str,
    /// Its frames, peeled off.
    pub framed: Option<&'a Framed>,
}

impl Target<'_> {
    /// The output inside the frames (the whole text when there are none).
    pub fn inner(&self) -> &str {
        self.framed.map_or(self.text, Framed::inner)
    }

    /// Run `transform` on the inner text and put the frames back around its rewrite; on the
    /// whole text when there is no frame, or when the frame keeps `kind` whole and `whole`
    /// allows it (otherwise nothing is done).
    pub fn run(
        &self,
        kind: &ContentKind,
        ctx: &Ctx,
        whole: bool,
        transform: impl FnOnce(&str) -> Option<Rewrite>,
    ) -> Option<Rewrite> {
        match self.framed {
            Some(f) if f.carries(kind) => transform(f.inner()).and_then(|r| f.wrap(r, ctx)),
            Some(_) if !whole => None,
            _ => transform(self.text),
        }
    }
}
