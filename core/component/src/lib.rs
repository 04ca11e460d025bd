//! The component adapter: the only place wit-bindgen is used. It converts between WIT types
//! and headroom-core's, counts tokens through the host's `tokenizer` import and calls plugins
//! through its `plugins` import.

#![allow(unsafe_code, reason = "wit-bindgen's generated export glue")]
#![allow(missing_docs, reason = "the generated bindings are documented in wit/")]

mod convert;
mod plugin_host;

wit_bindgen::generate!({
    world: "engine",
    path: "../../wit",
    generate_all,
});

use exports::headroom::compress::compressor::{ContentOutcome, Guest, RequestOutcome};
use headroom::compress::types;

struct HostCounter;

impl headroom_core::TokenCounter for HostCounter {
    fn count(&self, text: &str) -> u32 {
        headroom::compress::tokenizer::count(text)
    }
}

struct Engine;

impl Guest for Engine {
    fn compress_request(
        dialect: types::Dialect,
        body: Vec<u8>,
        opts: types::Options,
    ) -> Result<RequestOutcome, types::CompressError> {
        let opts = convert::options(opts);
        headroom_core::compress_request_with(
            convert::dialect(dialect),
            &body,
            &opts,
            &HostCounter,
            &plugin_host::ImportedPlugins,
        )
        .map(convert::request_outcome)
        .map_err(convert::error)
    }

    fn compress_content(
        text: String,
        kind: Option<types::ContentKind>,
        opts: types::Options,
    ) -> Result<ContentOutcome, types::CompressError> {
        let opts = convert::options(opts);
        let outcome = headroom_core::compress_content_with(
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
}

export!(Engine);
