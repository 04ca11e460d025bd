//! Transforms: one module per content kind, each a pure function from a block's text to an
//! optional rewrite. Lossless steps run first; lossy steps only when `Ctx::lossy` allows and
//! they still pay, and every lossy edit leaves a [`crate::marker::Marker`] citing `Ctx::key`.
//!
//! A transform never has to check "is it smaller in tokens": the pipeline counts tokens and
//! keeps the original when the rewrite does not pay.

pub mod aged;
pub mod code;
pub mod diff;
pub mod errors;
pub mod json;
pub mod lines;
pub mod listing;
pub mod log;
pub mod numbered;
pub mod prose;
pub mod query;
pub mod search;
pub mod seen;
pub mod stack_trace;
pub mod test_output;

use query::Query;

/// Everything a transform may look at besides the text itself. All of it comes from the
/// block and what precedes it, so a rewrite is stable when the block is sent again.
pub struct Ctx<'a> {
    /// The relevance hint: terms from the text that preceded the block (the command or
    /// question it answers). Lines and items that mention them are kept.
    pub query: &'a Query,
    /// The retrieval key of the whole block text; markers cite it.
    pub key: &'a str,
    /// Whether lossy steps are allowed.
    pub lossy: bool,
}

/// A transform's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewrite {
    /// The new text.
    pub text: String,
    /// `kind:step`, e.g. `json:table` or `log:templates+sample`.
    pub transform: String,
    /// True when information was dropped (the original is then offloaded under `Ctx::key`).
    pub lossy: bool,
}

impl Rewrite {
    /// A lossless rewrite.
    pub fn lossless(text: String, transform: impl Into<String>) -> Self {
        Self { text, transform: transform.into(), lossy: false }
    }
    /// A lossy rewrite (its text must carry at least one marker).
    pub fn lossy(text: String, transform: impl Into<String>) -> Self {
        Self { text, transform: transform.into(), lossy: true }
    }
}
