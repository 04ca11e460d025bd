//! What may leave the process: [`Exported`], built from a request's record, holds numbers,
//! the proxy's own static names and [`Label`]s. A `Label` is short, made of identifier
//! characters, and refused when it looks like a key or a file path, so no prompt, content,
//! key, header or path can be put in an export by construction.

use crate::accounting::Record;

/// Longest label.
const MAX_LABEL: usize = 64;

/// A short identifier safe to export (a model name, a transform name, a request id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label(String);

impl Label {
    /// `s` when it is at most 64 identifier characters (`A-Z a-z 0-9 . _ - : / @ +`), does not
    /// start like a key (`sk-`, `pk-`, `key-`, `Bearer`) and is not a path (`/`, `~`, `.`
    /// first, or `..` inside); `None` otherwise.
    pub fn new(s: &str) -> Option<Self> {
        let ok = !s.is_empty()
            && s.len() <= MAX_LABEL
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/' | '@' | '+'))
            && !["sk-", "pk-", "key-", "Bearer", "/", "~", "."].iter().any(|p| s.starts_with(p))
            && !s.contains("..");
        ok.then(|| Self(s.to_owned()))
    }

    /// `s` as a label, or `fallback` (a static, known-safe name).
    pub fn or(s: &str, fallback: &'static str) -> Self {
        Self::new(s).unwrap_or_else(|| Self(fallback.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One transform's part of a request.
#[derive(Debug, Clone)]
pub struct ExportedTransform {
    /// Its name.
    pub name: Label,
    /// Blocks it rewrote.
    pub blocks: u32,
    /// Tokens before and after.
    pub tokens_before: u64,
    /// Tokens after.
    pub tokens_after: u64,
    /// Its share of the engine time, nanoseconds.
    pub nanos: u64,
}

/// A request as exported: timings, token counts and bounded names, nothing else.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The proxy's request id.
    pub request_id: Label,
    /// `anthropic` / `openai`.
    pub provider: &'static str,
    /// The route.
    pub route: &'static str,
    /// The model (`other` when it is not a safe label).
    pub model: Label,
    /// The conversation's short id.
    pub session: Option<Label>,
    /// `HEADROOM_SDK`.
    pub sdk: Option<Label>,
    /// HTTP status.
    pub status: u16,
    /// An event stream.
    pub streaming: bool,
    /// Bypassed compression.
    pub bypass: bool,
    /// Arrival, Unix nanoseconds.
    pub start_ns: u64,
    /// Arrival until ready to go upstream.
    pub overhead_ns: u64,
    /// Engine time.
    pub compression_ns: u64,
    /// Arrival to first byte.
    pub ttfb_ns: Option<u64>,
    /// Arrival to last byte.
    pub latency_ns: u64,
    /// Compressible tokens as received.
    pub tokens_before: u64,
    /// As forwarded.
    pub tokens_after: u64,
    /// Provider-reported input tokens (all kinds).
    pub input_tokens: Option<u64>,
    /// Provider-reported output tokens.
    pub output_tokens: Option<u64>,
    /// Provider-reported cache reads.
    pub cache_read_tokens: Option<u64>,
    /// Per transform.
    pub transforms: Vec<ExportedTransform>,
    /// Compression failed (the original went).
    pub compression_failed: bool,
    /// Error kind (the proxy's own names).
    pub error_kind: Option<&'static str>,
    /// Retrieval continuations.
    pub retrieval_rounds: u32,
}

fn nanos(ms: f64) -> u64 {
    (ms.max(0.0) * 1e6) as u64
}

impl Exported {
    /// The exportable part of `r`.
    pub fn of(r: &Record, sdk: Option<&Label>) -> Self {
        Self {
            request_id: Label::or(&r.request_id, "unknown"),
            provider: r.provider,
            route: r.path,
            model: Label::or(&r.model, "other"),
            session: r.session.as_deref().and_then(Label::new),
            sdk: sdk.cloned(),
            status: r.status,
            streaming: r.streaming,
            bypass: r.bypass,
            start_ns: r.at_ms.saturating_mul(1_000_000),
            overhead_ns: nanos(r.overhead_ms),
            compression_ns: nanos(r.compression_ms),
            ttfb_ns: r.ttfb_ms.map(nanos),
            latency_ns: nanos(r.latency_ms),
            tokens_before: r.tokens_before,
            tokens_after: r.tokens_after,
            input_tokens: r.usage.map(|u| u.input_total()),
            output_tokens: r.usage.map(|u| u.output),
            cache_read_tokens: r.usage.map(|u| u.cache_read),
            transforms: r
                .transforms
                .iter()
                .take(32)
                .map(|t| ExportedTransform {
                    name: Label::or(&t.name, "other"),
                    blocks: t.blocks,
                    tokens_before: t.tokens_before,
                    tokens_after: t.tokens_after,
                    nanos: nanos(t.ms),
                })
                .collect(),
            compression_failed: r.compression_failed,
            error_kind: r.error_kind,
            retrieval_rounds: r.retrieval_rounds,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_refuse_keys_paths_and_text() {
        for bad in [
            "sk-ant-api03-abcdefghijklmnop",
            "/home/me/.ssh/id_rsa",
            "~/secrets",
            "../etc/passwd",
            "a b",
            "tell me a secret",
            "",
            &"x".repeat(65),
        ] {
            assert!(Label::new(bad).is_none(), "{bad}");
        }
        for good in ["gpt-4o", "claude-sonnet-4-5@20250929", "openrouter/anthropic/claude", "log_template"] {
            assert_eq!(Label::new(good).unwrap().as_str(), good);
        }
    }
}
