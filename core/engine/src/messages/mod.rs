//! Compressing a bare list of messages (no request around it): what `POST /v1/compress`,
//! `headroom compress` and the npm package's `compress()` do, in one place.
//!
//! The list is wrapped into a request body of its dialect (sniffed when not given), compressed
//! as a request, and unwrapped; the list's bytes go into the body as they came, so what the
//! engine does not rewrite comes back byte for byte.

mod count;
mod sniff;

pub use count::count;
use serde_json::Value;
pub use sniff::{sniff, sniff_body};

use crate::api::{BlockReport, compress_request_plugins};
use crate::context::ContextReport;
use crate::error::CompressError;
use crate::offload::Offload;
use crate::options::Options;
use crate::plugins::{NoPlugins, PluginHost};
use crate::request::{Dialect, raw};
use crate::tokens::TokenCounter;

/// A list of messages to compress.
#[derive(Debug, Clone, Copy)]
pub struct MessageList<'a> {
    /// The messages' dialect; sniffed from their shape when `None`.
    pub dialect: Option<Dialect>,
    /// The model they are for: only its context window is read. `None`: no window applies
    /// (unless `context_limit` is set) and no message is ever dropped.
    pub model: Option<&'a str>,
    /// An Anthropic `system` prompt, as JSON: read as context, never rewritten; a hint for
    /// the sniffer. Ignored by the OpenAI dialects.
    pub system: Option<&'a str>,
    /// The messages (Responses: `input` items), a JSON array of objects.
    pub messages: &'a str,
}

/// What [`compress_messages`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessagesOutcome {
    /// The dialect the messages were read as.
    pub dialect: Dialect,
    /// The new list (a JSON array), or `None` when nothing changed.
    pub messages: Option<String>,
    /// Tokens of the list as received ([`count`]).
    pub tokens_before: u64,
    /// Tokens of the list as returned.
    pub tokens_after: u64,
    /// One entry per block looked at.
    pub report: Vec<BlockReport>,
    /// Originals of lossy edits, for the host to store.
    pub offloads: Vec<Offload>,
    /// Set when the messages did not fit the model's window.
    pub context: Option<ContextReport>,
}

/// Compress a list of messages.
pub fn compress_messages(
    list: &MessageList<'_>,
    opts: &Options,
    counter: &dyn TokenCounter,
) -> Result<MessagesOutcome, CompressError> {
    compress_messages_plugins(list, opts, counter, &NoPlugins)
}

/// [`compress_messages`] with the plugins `host` has loaded.
pub fn compress_messages_plugins(
    list: &MessageList<'_>,
    opts: &Options,
    counter: &dyn TokenCounter,
    host: &dyn PluginHost,
) -> Result<MessagesOutcome, CompressError> {
    let messages = parse_list(list.messages)?;
    if let Some(system) = list.system {
        serde_json::from_str::<serde::de::IgnoredAny>(system)
            .map_err(|e| CompressError::MalformedRequest(format!("`system` is not JSON: {e}")))?;
    }
    let dialect = list.dialect.unwrap_or_else(|| sniff(&messages, list.system.is_some()));
    let tokens_before = count(&messages, counter);
    let body = wrap(dialect, list);
    let outcome = compress_request_plugins(dialect, body.as_bytes(), opts, counter, host)?;
    let (new_messages, tokens_after) = match &outcome.body {
        Some(b) => {
            let text = unwrap(dialect, b)?;
            let after = count(&parse_list(&text)?, counter);
            (Some(text), after)
        }
        None => (None, tokens_before),
    };
    Ok(MessagesOutcome {
        dialect,
        messages: new_messages,
        tokens_before,
        tokens_after,
        report: outcome.report,
        offloads: outcome.offloads,
        context: outcome.context,
    })
}

/// [`count`] of a JSON array of messages.
pub fn count_json(messages: &str, counter: &dyn TokenCounter) -> Result<u64, CompressError> {
    Ok(count(&parse_list(messages)?, counter))
}

/// [`sniff`] of a JSON array of messages.
pub fn sniff_json(messages: &str, has_system: bool) -> Result<Dialect, CompressError> {
    Ok(sniff(&parse_list(messages)?, has_system))
}

/// The messages as values: a JSON array of objects, or an error that says which item is not.
fn parse_list(messages: &str) -> Result<Vec<Value>, CompressError> {
    let value: Value = serde_json::from_str(messages)
        .map_err(|e| CompressError::MalformedRequest(format!("`messages` is not JSON: {e}")))?;
    let Value::Array(items) = value else {
        return Err(CompressError::MalformedRequest("`messages` must be an array of message objects".into()));
    };
    if let Some(i) = items.iter().position(|m| !m.is_object()) {
        return Err(CompressError::MalformedRequest(format!("messages[{i}] must be an object")));
    }
    Ok(items)
}

/// The request body of `dialect` around the list (the list's bytes as they came).
fn wrap(dialect: Dialect, list: &MessageList<'_>) -> String {
    let mut body = String::with_capacity(list.messages.len() + 64);
    body.push('{');
    if let Some(model) = list.model {
        body.push_str("\"model\":");
        body.push_str(&Value::from(model).to_string());
        body.push(',');
    }
    match (dialect, list.system) {
        (Dialect::AnthropicMessages, Some(system)) => {
            body.push_str("\"system\":");
            body.push_str(system);
            body.push_str(",\"messages\":");
        }
        (Dialect::OpenAiResponses, _) => body.push_str("\"input\":"),
        _ => body.push_str("\"messages\":"),
    }
    body.push_str(list.messages);
    body.push('}');
    body
}

/// The list out of a body the engine returned, as its raw JSON.
fn unwrap(dialect: Dialect, body: &[u8]) -> Result<String, CompressError> {
    let field = if dialect == Dialect::OpenAiResponses { "input" } else { "messages" };
    let body = std::str::from_utf8(body)
        .map_err(|e| CompressError::Internal(format!("the rewritten body is not UTF-8: {e}")))?;
    let root = raw::root(body).map_err(|e| CompressError::Internal(format!("the rewritten body: {e}")))?;
    root.get(field)
        .map(|r| r.get().to_owned())
        .ok_or_else(|| CompressError::Internal(format!("the rewritten body has no `{field}`")))
}

#[cfg(test)]
mod tests;
