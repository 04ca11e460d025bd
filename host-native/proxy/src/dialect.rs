//! The engine's dialect between its native and WIT types, and the names `POST /v1/compress`
//! and the npm package give it (`format`: `anthropic`, `openai`, `openai-responses`).

use headroom_runtime::wit::Dialect;

/// The native engine's dialect.
pub fn to_core(d: Dialect) -> headroom_core::Dialect {
    match d {
        Dialect::AnthropicMessages => headroom_core::Dialect::AnthropicMessages,
        Dialect::OpenaiChat => headroom_core::Dialect::OpenAiChat,
        Dialect::OpenaiResponses => headroom_core::Dialect::OpenAiResponses,
    }
}

/// The component's dialect.
pub fn from_core(d: headroom_core::Dialect) -> Dialect {
    match d {
        headroom_core::Dialect::AnthropicMessages => Dialect::AnthropicMessages,
        headroom_core::Dialect::OpenAiChat => Dialect::OpenaiChat,
        headroom_core::Dialect::OpenAiResponses => Dialect::OpenaiResponses,
    }
}

/// A message format by name.
pub fn parse_format(name: &str) -> Option<Dialect> {
    match name {
        "anthropic" => Some(Dialect::AnthropicMessages),
        "openai" => Some(Dialect::OpenaiChat),
        "openai-responses" => Some(Dialect::OpenaiResponses),
        _ => None,
    }
}

/// A dialect's message-format name.
pub fn format_name(d: Dialect) -> &'static str {
    match d {
        Dialect::AnthropicMessages => "anthropic",
        Dialect::OpenaiChat => "openai",
        Dialect::OpenaiResponses => "openai-responses",
    }
}
