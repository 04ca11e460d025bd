//! Transform plugins in wasmtime: each a component with no imports, compiled once, called on
//! a fresh instance under its own fuel, deadline and memory limit. A [`PluginSet`] is what the
//! engine's `plugins` import dispatches to during one call; hosts swap whole sets.

mod call;
mod set;

pub use call::{CompiledPlugin, PluginEngine, PluginFault, PluginLimits};
pub use set::{PluginSet, PluginSource, PluginStats, QUARANTINE_AFTER, Spec, StatsSnapshot};
