//! Engine options and their defaults (the WIT `options` record, with every field resolved).

/// How older history may be rewritten.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Each block is rewritten once, the same way on every turn: the upstream history stays
    /// append-only and the provider's prompt cache keeps hitting.
    Cache,
    /// As `Cache`, and tool outputs the agent has acted on are offloaded in batches, when
    /// the reads they would cost outweigh re-writing the history after them (see
    /// [`crate::batch`]). The default: on real agent traffic it bills far less (DECISIONS D31).
    #[default]
    Token,
}

/// Resolved options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// See [`Mode`].
    pub mode: Mode,
    /// Leading messages reproduced as they are (already forwarded untouched by the host).
    pub frozen_count: u32,
    /// Blocks below this many tokens are left alone.
    pub min_tokens: u32,
    /// Tool names whose results are never rewritten (case-insensitive; trailing `*` = prefix).
    pub protected_tools: Vec<String>,
    /// Relevance hint for `compress_content`.
    pub query: Option<String>,
    /// In token mode, tool outputs this many assistant turns old are offloaded.
    pub offload_after_turns: u32,
    /// In token mode, stale output that must be waiting before the offload boundary moves
    /// (see [`crate::batch`]); 0 offloads every stale output at once.
    pub offload_batch_tokens: u32,
    /// Whether lossy steps are allowed.
    pub lossy: bool,
    /// The model's context window in tokens, overriding the table of known models.
    pub context_limit: Option<u32>,
    /// What to do when a request does not fit its model's context window.
    pub context_strategy: ContextStrategy,
    /// Before dropping messages, try deeper compression (token mode, lossy) of the request.
    pub compress_first: bool,
    /// Outline source code (signatures kept, long bodies elided); false leaves code whole.
    pub code_aware: bool,
}

/// How messages are chosen when a request must lose some to fit the context window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContextStrategy {
    /// Lowest score first: recency, relevance to the latest user message, error
    /// indicators and references from later messages.
    #[default]
    Scored,
    /// By position only: the oldest first, but the first user message (the task) last.
    Position,
    /// A rolling window: the oldest first.
    Rolling,
    /// Never drop messages (nor compress deeper): the request goes as it is.
    Off,
}

/// Blocks under this many tokens rarely pay for a rewrite and are often what an agent reads
/// most closely (short `ls`, short errors).
pub const DEFAULT_MIN_TOKENS: u32 = 300;

/// Outputs older than this many assistant turns have been acted on; token mode offloads them.
pub const DEFAULT_OFFLOAD_AFTER_TURNS: u32 = 2;

impl Default for Options {
    fn default() -> Self {
        Self {
            mode: Mode::Token,
            frozen_count: 0,
            min_tokens: DEFAULT_MIN_TOKENS,
            protected_tools: Vec::new(),
            query: None,
            offload_after_turns: DEFAULT_OFFLOAD_AFTER_TURNS,
            offload_batch_tokens: crate::batch::DEFAULT_BATCH_TOKENS,
            lossy: true,
            context_limit: None,
            context_strategy: ContextStrategy::Scored,
            compress_first: true,
            code_aware: true,
        }
    }
}

impl Options {
    /// True when results of `tool` must not be rewritten.
    pub fn is_protected_tool(&self, tool: &str) -> bool {
        self.protected_tools.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => tool.len() >= prefix.len() && tool[..prefix.len()].eq_ignore_ascii_case(prefix),
            None => p.eq_ignore_ascii_case(tool),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protected_tools_match_case_insensitively_and_by_prefix() {
        let o = Options { protected_tools: vec!["Read".into(), "mcp__*".into()], ..Options::default() };
        assert!(o.is_protected_tool("read"));
        assert!(o.is_protected_tool("mcp__github__search"));
        assert!(!o.is_protected_tool("Bash"));
    }
}
