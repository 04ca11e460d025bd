//! Flags for context-window management and code-aware compression. The engine does the work
//! (so the npm package and the CLI behave the same); the proxy only chooses its options.

use headroom_runtime::wit;

/// What to do with requests over their model's context window, and whether code is outlined.
#[derive(clap::Args, Debug, Clone)]
pub struct ContextArgs {
    /// Over the context window, drop the oldest messages first (a rolling window) instead of
    /// the lowest-scoring ones.
    #[arg(long, env = "HEADROOM_NO_INTELLIGENT_CONTEXT")]
    pub no_intelligent_context: bool,
    /// Score messages by position only (oldest first, the task last), not by recency,
    /// relevance, errors and references.
    #[arg(long, env = "HEADROOM_NO_INTELLIGENT_SCORING")]
    pub no_intelligent_scoring: bool,
    /// Over the context window, drop messages straight away instead of first compressing
    /// the request deeper (token mode).
    #[arg(long, env = "HEADROOM_NO_COMPRESS_FIRST")]
    pub no_compress_first: bool,
    /// Outline source code in tool outputs (signatures kept, long bodies elided).
    #[arg(
        long,
        env = "HEADROOM_CODE_AWARE",
        value_name = "BOOL",
        num_args = 0..=1,
        default_value_t = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
    )]
    pub code_aware: bool,
    /// Leave source code whole.
    #[arg(long)]
    pub no_code_aware: bool,
}

/// Which messages go when a request does not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Lowest score first (the default).
    Scored,
    /// By position (`--no-intelligent-scoring`).
    Position,
    /// Oldest first (`--no-intelligent-context`).
    Rolling,
}

/// The resolved choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextConfig {
    /// See [`Strategy`].
    pub strategy: Strategy,
    /// Compress deeper before dropping messages.
    pub compress_first: bool,
    /// Outline source code.
    pub code_aware: bool,
}

impl Default for ContextConfig {
    fn default() -> Self {
        Self { strategy: Strategy::Scored, compress_first: true, code_aware: true }
    }
}

impl ContextArgs {
    /// Resolve the flags; a rolling window has no scores, so it wins over position scoring.
    pub fn resolve(&self) -> ContextConfig {
        let strategy = if self.no_intelligent_context {
            Strategy::Rolling
        } else if self.no_intelligent_scoring {
            Strategy::Position
        } else {
            Strategy::Scored
        };
        ContextConfig {
            strategy,
            compress_first: !self.no_compress_first,
            code_aware: self.code_aware && !self.no_code_aware,
        }
    }
}

impl ContextConfig {
    /// Set the engine options these choices govern.
    pub fn apply(&self, o: &mut wit::Options) {
        o.context_strategy = Some(match self.strategy {
            Strategy::Scored => wit::ContextStrategy::Scored,
            Strategy::Position => wit::ContextStrategy::Position,
            Strategy::Rolling => wit::ContextStrategy::Rolling,
        });
        o.compress_first = Some(self.compress_first);
        o.code_aware = Some(self.code_aware);
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        context: ContextArgs,
    }

    fn parse(args: &[&str]) -> ContextConfig {
        Cli::try_parse_from(std::iter::once("headroom").chain(args.iter().copied()))
            .expect("parses")
            .context
            .resolve()
    }

    #[test]
    fn flags_map_to_strategies_and_switches() {
        assert_eq!(parse(&[]), ContextConfig::default());
        assert_eq!(parse(&["--no-intelligent-scoring"]).strategy, Strategy::Position);
        assert_eq!(parse(&["--no-intelligent-context"]).strategy, Strategy::Rolling);
        assert_eq!(
            parse(&["--no-intelligent-context", "--no-intelligent-scoring"]).strategy,
            Strategy::Rolling
        );
        assert!(!parse(&["--no-compress-first"]).compress_first);
        assert!(!parse(&["--no-code-aware"]).code_aware);
        assert!(parse(&["--code-aware"]).code_aware);
        assert!(!parse(&["--code-aware", "false"]).code_aware);
    }
}
