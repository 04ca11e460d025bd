//! One plugin: compiled, pre-instantiated, and called under limits.

use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};

use crate::bindings::headroom::plugin::types as wit;
use crate::bindings::plugin::{Plugin, PluginPre};
use crate::limits::MemoryLimiter;
use crate::{EPOCH_TICK, RuntimeError, start_epoch_ticker};

/// Plugin calls that may run at once (pool slots; a call past it fails and counts as a fault).
const MAX_CONCURRENT_CALLS: u32 = 64;
/// The largest linear memory a manifest may ask for (16384 pages of 64 KiB).
pub const MAX_MEMORY_BYTES: usize = 1 << 30;

/// A plugin's per-call limits (from its manifest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginLimits {
    /// Fuel per call (about one unit per wasm instruction); `None` for no fuel limit.
    pub fuel: Option<u64>,
    /// Wall-clock budget per call.
    pub deadline: Duration,
    /// Linear memory a call may grow to.
    pub memory_bytes: usize,
}

/// Why a plugin call produced no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginFault {
    /// The plugin trapped (a panic, an unreachable, a failed allocation, bad UTF-8).
    #[error("trapped: {0}")]
    Trap(String),
    /// It ran out of fuel.
    #[error("ran out of fuel")]
    OutOfFuel,
    /// It ran past its deadline.
    #[error("ran past its deadline")]
    Timeout,
    /// It returned its own error.
    #[error("returned an error: {0}")]
    Plugin(String),
    /// It keeps failing and is not called until the next reload.
    #[error("quarantined")]
    Quarantined,
}

/// The wasmtime engine plugins are compiled for: fuel and epoch interruption on, its own
/// epoch ticker (the core's engine runs without them when it has no deadline).
#[derive(Clone)]
pub struct PluginEngine {
    engine: Engine,
}

impl PluginEngine {
    /// A new engine; `cache_dir` keeps compiled code across starts and swaps.
    pub fn new(cache_dir: Option<&std::path::Path>) -> Result<Self, RuntimeError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.consume_fuel(true);
        config.epoch_interruption(true);
        // Every call instantiates afresh: the pooling allocator makes that a reuse of a
        // reserved slot instead of an mmap per call.
        let mut pooling = PoolingAllocationConfig::default();
        pooling.total_component_instances(MAX_CONCURRENT_CALLS);
        pooling.total_core_instances(MAX_CONCURRENT_CALLS * 2);
        pooling.total_memories(MAX_CONCURRENT_CALLS * 2);
        pooling.total_tables(MAX_CONCURRENT_CALLS * 2);
        pooling.max_memory_size(MAX_MEMORY_BYTES);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        if let Some(dir) = cache_dir {
            let mut cache = wasmtime::CacheConfig::new();
            cache.with_directory(dir);
            let cache =
                wasmtime::Cache::new(cache).map_err(|e| RuntimeError::Load(format!("code cache: {e}")))?;
            config.cache(Some(cache));
        }
        let engine = Engine::new(&config).map_err(|e| RuntimeError::Load(e.to_string()))?;
        start_epoch_ticker(&engine);
        Ok(Self { engine })
    }

    /// Compile a plugin component and check it implements `headroom:plugin/plugin@0.1.0`
    /// with no imports.
    pub fn compile(&self, bytes: &[u8], limits: PluginLimits) -> Result<CompiledPlugin, RuntimeError> {
        let component =
            Component::new(&self.engine, bytes).map_err(|e| RuntimeError::Load(format!("{e:#}")))?;
        // An empty linker: a plugin that imports anything (WASI included) cannot link.
        let linker = Linker::<MemoryLimiter>::new(&self.engine);
        let pre =
            linker.instantiate_pre(&component).map_err(|e| RuntimeError::Incompatible(format!("{e:#}")))?;
        let pre = PluginPre::new(pre).map_err(|e| RuntimeError::Incompatible(format!("{e:#}")))?;
        Ok(CompiledPlugin { engine: self.engine.clone(), pre, limits })
    }
}

/// A compiled plugin, ready to call.
pub struct CompiledPlugin {
    engine: Engine,
    pre: PluginPre<MemoryLimiter>,
    limits: PluginLimits,
}

impl CompiledPlugin {
    /// Call `transform` on a fresh instance: nothing survives from one call to the next, so
    /// a plugin that trapped or leaked leaves nothing behind.
    pub fn transform(
        &self,
        block: &wit::Block,
        kind: &wit::ContentKind,
        context: &wit::Context,
    ) -> Result<wit::Outcome, PluginFault> {
        let mut store = Store::new(&self.engine, MemoryLimiter::new(self.limits.memory_bytes));
        store.limiter(|s| s);
        store.set_fuel(self.limits.fuel.unwrap_or(u64::MAX)).map_err(|e| PluginFault::Trap(e.to_string()))?;
        let ticks = self.limits.deadline.as_millis().div_ceil(EPOCH_TICK.as_millis()).max(1);
        store.set_epoch_deadline(u64::try_from(ticks).unwrap_or(u64::MAX));
        let instance: Plugin = self.pre.instantiate(&mut store).map_err(fault)?;
        match instance.headroom_plugin_transform().call_transform(&mut store, block, kind, context) {
            Ok(Ok(outcome)) => Ok(outcome),
            Ok(Err(wit::PluginError::Malformed(m) | wit::PluginError::Internal(m))) => {
                Err(PluginFault::Plugin(m))
            }
            Err(e) => Err(fault(e)),
        }
    }

    /// The limits it runs under.
    pub fn limits(&self) -> &PluginLimits {
        &self.limits
    }
}

fn fault(e: wasmtime::Error) -> PluginFault {
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => PluginFault::Timeout,
        Some(wasmtime::Trap::OutOfFuel) => PluginFault::OutOfFuel,
        _ => PluginFault::Trap(format!("{e:#}")),
    }
}
