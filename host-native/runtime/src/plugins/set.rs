//! A set of loaded plugins: what one engine call dispatches to. Sets are immutable once built
//! (hosts swap whole sets), but each plugin's counters and quarantine live in shared atomics
//! so a host can show them while calls run.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use super::call::{CompiledPlugin, PluginFault};
use crate::bindings::headroom::plugin::plugins::Plugin as Listed;
use crate::bindings::headroom::plugin::types as wit;

/// Consecutive failed calls (faults or refused answers) after which a plugin is quarantined
/// until the next load.
pub const QUARANTINE_AFTER: u32 = 3;

/// What a plugin declares, as the engine sees it.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The manifest's id.
    pub id: String,
    /// The manifest's version.
    pub version: String,
    /// The component's sha256 (hex).
    pub sha256: String,
    /// Kinds offered to it; empty for every kind.
    pub kinds: Vec<wit::ContentKind>,
    /// Where it runs.
    pub placement: wit::Placement,
    /// Whether it may drop information.
    pub lossy: bool,
}

/// Where a runtime takes the plugin set of each call from (a host's registry).
pub trait PluginSource: Send + Sync {
    /// The set live now; a call keeps it to its end.
    fn current(&self) -> Arc<PluginSet>;

    /// The set for a request: a host that pins conversations to the set they started with
    /// (so a swap never rewrites what the provider already saw) answers per body.
    fn for_request(&self, _dialect: crate::wit::Dialect, _body: &[u8]) -> Arc<PluginSet> {
        self.current()
    }
}

/// A plugin's counters.
#[derive(Debug, Default)]
pub struct PluginStats {
    calls: AtomicU64,
    rewrites: AtomicU64,
    failures: AtomicU64,
    rejected: AtomicU64,
    consecutive: AtomicU32,
    /// The last rewrite has not been refused (yet): the engine refuses right after the call,
    /// so by the next call it was accepted and the failure streak ends.
    unconfirmed: AtomicBool,
    quarantined: AtomicBool,
}

/// A copy of a plugin's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatsSnapshot {
    /// Calls made (quarantined ones not included).
    pub calls: u64,
    /// Calls that returned a rewrite.
    pub rewrites: u64,
    /// Calls that trapped, timed out, ran out of fuel or returned an error.
    pub failures: u64,
    /// Rewrites the engine refused.
    pub rejected: u64,
    /// Whether it is quarantined.
    pub quarantined: bool,
}

impl PluginStats {
    /// A copy of the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            calls: self.calls.load(Ordering::Relaxed),
            rewrites: self.rewrites.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
            quarantined: self.quarantined.load(Ordering::Relaxed),
        }
    }

    fn failed(&self, id: &str, what: &str) {
        let n = self.consecutive.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= QUARANTINE_AFTER && !self.quarantined.swap(true, Ordering::Relaxed) {
            tracing::error!(plugin = id, "plugin quarantined after {n} failures in a row (last: {what})");
        }
    }
}

struct Entry {
    spec: Spec,
    plugin: CompiledPlugin,
    stats: Arc<PluginStats>,
}

/// Plugins in the order they run within a placement.
#[derive(Default)]
pub struct PluginSet {
    entries: Vec<Entry>,
    identity: String,
}

impl PluginSet {
    /// Build a set; its identity is derived from the ids, versions and hashes in order.
    pub fn new(plugins: Vec<(Spec, CompiledPlugin)>) -> Self {
        let mut hasher = blake3::Hasher::new();
        for (spec, _) in &plugins {
            for part in [&spec.id, &spec.version, &spec.sha256] {
                hasher.update(part.as_bytes());
                hasher.update(&[0]);
            }
        }
        let identity =
            if plugins.is_empty() { String::new() } else { hasher.finalize().to_hex()[..16].to_owned() };
        let entries = plugins
            .into_iter()
            .map(|(spec, plugin)| Entry { spec, plugin, stats: Arc::new(PluginStats::default()) })
            .collect();
        Self { entries, identity }
    }

    /// Identifies the set's plugins and versions (empty for no plugins): a rewrite made with
    /// one set may differ from another set's.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// Whether it holds no plugin.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Each plugin's declaration and counters.
    pub fn plugins(&self) -> impl Iterator<Item = (&Spec, &Arc<PluginStats>)> {
        self.entries.iter().map(|e| (&e.spec, &e.stats))
    }

    /// The list the engine's `loaded` import returns.
    pub(crate) fn listed(&self) -> Vec<Listed> {
        self.entries
            .iter()
            .map(|e| Listed {
                id: e.spec.id.clone(),
                kinds: e.spec.kinds.clone(),
                placement: e.spec.placement,
                lossy: e.spec.lossy,
                build: e.spec.sha256.clone(),
            })
            .collect()
    }

    /// Call plugin `id`, counting the outcome; a quarantined plugin is not called.
    pub fn transform(
        &self,
        id: &str,
        block: &wit::Block,
        kind: &wit::ContentKind,
        context: &wit::Context,
    ) -> Result<wit::Outcome, PluginFault> {
        let Some(e) = self.entries.iter().find(|e| e.spec.id == id) else {
            return Err(PluginFault::Plugin(format!("no plugin {id} in this set")));
        };
        if e.stats.quarantined.load(Ordering::Relaxed) {
            return Err(PluginFault::Quarantined);
        }
        e.stats.calls.fetch_add(1, Ordering::Relaxed);
        if e.stats.unconfirmed.swap(false, Ordering::Relaxed) {
            e.stats.consecutive.store(0, Ordering::Relaxed);
        }
        match e.plugin.transform(block, kind, context) {
            Ok(outcome) => {
                if matches!(outcome, wit::Outcome::Rewritten(_)) {
                    e.stats.rewrites.fetch_add(1, Ordering::Relaxed);
                    e.stats.unconfirmed.store(true, Ordering::Relaxed);
                } else {
                    e.stats.consecutive.store(0, Ordering::Relaxed);
                }
                Ok(outcome)
            }
            Err(fault) => {
                e.stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(plugin = id, "plugin call failed: {fault}");
                e.stats.failed(id, &fault.to_string());
                Err(fault)
            }
        }
    }

    /// The engine refused plugin `id`'s last rewrite: counted like a failed call.
    pub fn rejected(&self, id: &str, reason: &str) {
        if let Some(e) = self.entries.iter().find(|e| e.spec.id == id) {
            e.stats.unconfirmed.store(false, Ordering::Relaxed);
            e.stats.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(plugin = id, "plugin output refused: {reason}");
            e.stats.failed(id, reason);
        }
    }
}
