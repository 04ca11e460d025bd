//! The routing table: content kind -> transform. It exists only here, so every host runs
//! the same choice.

use crate::kind::ContentKind;
use crate::options::Options;
use crate::transforms::{self, Ctx, Rewrite};

/// Run the transform for `kind`, unless the options switch it off.
pub fn run_enabled(kind: &ContentKind, text: &str, ctx: &Ctx, opts: &Options) -> Option<Rewrite> {
    if *kind == ContentKind::Code && !opts.code_aware {
        return None;
    }
    run(kind, text, ctx)
}

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

#[cfg(test)]
mod tests {
    use crate::{ContentKind, Options, compress_content};

    const SOURCE: &str = include_str!("transforms/code/testdata/cache_rs.txt");

    #[test]
    fn code_aware_off_leaves_source_code_whole() {
        let count = |s: &str| (s.len() / 4) as u32;
        let on = compress_content(SOURCE, Some(ContentKind::Code), &Options::default(), &count);
        assert!(on.transform.starts_with("code:"), "{}", on.transform);
        let off = Options { code_aware: false, ..Options::default() };
        let out = compress_content(SOURCE, Some(ContentKind::Code), &off, &count);
        assert_eq!(out.transform, "declined:no-transform");
        assert_eq!(out.text, None);
    }
}
