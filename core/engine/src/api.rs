//! The engine's entry points, mirroring the WIT `compressor` interface.

use crate::batch::Boundaries;
use crate::context::models::ModelInfo;
use crate::context::{self, ContextReport};
use crate::error::CompressError;
use crate::history::History;
use crate::kind::ContentKind;
use crate::offload::Offload;
use crate::options::Options;
use crate::pipeline::{self, BlockInput, Seed, Standing, Status};
use crate::plugins::{NoPlugins, PluginHost, Plugins};
use crate::request::{self, Candidate, Dialect, Origin, Segment, machine_output, raw};
use crate::session::{BlockKey, BlockOutcome, Memory, Previous, Recall, Record, Recorded, Reuse};
use crate::tokens::TokenCounter;

/// Why a block was left as it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclineReason {
    /// Smaller than `min_tokens`.
    BelowThreshold,
    /// Frozen, protected tool, or already carrying markers.
    Protected,
    /// No transform applies.
    NoTransform,
    /// The rewrite was not smaller in real tokens.
    NotSmaller,
}

/// One line of the per-block report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockReport {
    /// Message (or Responses input item) index.
    pub message_index: u32,
    /// Block index within the message.
    pub block_index: u32,
    /// Detected kind.
    pub kind: ContentKind,
    /// What was done.
    pub status: Status,
    /// Tokens as received.
    pub tokens_before: u32,
    /// Tokens as forwarded.
    pub tokens_after: u32,
    /// Where the block's text comes from.
    pub origin: Origin,
}

/// Result of [`compress_request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestOutcome {
    /// The new body; `None` when nothing changed.
    pub body: Option<Vec<u8>>,
    /// Blocks considered (those of at least `min_tokens` bytes outside the frozen prefix).
    pub report: Vec<BlockReport>,
    /// Originals of lossy edits, one per key.
    pub offloads: Vec<Offload>,
    /// What context management did, when the request did not fit its model's window.
    pub context: Option<ContextReport>,
    /// The request's model and the window the engine knows for it; `None` without a `model`.
    pub model: Option<ModelInfo>,
}

/// Result of [`compress_content`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentOutcome {
    /// New text, or `None` when unchanged.
    pub text: Option<String>,
    /// Detected or hinted kind.
    pub kind: ContentKind,
    /// Transform name, or the decline reason.
    pub transform: String,
    /// Tokens before.
    pub tokens_before: u32,
    /// Tokens after.
    pub tokens_after: u32,
    /// Originals to store.
    pub offloads: Vec<Offload>,
}

/// Compress a provider request body, then fit it to its model's context window.
pub fn compress_request(
    dialect: Dialect,
    body: &[u8],
    opts: &Options,
    counter: &dyn TokenCounter,
) -> Result<RequestOutcome, CompressError> {
    compress_request_plugins(dialect, body, opts, counter, &NoPlugins)
}

/// [`compress_request`] with the plugins `host` has loaded.
pub fn compress_request_plugins(
    dialect: Dialect,
    body: &[u8],
    opts: &Options,
    counter: &dyn TokenCounter,
    host: &dyn PluginHost,
) -> Result<RequestOutcome, CompressError> {
    let body = std::str::from_utf8(body)
        .map_err(|e| CompressError::MalformedRequest(format!("body is not UTF-8: {e}")))?;
    let plugins = Plugins::new(host);
    let (outcome, head) = compress_blocks(dialect, body, opts, counter, &plugins)?;
    context::manage(dialect, body, &head, outcome, opts, counter, None, |deeper| {
        compress_blocks(dialect, body, deeper, counter, &plugins).map(|(outcome, _)| outcome)
    })
}

/// Rewrite the request's blocks, each on its own; also the request's head.
fn compress_blocks(
    dialect: Dialect,
    body: &str,
    opts: &Options,
    counter: &dyn TokenCounter,
    plugins: &Plugins<'_>,
) -> Result<(RequestOutcome, context::Head), CompressError> {
    let mut previous = Previous::none();
    let (outcome, _, layout, _) = walk(dialect, body, opts, counter, &mut previous, false, plugins)?;
    Ok((outcome, layout.head))
}

/// [`compress_request`] for one request of a conversation whose earlier requests left
/// `memory`: the same outcome, byte for byte, with the work already done reused (see
/// [`crate::session`]). The memory is updated for the next request.
pub fn compress_request_in(
    memory: &mut Memory,
    dialect: Dialect,
    body: &[u8],
    opts: &Options,
    counter: &dyn TokenCounter,
) -> Result<(RequestOutcome, Reuse), CompressError> {
    compress_request_in_plugins(memory, dialect, body, opts, counter, &NoPlugins)
}

/// [`compress_request_in`] with the plugins `host` has loaded. The memory is kept only
/// while the plugin set stays the same (a rewrite depends on it).
pub fn compress_request_in_plugins(
    memory: &mut Memory,
    dialect: Dialect,
    body: &[u8],
    opts: &Options,
    counter: &dyn TokenCounter,
    host: &dyn PluginHost,
) -> Result<(RequestOutcome, Reuse), CompressError> {
    let plugins = Plugins::new(host);
    let mut previous = memory.begin(dialect, opts, plugins.list());
    let body = match previous.text_of(body) {
        Ok(body) => body,
        Err(e) => {
            *memory = Memory::default();
            return Err(CompressError::MalformedRequest(format!("body is not UTF-8: {e}")));
        }
    };
    let walked = walk(dialect, body, opts, counter, &mut previous, true, &plugins);
    let (outcome, records, layout, reuse) = match walked {
        Ok(w) => w,
        Err(e) => {
            // A request that cannot be read leaves nothing to reuse.
            *memory = Memory::default();
            return Err(e);
        }
    };
    let head = layout.head.clone();
    memory.end(body, records, layout, previous, reuse);
    memory.handed.clear();
    let outcome =
        context::manage(dialect, body, &head, outcome, opts, counter, Some(&mut memory.tally), |deeper| {
            compress_blocks(dialect, body, deeper, counter, &plugins).map(|(outcome, _)| outcome)
        })?;
    memory.handed.extend(outcome.offloads.iter().map(|o| o.key.clone()));
    Ok((outcome, reuse))
}

/// [`compress_request_in_plugins`], with the outcome's `offloads` limited to the originals not
/// handed over with the conversation's previous outcome; the keys of the others are returned
/// beside it. Keys are hashes of their originals, so a host that holds a key holds its
/// original; one that lost some calls [`compress_request_in_plugins`] for the same body.
pub fn compress_request_next_plugins(
    memory: &mut Memory,
    dialect: Dialect,
    body: &[u8],
    opts: &Options,
    counter: &dyn TokenCounter,
    host: &dyn PluginHost,
) -> Result<(RequestOutcome, Reuse, Vec<String>), CompressError> {
    let handed = std::mem::take(&mut memory.handed);
    let (mut outcome, reuse) = compress_request_in_plugins(memory, dialect, body, opts, counter, host)?;
    let (new, kept): (Vec<Offload>, Vec<Offload>) =
        outcome.offloads.into_iter().partition(|o| !handed.contains(&o.key));
    outcome.offloads = new;
    Ok((outcome, reuse, kept.into_iter().map(|o| o.key).collect()))
}

/// Position of text `age` assistant turns old in a request with `turns` (see
/// [`History::add`]).
fn position(turns: u32, age: u32) -> u32 {
    (turns + 1).saturating_sub(age)
}

/// Walk the request's segments in order, reusing what `previous` recorded for the leading
/// segments that match it; with `record`, also return the records and layout for the next
/// request.
fn walk(
    dialect: Dialect,
    body: &str,
    opts: &Options,
    counter: &dyn TokenCounter,
    previous: &mut Previous,
    record: bool,
    plugins: &Plugins<'_>,
) -> Result<(RequestOutcome, Vec<Record>, request::Layout, Reuse), CompressError> {
    let kept = |range| previous.kept(range);
    let before = previous.before().map(|(layout, common)| request::Before { common, layout, kept: &kept });
    let (segments, layout) = request::segments_in(dialect, body, opts, before.as_ref())?;
    previous.know(layout.kept.clone());
    let bounds = offload_plan(&segments, opts);
    let turns = turns_of(&segments);
    let total = segments.len();
    let mut records = Vec::with_capacity(if record { total } else { 0 });
    let mut reuse = Reuse { segments: 0, total: total as u32, unread_messages: layout.unread as u32 };
    let mut edits = Vec::new();
    let mut report = Vec::new();
    let mut offloads: Vec<Offload> = Vec::new();
    // Keys already in `offloads` (a block repeated in a history offloads under one key).
    let mut offloaded: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (j, segment) in segments.into_iter().enumerate() {
        let c = match segment {
            Segment::Seen { message_index, age, text } => {
                let at = position(turns, age);
                let matched = previous.seen_matches(j, message_index, at, &text);
                let history_before = previous.history_before(j, matched);
                if matched || previous.recall_seen(j, message_index, at, &text) {
                    reuse.segments += 1;
                } else {
                    previous.history.add(message_index, at, text.clone());
                }
                if record {
                    records.push(Record {
                        history_before,
                        what: Recorded::Seen { message_index, position: at, text },
                    });
                }
                continue;
            }
            Segment::Block(c) => c,
        };
        let span = raw::span(body, c.raw);
        let input_at = |text| BlockInput {
            text,
            kind: None,
            query: &c.query,
            age: c.age,
            turns: c.turns,
            origin: c.origin,
        };
        let standing = (!c.protected).then(|| Standing::of(&input_at(""), opts, &bounds));
        let key = BlockKey {
            message_index: c.message_index,
            block_index: c.block_index,
            span: span.clone(),
            query: c.query.clone(),
            position: position(c.turns, c.age),
            protected: c.protected,
            tool_protected: c.tool_protected,
            origin: c.origin,
            standing,
        };
        let matched = previous.block_matches(j, &key, c.raw.get().as_bytes()).is_some();
        let history_before = previous.history_before(j, matched);
        let outcome = if matched {
            reuse.segments += 1;
            previous.take_outcome(j)
        } else {
            match previous.recall_block(j, &key, c.raw.get().as_bytes()) {
                Recall::Outcome(outcome) => {
                    reuse.segments += 1;
                    outcome
                }
                recall => {
                    let shown = match &recall {
                        Recall::Offload(seeds) => Shown::Known(seeds),
                        _ => Shown::WorkOut,
                    };
                    let history = &mut previous.history;
                    let outcome =
                        block_outcome(&c, opts, counter, history, &bounds, key.position, plugins, shown)?;
                    if matches!(shown, Shown::WorkOut) {
                        previous.adopt(j, history_before);
                    }
                    outcome
                }
            }
        };
        if let Some(edit) = &outcome.edit {
            edits.push((span.clone(), edit.clone()));
        }
        for (kind, status, before, after) in &outcome.reports {
            report.push(BlockReport {
                message_index: c.message_index,
                block_index: c.block_index,
                kind: kind.clone(),
                status: status.clone(),
                tokens_before: *before,
                tokens_after: *after,
                origin: c.origin,
            });
        }
        for (k, original) in &outcome.offloads {
            if offloaded.insert(k.clone()) {
                offloads.push(Offload { key: k.clone(), original: original.clone() });
            }
        }
        if record {
            records.push(Record { history_before, what: Recorded::Block { key, outcome } });
        }
    }
    previous.finish(total);
    let body = (!edits.is_empty()).then(|| request::splice(body, edits));
    Ok((RequestOutcome { body, report, offloads, context: None, model: None }, records, layout, reuse))
}

/// Whether a block's first-sight texts are still to be worked out and added to the index.
#[derive(Clone, Copy)]
enum Shown<'a> {
    WorkOut,
    /// A newly offloaded block whose first-sight texts the memory kept, with what working
    /// out each of its ranges learnt.
    Known(&'a [Seed]),
}

/// One block through the pipeline, each machine-output range of it on its own; what it
/// showed is added to `history` (unless already `Shown::Known`).
#[allow(clippy::too_many_arguments)]
fn block_outcome(
    c: &Candidate<'_>,
    opts: &Options,
    counter: &dyn TokenCounter,
    history: &mut History,
    bounds: &Boundaries,
    at: u32,
    plugins: &Plugins<'_>,
    shown: Shown<'_>,
) -> Result<BlockOutcome, CompressError> {
    let mut outcome = BlockOutcome::default();
    let Some(text) = raw::as_str(c.raw) else { return Ok(outcome) };
    let ranges = match c.origin {
        Origin::UserText => machine_output::find(&text),
        Origin::ToolOutput | Origin::AssistantText => std::iter::once(0..text.len()).collect(),
    };
    if ranges.is_empty() || c.protected {
        // Typed by a person, or forwarded untouched: shown to the model as it is.
        if matches!(shown, Shown::WorkOut) {
            history.add(c.message_index, at, text.into_owned());
        }
        outcome.shown_as_is = true;
        return Ok(outcome);
    }
    let mut new_text = String::new();
    let mut copied = 0;
    let mut changed = false;
    let none = Seed::default();
    for (i, range) in ranges.into_iter().enumerate() {
        let input = BlockInput {
            text: &text[range.clone()],
            kind: None,
            query: &c.query,
            age: c.age,
            turns: c.turns,
            origin: c.origin,
        };
        let known = match shown {
            Shown::WorkOut => None,
            Shown::Known(seeds) => Some(seeds.get(i).unwrap_or(&none)),
        };
        let processed = pipeline::process(&input, opts, counter, history, bounds, plugins, known);
        if let Some(shown) = processed.first_sight {
            history.add(c.message_index, at, shown);
        }
        outcome.seeds.push(processed.seed);
        let Some(result) = processed.result else { continue };
        if let Some(new_inner) = &result.text {
            new_text.push_str(&text[copied..range.start]);
            new_text.push_str(new_inner);
            copied = range.end;
            changed = true;
        }
        if let Some(off) = result.offload {
            // A filtered block's original is the filtered text, never the block as received.
            outcome.offloads.push((off.key, off.original));
        }
        outcome.reports.push((result.kind, result.status, result.tokens_before, result.tokens_after));
    }
    if changed {
        new_text.push_str(&text[copied..]);
        outcome.edit = Some(
            serde_json::to_string(&new_text)
                .map_err(|e| CompressError::Internal(format!("re-encoding a block failed: {e}")))?,
        );
    }
    Ok(outcome)
}

/// Assistant turns in the request (every block carries the count).
fn turns_of(segments: &[Segment<'_>]) -> u32 {
    segments
        .iter()
        .find_map(|s| match s {
            Segment::Block(c) => Some(c.turns),
            Segment::Seen { .. } => None,
        })
        .unwrap_or(0)
}

/// Token mode's offload boundaries for this request's history (none in cache mode).
fn offload_plan(segments: &[Segment<'_>], opts: &Options) -> Boundaries {
    if opts.mode != crate::Mode::Token || !opts.lossy {
        return Boundaries::default();
    }
    let turns = turns_of(segments);
    let pieces: Vec<(u32, usize, bool)> = segments
        .iter()
        .map(|s| match s {
            Segment::Block(c) => (c.turns.saturating_sub(c.age), c.raw.get().len(), !c.protected),
            Segment::Seen { age, text, .. } => (turns.saturating_sub(*age), text.len(), false),
        })
        .collect();
    Boundaries::plan(pieces, turns, opts.offload_after_turns, opts.offload_batch_tokens)
}

/// Compress one piece of text (a single tool output).
pub fn compress_content(
    text: &str,
    kind: Option<ContentKind>,
    opts: &Options,
    counter: &dyn TokenCounter,
) -> ContentOutcome {
    compress_content_plugins(text, kind, opts, counter, &NoPlugins)
}

/// [`compress_content`] with the plugins `host` has loaded.
pub fn compress_content_plugins(
    text: &str,
    kind: Option<ContentKind>,
    opts: &Options,
    counter: &dyn TokenCounter,
    host: &dyn PluginHost,
) -> ContentOutcome {
    let plugins = Plugins::new(host);
    let query = opts.query.clone().unwrap_or_default();
    let input =
        BlockInput { text, kind: kind.clone(), query: &query, age: 0, turns: 0, origin: Origin::ToolOutput };
    match pipeline::process(
        &input,
        opts,
        counter,
        &History::default(),
        &Boundaries::default(),
        &plugins,
        None,
    )
    .result
    {
        Some(r) => ContentOutcome {
            transform: match &r.status {
                Status::Compressed(t) => t.clone(),
                Status::Declined(reason) => format!("declined:{}", reason.name()),
            },
            text: r.text,
            kind: r.kind,
            tokens_before: r.tokens_before,
            tokens_after: r.tokens_after,
            offloads: r.offload.into_iter().collect(),
        },
        None => {
            let n = counter.count(text);
            ContentOutcome {
                text: None,
                kind: kind.unwrap_or_else(|| crate::detect::detect(text)),
                transform: format!("declined:{}", DeclineReason::BelowThreshold.name()),
                tokens_before: n,
                tokens_after: n,
                offloads: Vec::new(),
            }
        }
    }
}

impl DeclineReason {
    /// Stable kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::BelowThreshold => "below-threshold",
            Self::Protected => "protected",
            Self::NoTransform => "no-transform",
            Self::NotSmaller => "not-smaller",
        }
    }
}
