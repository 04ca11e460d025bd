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
    /// Outline source code in tool outputs (signatures kept, long bodies elided; on by default).
    /// `HEADROOM_CODE_AWARE` is read too when the documented variable is not set.
    #[arg(
        long,
        env = "HEADROOM_CODE_AWARE_ENABLED",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new(),
    )]
    pub code_aware: Option<bool>,
    /// Leave source code whole.
    #[arg(long)]
    pub no_code_aware: bool,
    /// The context window in tokens for every request, instead of the model's known window
    /// (for models the proxy does not know, or a provider's larger window).
    #[arg(long, env = "HEADROOM_CONTEXT_LIMIT")]
    pub context_limit: Option<u32>,
}

/// A switch's value as clap's boolish parser reads it; `None` when it is not one.
fn boolish(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "on" => Some(true),
        "0" | "false" | "no" | "n" | "off" => Some(false),
        _ => None,
    }
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
    /// A window for every request, overriding the model table.
    pub limit: Option<u32>,
}

impl Default for ContextConfig {
    fn default() -> Self {
        Self { strategy: Strategy::Scored, compress_first: true, code_aware: true, limit: None }
    }
}

/// The window Anthropic gives a request that opts into its 1M-token context beta.
pub const ANTHROPIC_1M_WINDOW: u32 = 1_000_000;

/// True when an `anthropic-beta` header asks for the 1M-token context window.
pub fn wants_1m_context(headers: &http::HeaderMap) -> bool {
    headers
        .get_all("anthropic-beta")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|beta| beta.trim().starts_with("context-1m"))
}

impl ContextArgs {
    /// Resolve the flags; a rolling window has no scores, so it wins over position scoring.
    pub fn resolve(&self) -> ContextConfig {
        self.resolve_with(|k| std::env::var(k).ok())
    }

    /// [`ContextArgs::resolve`] with `env` for the environment (the twin variable names that
    /// clap does not bind).
    pub fn resolve_with(&self, env: impl Fn(&str) -> Option<String>) -> ContextConfig {
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
            code_aware: self
                .code_aware
                .or_else(|| env("HEADROOM_CODE_AWARE").and_then(|v| boolish(&v)))
                .unwrap_or(true)
                && !self.no_code_aware,
            limit: self.context_limit,
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
        o.context_limit = self.limit;
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
        assert_eq!(parse(&["--context-limit", "500000"]).limit, Some(500_000));
    }

    #[test]
    fn our_code_aware_variable_is_read_when_the_documented_one_is_not_set() {
        let args = |a: &[&str]| {
            Cli::try_parse_from(std::iter::once("headroom").chain(a.iter().copied())).expect("parses").context
        };
        let ours = |v: &'static str| move |k: &str| (k == "HEADROOM_CODE_AWARE").then(|| v.to_owned());
        assert!(!args(&[]).resolve_with(ours("false")).code_aware);
        assert!(!args(&[]).resolve_with(ours("0")).code_aware);
        assert!(args(&[]).resolve_with(ours("on")).code_aware);
        assert!(args(&[]).resolve_with(|_| None).code_aware);
        // A flag wins over the environment.
        assert!(args(&["--code-aware"]).resolve_with(ours("false")).code_aware);
    }

    #[test]
    fn the_1m_beta_is_recognised_among_others() {
        let mut h = http::HeaderMap::new();
        assert!(!wants_1m_context(&h));
        h.append("anthropic-beta", "prompt-caching-2024-07-31, context-1m-2025-08-07".parse().unwrap());
        assert!(wants_1m_context(&h));
    }
}
