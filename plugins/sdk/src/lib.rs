//! Write a Headroom transform plugin.
//!
//! A plugin is a small crate (`crate-type = ["cdylib", "rlib"]`) that implements [`Plugin`]
//! and exports it with [`export_plugin!`]; `just plugins` builds it to a WebAssembly component
//! of the `headroom:plugin/plugin@0.1.0` world and lays it out with its manifest.
//!
//! The vocabulary is the engine's own: [`ContentKind`], the [`Marker`] format and the
//! retrieval key of [`key_for`], so a lossy plugin writes exactly the markers the built-ins
//! write, citing [`Block::key`], and the host stores the block's original under that key.
//! The engine checks every answer (no larger than the block, markers on their own lines citing
//! only the block's key, lossy only when allowed); a refused answer counts as a failure.

#![allow(unsafe_code, reason = "wit-bindgen's generated export glue")]

pub use headroom_core::ContentKind;
pub use headroom_core::marker::{Marker, Unit, ranges_of};
pub use headroom_core::offload::key_for;

/// The generated bindings (used by [`export_plugin!`]).
#[doc(hidden)]
#[allow(missing_docs, reason = "generated; documented in wit/")]
pub mod bindings {
    wit_bindgen::generate!({
        world: "headroom:plugin/plugin@0.1.0",
        path: "../../wit",
        pub_export_macro: true,
        export_macro_name: "__export_plugin_world",
        default_bindings_module: "headroom_plugin_sdk::bindings",
    });
}

use bindings::headroom::plugin::types as wit;

/// The block handed to a plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// Its text.
    pub text: String,
    /// The key its original is stored under; a lossy rewrite's markers cite it.
    pub key: String,
}

/// What the engine knows around the block.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Context {
    /// Relevance hint: what preceded the block.
    pub query: Option<String>,
    /// Whether information may be dropped (behind markers citing [`Block::key`]).
    pub lossy: bool,
}

/// A plugin's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The block rewritten.
    Rewritten {
        /// The new text.
        text: String,
        /// Short name of what was done, for reports.
        summary: String,
        /// Whether information was dropped (`text` then carries markers citing the key).
        lossy: bool,
    },
    /// Nothing to do, and why.
    Declined(String),
}

/// A plugin's own failure (the block then goes on as the built-ins leave it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The input was not what the plugin expected.
    Malformed(String),
    /// A bug inside the plugin.
    Internal(String),
}

/// The one trait a plugin implements.
pub trait Plugin {
    /// Rewrite `block` (of `kind`, as detected by the engine) or decline it.
    fn transform(block: Block, kind: ContentKind, context: Context) -> Result<Outcome, Error>;
}

/// Glue between the generated export and a [`Plugin`] (used by [`export_plugin!`]).
#[doc(hidden)]
pub fn __call<P: Plugin>(
    block: wit::Block,
    kind: wit::ContentKind,
    context: wit::Context,
) -> Result<wit::Outcome, wit::PluginError> {
    let block = Block { text: block.text, key: block.key };
    let context = Context { query: context.query, lossy: context.lossy };
    match P::transform(block, kind_in(kind), context) {
        Ok(Outcome::Rewritten { text, summary, lossy }) => {
            Ok(wit::Outcome::Rewritten(wit::Rewrite { text, summary, lossy }))
        }
        Ok(Outcome::Declined(why)) => Ok(wit::Outcome::Declined(why)),
        Err(Error::Malformed(m)) => Err(wit::PluginError::Malformed(m)),
        Err(Error::Internal(m)) => Err(wit::PluginError::Internal(m)),
    }
}

fn kind_in(k: wit::ContentKind) -> ContentKind {
    use wit::ContentKind as W;
    match k {
        W::Json => ContentKind::Json,
        W::Log => ContentKind::Log,
        W::Search => ContentKind::Search,
        W::Diff => ContentKind::Diff,
        W::Code => ContentKind::Code,
        W::StackTrace => ContentKind::StackTrace,
        W::TestOutput => ContentKind::TestOutput,
        W::Listing => ContentKind::Listing,
        W::Prose => ContentKind::Prose,
        W::Other(s) => ContentKind::Other(s),
    }
}

/// Export a [`Plugin`] as the component's `transform`: `export_plugin!(MyPlugin);` (on
/// wasm32 only, so the same crate's logic is tested natively).
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ident) => {
        // Natively the crate is tested as a library: only the component exports.
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code, missing_docs, reason = "wit-bindgen's generated export glue")]
        mod __headroom_plugin_export {
            use $crate::bindings::exports::headroom::plugin::transform::Guest;
            use $crate::bindings::headroom::plugin::types as wit;

            pub struct Export;

            impl Guest for Export {
                fn transform(
                    block: wit::Block,
                    kind: wit::ContentKind,
                    context: wit::Context,
                ) -> Result<wit::Outcome, wit::PluginError> {
                    $crate::__call::<super::$plugin>(block, kind, context)
                }
            }

            $crate::bindings::__export_plugin_world!(Export with_types_in $crate::bindings);
        }
    };
}
