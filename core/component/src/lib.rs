//! The component adapter: the only place wit-bindgen is used. It converts between WIT types
//! and headroom-core's, counts tokens through the host's `tokenizer` import and calls plugins
//! through its `plugins` import.

#![allow(unsafe_code, reason = "wit-bindgen's generated export glue")]
#![allow(missing_docs, reason = "the generated bindings are documented in wit/")]

mod admission;
mod convert;
mod plugin_host;

wit_bindgen::generate!({
    world: "engine",
    path: "../../wit",
    generate_all,
});

use std::cell::RefCell;

use exports::headroom::compress::compressor::{
    ContentOutcome, Conversation, Guest, MemoryStats, MessageList, MessagesOutcome, RequestOutcome, Reuse,
};
use headroom::compress::types;
use headroom_core::session::store::Store;

struct HostCounter;

impl headroom_core::TokenCounter for HostCounter {
    fn count(&self, text: &str) -> u32 {
        headroom::compress::tokenizer::count(text)
    }
}

struct Engine;

thread_local! {
    /// Conversations' memories: the one piece of state an instance keeps between calls, and
    /// only a cache of work (losing it changes no output).
    static MEMORIES: RefCell<Store> = RefCell::new(Store::default());
}

impl Guest for Engine {
    fn compress_request(
        dialect: types::Dialect,
        body: Vec<u8>,
        opts: types::Options,
    ) -> Result<RequestOutcome, types::CompressError> {
        let opts = convert::options(opts);
        headroom_core::compress_request_plugins(
            convert::dialect(dialect),
            &body,
            &opts,
            &HostCounter,
            &plugin_host::ImportedPlugins,
        )
        .map(convert::request_outcome)
        .map_err(convert::error)
    }

    fn compress_request_in(
        conversation: Conversation,
        dialect: types::Dialect,
        body: Vec<u8>,
        opts: types::Options,
    ) -> Result<(RequestOutcome, Reuse), types::CompressError> {
        let (outcome, reuse) =
            in_memory(conversation, dialect, &body, opts, headroom_core::compress_request_in_plugins)?;
        Ok((convert::request_outcome(outcome), Reuse { segments: reuse.segments, total: reuse.total }))
    }

    fn compress_request_next(
        conversation: Conversation,
        dialect: types::Dialect,
        body: Vec<u8>,
        opts: types::Options,
    ) -> Result<(RequestOutcome, Reuse, Vec<String>), types::CompressError> {
        let (outcome, reuse, kept) =
            in_memory(conversation, dialect, &body, opts, headroom_core::compress_request_next_plugins)?;
        Ok((convert::request_outcome(outcome), Reuse { segments: reuse.segments, total: reuse.total }, kept))
    }

    fn memories() -> MemoryStats {
        let s = MEMORIES.with_borrow(Store::stats);
        MemoryStats {
            conversations: s.conversations,
            tenants: s.tenants,
            bytes: s.bytes,
            budget_bytes: s.budget,
            evictions: s.evictions,
            hits: s.hits,
            misses: s.misses,
        }
    }

    fn compress_content(
        text: String,
        kind: Option<types::ContentKind>,
        opts: types::Options,
    ) -> Result<ContentOutcome, types::CompressError> {
        let opts = convert::options(opts);
        let outcome = headroom_core::compress_content_plugins(
            &text,
            kind.map(convert::kind_in),
            &opts,
            &HostCounter,
            &plugin_host::ImportedPlugins,
        );
        Ok(convert::content_outcome(outcome))
    }

    fn detect(text: String) -> types::ContentKind {
        convert::kind_out(headroom_core::detect(&text))
    }

    fn compress_messages(
        list: MessageList,
        opts: types::Options,
    ) -> Result<MessagesOutcome, types::CompressError> {
        let opts = convert::options(opts);
        let list = headroom_core::MessageList {
            dialect: list.dialect.map(convert::dialect),
            model: list.model.as_deref(),
            system: list.system.as_deref(),
            messages: &list.messages,
        };
        headroom_core::compress_messages_plugins(&list, &opts, &HostCounter, &plugin_host::ImportedPlugins)
            .map(convert::messages_outcome)
            .map_err(convert::error)
    }

    fn count_messages(messages: String) -> Result<u64, types::CompressError> {
        headroom_core::messages::count_json(&messages, &HostCounter).map_err(convert::error)
    }

    fn sniff_dialect(messages: String, has_system: bool) -> Result<types::Dialect, types::CompressError> {
        headroom_core::messages::sniff_json(&messages, has_system)
            .map(convert::dialect_out)
            .map_err(convert::error)
    }

    fn retrieve_tool(dialect: types::Dialect) -> String {
        headroom_core::retrieve_tool::definition(convert::dialect(dialect))
    }
}

export!(Engine);

/// `compress_request_in_plugins` or `compress_request_next_plugins`.
type EngineCall<T> = fn(
    &mut headroom_core::session::Memory,
    headroom_core::Dialect,
    &[u8],
    &headroom_core::Options,
    &dyn headroom_core::TokenCounter,
    &dyn headroom_core::plugins::PluginHost,
) -> Result<T, headroom_core::CompressError>;

/// The engine's call `run` (with or without handing over every original) on `conversation`'s
/// memory, kept for its next request whatever `run` answers.
fn in_memory<T>(
    conversation: Conversation,
    dialect: types::Dialect,
    body: &[u8],
    opts: types::Options,
    run: EngineCall<T>,
) -> Result<T, types::CompressError> {
    let id = (conversation.tenant, conversation.id);
    let budget = usize::try_from(conversation.budget_bytes).unwrap_or(usize::MAX);
    let mut memory = MEMORIES.with_borrow_mut(|m| {
        m.set_budget(budget);
        m.take(&id)
    });
    let (dialect, opts) = (convert::dialect(dialect), convert::options(opts));
    let result = run(&mut memory, dialect, body, &opts, &HostCounter, &plugin_host::ImportedPlugins);
    MEMORIES.with_borrow_mut(|m| m.put(id, memory));
    result.map_err(convert::error)
}
