//! Context windows of models, in tokens: the one place that decides which models are known.
//!
//! A model id matches the longest entry of the table it starts with, when the entry is
//! followed by the end of the id or by `-`, `@` or `:` (dated and versioned ids:
//! `claude-3-5-sonnet-20241022`, `gpt-4o-2024-08-06`, `claude-sonnet-4@20250514`,
//! `...-v1:0`). An id the table does not list gets its family's window (`family`: `claude-*`,
//! `gpt-*`, `o<digits>`), so new models work the day they ship. Routing prefixes such as
//! `anthropic/`, `openai/` or Bedrock's `us.anthropic.` are ignored, and Claude Code's `[1m]`
//! suffix (`claude-sonnet-4-5[1m]`: the 1M-token window) states the window of a known model.
//! Ids that match nothing are unknown and get no window: the engine does not guess, and a
//! host that knows better passes `context_limit`.

use super::family;

/// (id prefix, window). Windows are the providers' default ones: Claude's 1M-token beta
/// needs a request header the engine does not see, so hosts state it with `context_limit`.
const MODELS: &[(&str, u32)] = &[
    // Anthropic
    ("claude-opus-4", 200_000),
    ("claude-sonnet-4", 200_000),
    ("claude-haiku-4", 200_000),
    ("claude-4", 200_000),
    ("claude-3-7-sonnet", 200_000),
    ("claude-3-5-sonnet", 200_000),
    ("claude-3-5-haiku", 200_000),
    ("claude-3-opus", 200_000),
    ("claude-3-sonnet", 200_000),
    ("claude-3-haiku", 200_000),
    ("claude-3", 200_000),
    ("claude-2.1", 200_000),
    ("claude-2.0", 100_000),
    ("claude-2", 100_000),
    ("claude-instant", 100_000),
    // OpenAI
    ("gpt-5", 400_000),
    ("gpt-5-chat", 128_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-4.5", 128_000),
    ("gpt-4o", 128_000),
    ("chatgpt-4o", 128_000),
    ("gpt-4-turbo", 128_000),
    ("gpt-4-0125-preview", 128_000),
    ("gpt-4-1106-preview", 128_000),
    ("gpt-4-32k", 32_768),
    ("gpt-4", 8_192),
    ("gpt-3.5-turbo", 16_385),
    ("gpt-3.5-turbo-instruct", 4_096),
    ("o1", 200_000),
    ("o1-mini", 128_000),
    ("o1-preview", 128_000),
    ("o3", 200_000),
    ("o3-mini", 200_000),
    ("o4-mini", 200_000),
    ("codex-mini", 200_000),
];

/// The window Claude Code's `[1m]` suffix asks for.
const ONE_MILLION: u32 = 1_000_000;

/// The suffix Claude Code appends to a model name for Anthropic's 1M-token context.
const ONE_MILLION_SUFFIX: &str = "[1m]";

/// A request's model as the engine knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelInfo {
    /// The request's `model`, as sent.
    pub name: String,
    /// Its window (table, then family rule); `None` for an unknown model.
    pub window: Option<u32>,
}

impl ModelInfo {
    /// What the engine knows of the model called `name`.
    pub fn of(name: &str) -> Self {
        Self { name: name.to_owned(), window: window(name) }
    }
}

/// The context window of `model`, if it is known (listed, or of a known family).
pub fn window(model: &str) -> Option<u32> {
    let id = model.rsplit('/').next().unwrap_or(model).trim().to_ascii_lowercase();
    let (id, one_million) = match id.strip_suffix(ONE_MILLION_SUFFIX) {
        Some(base) => (base, true),
        None => (id.as_str(), false),
    };
    // Bedrock and Vertex spell Anthropic ids with a region or vendor prefix.
    let id = match id.find("claude-") {
        Some(at) => &id[at..],
        None => id,
    };
    let known = listed(id).or_else(|| family::window(id))?;
    Some(if one_million { ONE_MILLION } else { known })
}

/// The window the table lists for `id`.
fn listed(id: &str) -> Option<u32> {
    MODELS
        .iter()
        .filter(|(prefix, _)| {
            id.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '@', ':']))
        })
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(_, w)| *w)
}

#[cfg(test)]
mod tests {
    use super::{ModelInfo, window};

    #[test]
    fn known_families_match_by_prefix_with_dated_suffixes() {
        assert_eq!(window("claude-3-5-sonnet-20241022"), Some(200_000));
        assert_eq!(window("claude-sonnet-4-5"), Some(200_000));
        assert_eq!(window("claude-opus-4-1-20250805"), Some(200_000));
        assert_eq!(window("us.anthropic.claude-3-7-sonnet-20250219-v1:0"), Some(200_000));
        assert_eq!(window("claude-sonnet-4@20250514"), Some(200_000));
        assert_eq!(window("gpt-4o-2024-08-06"), Some(128_000));
        assert_eq!(window("gpt-4o-mini"), Some(128_000));
        assert_eq!(window("openai/gpt-4.1-mini"), Some(1_047_576));
        assert_eq!(window("gpt-5-mini"), Some(400_000));
        assert_eq!(window("gpt-5-chat-latest"), Some(128_000));
        assert_eq!(window("o1-mini-2024-09-12"), Some(128_000));
        assert_eq!(window("o3"), Some(200_000));
        assert_eq!(window("o4-mini"), Some(200_000));
        assert_eq!(window("gpt-4-turbo-2024-04-09"), Some(128_000));
        assert_eq!(window("gpt-4"), Some(8_192));
        assert_eq!(window("gpt-4-0613"), Some(8_192));
        assert_eq!(window("gpt-3.5-turbo-0125"), Some(16_385));
    }

    #[test]
    fn a_prefix_must_end_at_a_separator() {
        // `gpt-4` must not claim `gpt-4o` or `gpt-4.1`; `o1` must not claim `o10x`.
        assert_eq!(window("gpt-4o"), Some(128_000));
        assert_eq!(window("gpt-4.1"), Some(1_047_576));
        assert_eq!(window("o10x"), None);
        assert_eq!(window("llama-3-70b"), None);
        assert_eq!(window(""), None);
    }

    #[test]
    fn unlisted_models_get_their_familys_window() {
        for id in ["claude-sonnet-5", "claude-opus-5", "claude-fable-5", "claude-opus-4-8", "claude-mock"] {
            assert_eq!(window(id), Some(200_000), "{id}");
        }
        assert_eq!(window("us.anthropic.claude-opus-5-20260101-v1:0"), Some(200_000));
        assert_eq!(window("anthropic/claude-fable-5"), Some(200_000));
        assert_eq!(window("gpt-5.1-codex"), Some(400_000));
        assert_eq!(window("openai/gpt-5.2"), Some(400_000));
        assert_eq!(window("gpt-mock"), Some(128_000));
        assert_eq!(window("o5-mini"), Some(200_000));
    }

    #[test]
    fn the_table_overrides_the_family_rule() {
        assert_eq!(window("claude-2.0"), Some(100_000));
        assert_eq!(window("claude-instant-1.2"), Some(100_000));
        assert_eq!(window("gpt-4-0613"), Some(8_192));
        assert_eq!(window("gpt-3.5-turbo"), Some(16_385));
        assert_eq!(window("gpt-5-chat-latest"), Some(128_000));
        assert_eq!(window("o1-mini"), Some(128_000));
    }

    #[test]
    fn claude_codes_1m_suffix_states_the_window_of_a_known_model() {
        assert_eq!(window("claude-sonnet-4-5[1m]"), Some(1_000_000));
        assert_eq!(window("claude-sonnet-4-5-20250929[1M]"), Some(1_000_000));
        assert_eq!(window("claude-sonnet-5[1m]"), Some(1_000_000));
        assert_eq!(window("llama-3[1m]"), None, "an unknown model stays unknown");
        assert_eq!(window("claude-sonnet-4-5[1m]-x"), Some(200_000), "only as a suffix");
    }

    #[test]
    fn model_info_keeps_the_name_as_sent() {
        let info = ModelInfo::of("Claude-Sonnet-5");
        assert_eq!((info.name.as_str(), info.window), ("Claude-Sonnet-5", Some(200_000)));
        assert_eq!(ModelInfo::of("mystery-model").window, None);
    }
}
