//! The routing table: content kind -> transform. It exists only here, so every host runs
//! the same choice.

use crate::kind::ContentKind;
use crate::transforms::{self, Ctx, Rewrite};

/// Run the transform for `kind`.
pub fn run(kind: &ContentKind, text: &str, ctx: &Ctx) -> Option<Rewrite> {
    match kind {
        ContentKind::Json => transforms::json::compress(text, ctx),
        ContentKind::Log => transforms::log::compress(text, ctx),
        ContentKind::Search => transforms::search::compress(text, ctx),
        ContentKind::Diff => transforms::diff::compress(text, ctx),
        ContentKind::Code => transforms::code::compress(text, ctx),
        ContentKind::StackTrace => transforms::stack_trace::compress(text, ctx),
        ContentKind::TestOutput => transforms::test_output::compress(text, ctx),
        ContentKind::Listing => transforms::listing::compress(text, ctx),
        ContentKind::Prose => transforms::prose::compress(text, ctx),
        ContentKind::Other(_) => None,
    }
}
