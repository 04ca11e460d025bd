//! Context-window management: a request that does not fit its model's window is first
//! compressed deeper, then loses its lowest-ranked messages behind one retrieval marker.
//!
//! Requests that fit are not touched here at all, so the normal (cache-safe) output is
//! unchanged for them. A request over the window would be refused by the provider, so
//! changing its history (and missing the prompt cache on that turn and the over-window turns
//! after it) is the lesser cost.

mod conversation;
mod family;
mod fit;
pub mod models;
pub mod quick;
mod score;
#[cfg(test)]
mod tests;

use crate::api::RequestOutcome;
use crate::error::CompressError;
use crate::options::{ContextStrategy, Mode, Options};
use crate::request::Dialect;
use crate::request::raw;
use crate::tokens::TokenCounter;
use fit::Measured;

/// What context management did to a request that did not fit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextReport {
    /// The context window applied, in tokens.
    pub window: u32,
    /// Output tokens the request asked for (`max_tokens` and its twins), reserved in the window.
    pub output_budget: u32,
    /// Input tokens after the normal compression, before context management.
    pub tokens_before: u32,
    /// Input tokens as forwarded.
    pub tokens_after: u32,
    /// Whether the request was compressed deeper (token mode, lossy) first.
    pub compressed_deeper: bool,
    /// Messages dropped.
    pub messages_dropped: u32,
    /// Retrieval key of the dropped messages' original JSON, when any were dropped.
    pub key: Option<String>,
}

/// Fields that state the output budget, in the three dialects.
const OUTPUT_FIELDS: &[&str] = &["max_tokens", "max_completion_tokens", "max_output_tokens"];

/// What the window check reads of a request's top level: its model and output budget. The
/// walk reads them from the top level it has already parsed (on a remembered turn, without
/// reading the message list again).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Head {
    model: Option<String>,
    budget: u32,
}

impl Head {
    /// The head of a parsed top level.
    pub(crate) fn of(root: &raw::Object<'_>) -> Self {
        Self { model: root.str("model").map(std::borrow::Cow::into_owned), budget: output_budget(root) }
    }
}

/// The output budget the request states (0: none).
fn output_budget(root: &raw::Object<'_>) -> u32 {
    OUTPUT_FIELDS
        .iter()
        .find_map(|f| root.get(f).and_then(|v| v.get().parse::<u64>().ok()))
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

/// Whether the engine would forward `body` exactly as it is, known without running it: the
/// body is a JSON object shorter than the smallest block the pipeline looks at
/// ([`crate::smallest_block_bytes`]), and no longer in bytes (so in tokens) than its window
/// less its output budget. A host may then skip the call. `false` means "run the engine", not
/// that it would change anything. The length is checked first: a large body is not read.
pub fn untouched(body: &[u8], min_tokens: u32, context_limit: Option<u32>) -> bool {
    if body.len() >= crate::smallest_block_bytes(min_tokens) {
        return false;
    }
    let Ok(body) = std::str::from_utf8(body) else { return false };
    let Ok(root) = raw::root(body) else { return false };
    let window =
        context_limit.or_else(|| root.str("model").and_then(|name| models::ModelInfo::of(&name).window));
    let Some(window) = window else { return true };
    let budget = output_budget(&root);
    body.len() <= window.saturating_sub(budget) as usize
}

/// Make `outcome` (the normal compression of `original`) fit its model's window, and say what
/// the engine knows of the model (hosts count the unknown ones).
/// `recompress` runs the normal compression with other options.
/// `memo`: the conversation's counts from its previous turn, when the host keeps them.
/// `head`: the top level's model and budget as the walk read them.
#[allow(clippy::too_many_arguments, reason = "the engine's one call after the walk")]
pub(crate) fn manage(
    dialect: Dialect,
    original: &str,
    head: &Head,
    outcome: RequestOutcome,
    opts: &Options,
    counter: &dyn TokenCounter,
    memo: Option<&mut quick::TallyMemo>,
    recompress: impl Fn(&Options) -> Result<RequestOutcome, CompressError>,
) -> Result<RequestOutcome, CompressError> {
    let model = head.model.as_deref().map(models::ModelInfo::of);
    let window = opts.context_limit.or_else(|| model.as_ref().and_then(|m| m.window));
    let mut outcome = match window {
        Some(window) if opts.context_strategy != ContextStrategy::Off => {
            fit_window(dialect, original, outcome, (window, head.budget), opts, counter, memo, recompress)?
        }
        _ => outcome,
    };
    outcome.model = model;
    Ok(outcome)
}

/// [`manage`] for a request with a window: `(window, output budget)`.
#[allow(clippy::too_many_arguments, reason = "one private step of `manage`, called once")]
fn fit_window(
    dialect: Dialect,
    original: &str,
    outcome: RequestOutcome,
    (window, budget): (u32, u32),
    opts: &Options,
    counter: &dyn TokenCounter,
    memo: Option<&mut quick::TallyMemo>,
    recompress: impl Fn(&Options) -> Result<RequestOutcome, CompressError>,
) -> Result<RequestOutcome, CompressError> {
    let limit = window.saturating_sub(budget);
    let body = body_text(&outcome, original)?;
    // A token is at least one byte: a body no longer than the limit fits without counting.
    if body.len() <= limit as usize {
        if let Some(memo) = memo {
            memo.idle();
        }
        return Ok(outcome);
    }
    // The decision the full measurement below would reach, from the previous turn's counts and
    // a bound on what is not counted yet.
    if let Some(memo) = memo
        && memo.fits(dialect, body, counter, limit) == Some(true)
    {
        return Ok(outcome);
    }
    let Some(first) = Measured::of(dialect, body, counter)? else { return Ok(outcome) };
    let tokens_before = first.tally.total();
    if tokens_before <= limit {
        return Ok(outcome);
    }
    let mut report = ContextReport {
        window,
        output_budget: budget,
        tokens_before,
        tokens_after: tokens_before,
        compressed_deeper: false,
        messages_dropped: 0,
        key: None,
    };
    let mut outcome = outcome;
    if opts.compress_first {
        let deeper = Options {
            mode: Mode::Token,
            lossy: true,
            offload_after_turns: opts.offload_after_turns.min(1),
            // Over the window the cache is lost anyway: every stale output goes now.
            offload_batch_tokens: 0,
            ..opts.clone()
        };
        outcome = recompress(&deeper)?;
        report.compressed_deeper = true;
    }
    let body = body_text(&outcome, original)?.to_owned();
    let Some(current) = Measured::of(dialect, &body, counter)? else { return Ok(outcome) };
    report.tokens_after = current.tally.total();
    if report.tokens_after > limit {
        let originals = conversation::parse(dialect, original)?
            .map(|c| c.items.iter().map(|i| i.raw.get()).collect::<Vec<_>>())
            .unwrap_or_default();
        if originals.len() == current.conv.items.len()
            && let Some(dropped) =
                fit::drop_to_fit(&current, &originals, limit, opts.context_strategy, counter)
        {
            report.tokens_after = dropped.tokens;
            report.messages_dropped = dropped.count;
            report.key = Some(dropped.offload.key.clone());
            outcome.offloads.push(dropped.offload);
            outcome.body = Some(dropped.body.into_bytes());
        }
    }
    outcome.context = Some(report);
    Ok(outcome)
}

fn body_text<'a>(outcome: &'a RequestOutcome, original: &'a str) -> Result<&'a str, CompressError> {
    match &outcome.body {
        Some(b) => std::str::from_utf8(b)
            .map_err(|e| CompressError::Internal(format!("compressed body is not UTF-8: {e}"))),
        None => Ok(original),
    }
}
