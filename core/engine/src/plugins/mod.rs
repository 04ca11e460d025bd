//! Plugins as the engine sees them: a host that lists the loaded plugins and calls them. The
//! routing (which plugin sees which block, in which order) and the checks on what a plugin
//! returns live here, so every host routes alike and a host only dispatches.
//!
//! With no plugin loaded nothing here runs and the engine's output is what it was without
//! plugins, byte for byte.

mod check;
pub mod manifest;
mod route;
#[cfg(test)]
mod tests;

pub use check::{Rejection, check};
pub use route::Plugins;

use crate::kind::ContentKind;

/// Where a plugin runs relative to the built-in transforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// A filter on every block of its kinds, whatever its size, before anything else; its
    /// output is the block from then on. Its edits are not retrievable.
    Before,
    /// In place of the built-in transform of its kinds (the built-in runs when it declines).
    Instead,
    /// Only when the built-ins leave a block of its kinds unchanged.
    After,
}

/// A loaded plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginInfo {
    /// Its id.
    pub id: String,
    /// The kinds it is offered; empty for every kind. A plugin claiming an `Other` kind
    /// detects its own kinds, so it is offered every block.
    pub kinds: Vec<ContentKind>,
    /// Where it runs.
    pub placement: Placement,
    /// Whether it may drop information (its calls allow it only when the request does too).
    pub lossy: bool,
    /// Identifies this build of the plugin (hosts give its sha256): another build may rewrite
    /// differently, so work remembered under one is not reused under another.
    pub build: String,
}

impl PluginInfo {
    /// Whether a block of `kind` is offered to the plugin.
    pub fn offered(&self, kind: &ContentKind) -> bool {
        self.kinds.is_empty()
            || self.kinds.contains(kind)
            || self.kinds.iter().any(|k| matches!(k, ContentKind::Other(_)))
    }
}

/// What a plugin answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginOutcome {
    /// A rewrite.
    Rewritten {
        /// The new text.
        text: String,
        /// Short name of what was done.
        summary: String,
        /// Whether information was dropped (behind markers citing the block's key).
        lossy: bool,
    },
    /// Nothing to do.
    Declined(String),
}

/// One call to a plugin.
#[derive(Debug, Clone, Copy)]
pub struct PluginCall<'a> {
    /// The block's text.
    pub text: &'a str,
    /// The key its original is stored under; markers cite it.
    pub key: &'a str,
    /// The block's kind.
    pub kind: &'a ContentKind,
    /// The relevance hint, when there is one.
    pub query: Option<&'a str>,
    /// Whether the call may drop information: the request allows lossy steps and the plugin
    /// declared itself lossy.
    pub lossy: bool,
}

/// Implemented by hosts: the plugins they loaded, and a way to call them.
pub trait PluginHost {
    /// The plugins of this call (asked once per call).
    fn loaded(&self) -> Vec<PluginInfo>;
    /// Call plugin `id`; an error is the host's to count and the engine goes on without it.
    fn transform(&self, id: &str, call: &PluginCall<'_>) -> Result<PluginOutcome, String>;
    /// The engine refused what plugin `id` returned.
    fn rejected(&self, id: &str, reason: &str);
}

/// A host without plugins.
pub struct NoPlugins;

impl PluginHost for NoPlugins {
    fn loaded(&self) -> Vec<PluginInfo> {
        Vec::new()
    }
    fn transform(&self, id: &str, _: &PluginCall<'_>) -> Result<PluginOutcome, String> {
        Err(format!("no plugin {id} is loaded"))
    }
    fn rejected(&self, _: &str, _: &str) {}
}
