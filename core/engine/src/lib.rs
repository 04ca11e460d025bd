//! Headroom's compression engine: a pure library.
//!
//! It takes a provider request (or a single tool output) and returns a smaller one that
//! carries the same facts. It does no I/O, reads no clock, spawns no threads and draws no
//! random numbers, so the same input and options give the same bytes natively, in wasmtime,
//! in Node and in the browser. Storage of originals, time, network and metrics belong to
//! hosts: the engine returns what to store ([`Offload`]) and the host stores it.
//!
//! Invariants the engine keeps (each has a named test in `tests/`):
//! - bytes it does not rewrite are forwarded exactly (raw JSON spans, splice only rewrites);
//! - a block's rewrite depends only on the block and what precedes it, so resending the same
//!   history reproduces the same bytes and the provider's prompt cache keeps hitting;
//! - a rewrite is kept only if it is smaller in real tokens (counted by the host's exact
//!   o200k_base tokenizer);
//! - every lossy edit leaves an exact [`marker::Marker`] and its original as an offload;
//! - roles, order, tool pairing and signed or redacted blocks are never altered.

mod api;
pub mod batch;
mod bytes;
pub mod context;
pub mod detect;
mod error;
pub mod frame;
pub mod history;
pub mod kind;
pub mod marker;
pub mod messages;
mod needles;
pub mod offload;
mod options;
mod pipeline;
pub mod plugins;
pub mod request;
pub mod retrieve_tool;
mod route;
pub mod session;
mod split;
pub mod tokens;
pub mod transforms;

pub use api::{
    BlockReport, ContentOutcome, DeclineReason, RequestOutcome, compress_content, compress_content_plugins,
    compress_request, compress_request_in, compress_request_in_plugins, compress_request_next_plugins,
    compress_request_plugins,
};
pub use context::models::ModelInfo;
pub use context::{ContextReport, untouched};
pub use error::CompressError;
pub use kind::ContentKind;
pub use messages::{MessageList, MessagesOutcome, compress_messages, compress_messages_plugins};
pub use offload::Offload;
pub use options::{ContextStrategy, DEFAULT_MIN_TOKENS, DEFAULT_OFFLOAD_AFTER_TURNS, Mode, Options};
pub use pipeline::{Status, smallest_block_bytes};
pub use request::{Dialect, Origin};
pub use tokens::TokenCounter;

/// Detect the content kind of `text`.
pub fn detect(text: &str) -> ContentKind {
    detect::detect(text)
}
