//! Which upstream a request belongs to, and the error format its clients expect.

use http::HeaderMap;

/// An upstream API family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// api.anthropic.com and compatibles.
    Anthropic,
    /// api.openai.com and compatibles.
    OpenAi,
}

impl Provider {
    /// Decide from the path, then from Anthropic-only headers; OpenAI otherwise.
    pub fn for_request(path: &str, headers: &HeaderMap) -> Self {
        if path.starts_with("/v1/messages") || path.starts_with("/v1/complete") {
            return Self::Anthropic;
        }
        if path.starts_with("/v1/chat/")
            || path.starts_with("/v1/responses")
            || path.starts_with("/v1/embeddings")
        {
            return Self::OpenAi;
        }
        if headers.contains_key("anthropic-version") || headers.contains_key("x-api-key") {
            Self::Anthropic
        } else {
            Self::OpenAi
        }
    }

    /// Lower-case name for logs and health output.
    pub fn name(self) -> &'static str {
        match self {
            Self::Anthropic => "anthropic",
            Self::OpenAi => "openai",
        }
    }
}
