//! Runs the Headroom core component in wasmtime.
//!
//! The component is compiled once (with wasmtime's on-disk code cache, so later starts load
//! machine code instead of compiling), linked and pre-instantiated once; every call gets a
//! fresh `Store` from the pre-instance: calls are isolated from each other and the result
//! depends only on the input, as in every other host. Tokens are counted natively through the
//! component's `tokenizer` import.

mod bindings;
mod error;

use std::path::{Path, PathBuf};

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store, StoreLimits, StoreLimitsBuilder};

pub use bindings::exports::headroom::compress::compressor::{ContentOutcome, RequestOutcome};
pub use bindings::headroom::compress::types as wit;
pub use error::RuntimeError;

/// Limits applied to every call.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Linear memory a call may grow to.
    pub max_memory_bytes: usize,
    /// Fuel per call (roughly one unit per wasm instruction); `None` for no limit. A call
    /// that runs out traps and the host forwards the original.
    pub fuel: Option<u64>,
    /// Instances that may be alive at once (the pooling allocator's slots).
    pub max_instances: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_memory_bytes: 512 << 20, fuel: None, max_instances: 64 }
    }
}

/// How to build a [`Runtime`].
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Per-call limits.
    pub limits: Limits,
    /// Directory for compiled code; `None` disables the cache.
    pub cache_dir: Option<PathBuf>,
}

struct HostState {
    limits: StoreLimits,
}

impl bindings::headroom::compress::tokenizer::Host for HostState {
    fn count(&mut self, text: String) -> u32 {
        headroom_tokenizer::O200k::count(&text)
    }
}

/// A loaded, pre-instantiated core component.
pub struct Runtime {
    engine: Engine,
    pre: bindings::EnginePre<HostState>,
    limits: Limits,
}

impl Runtime {
    /// Load the component from a file.
    pub fn from_file(path: &Path, config: &RuntimeConfig) -> Result<Self, RuntimeError> {
        let bytes = std::fs::read(path).map_err(|e| RuntimeError::Load(format!("{}: {e}", path.display())))?;
        Self::from_bytes(&bytes, config)
    }

    /// Load the component from its bytes.
    pub fn from_bytes(component: &[u8], config: &RuntimeConfig) -> Result<Self, RuntimeError> {
        let mut wasm_config = Config::new();
        wasm_config.wasm_component_model(true);
        wasm_config.consume_fuel(config.limits.fuel.is_some());
        let mut pooling = PoolingAllocationConfig::default();
        pooling.total_component_instances(config.limits.max_instances);
        pooling.total_core_instances(config.limits.max_instances);
        pooling.total_memories(config.limits.max_instances);
        pooling.total_tables(config.limits.max_instances);
        pooling.max_memory_size(config.limits.max_memory_bytes);
        wasm_config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        if let Some(dir) = &config.cache_dir {
            let mut cache = wasmtime::CacheConfig::new();
            cache.with_directory(dir);
            let cache = wasmtime::Cache::new(cache).map_err(|e| RuntimeError::Load(format!("code cache: {e}")))?;
            wasm_config.cache(Some(cache));
        }
        let engine = Engine::new(&wasm_config).map_err(|e| RuntimeError::Load(e.to_string()))?;
        let component = Component::new(&engine, component).map_err(|e| RuntimeError::Load(format!("{e:#}")))?;
        let mut linker = Linker::<HostState>::new(&engine);
        bindings::headroom::compress::tokenizer::add_to_linker::<HostState, wasmtime::component::HasSelf<HostState>>(
            &mut linker,
            |s| s,
        )
        .map_err(|e| RuntimeError::Load(e.to_string()))?;
        let pre = linker.instantiate_pre(&component).map_err(|e| RuntimeError::Incompatible(format!("{e:#}")))?;
        let pre = bindings::EnginePre::new(pre).map_err(|e| RuntimeError::Incompatible(format!("{e:#}")))?;
        headroom_tokenizer::O200k::warm_up();
        Ok(Self { engine, pre, limits: config.limits.clone() })
    }

    fn store(&self) -> Result<Store<HostState>, RuntimeError> {
        let limits = StoreLimitsBuilder::new().memory_size(self.limits.max_memory_bytes).build();
        let mut store = Store::new(&self.engine, HostState { limits });
        store.limiter(|s| &mut s.limits);
        if let Some(fuel) = self.limits.fuel {
            store.set_fuel(fuel).map_err(|e| RuntimeError::Trap(e.to_string()))?;
        }
        Ok(store)
    }

    /// Compress a request body.
    pub fn compress_request(
        &self,
        dialect: wit::Dialect,
        body: &[u8],
        opts: &wit::Options,
    ) -> Result<Result<RequestOutcome, wit::CompressError>, RuntimeError> {
        let mut store = self.store()?;
        let instance = self.pre.instantiate(&mut store).map_err(RuntimeError::trap)?;
        instance
            .headroom_compress_compressor()
            .call_compress_request(&mut store, dialect, body, opts)
            .map_err(RuntimeError::trap)
    }

    /// Compress one text.
    pub fn compress_content(
        &self,
        text: &str,
        kind: Option<&wit::ContentKind>,
        opts: &wit::Options,
    ) -> Result<Result<ContentOutcome, wit::CompressError>, RuntimeError> {
        let mut store = self.store()?;
        let instance = self.pre.instantiate(&mut store).map_err(RuntimeError::trap)?;
        instance
            .headroom_compress_compressor()
            .call_compress_content(&mut store, text, kind, opts)
            .map_err(RuntimeError::trap)
    }

    /// Detect a text's kind.
    pub fn detect(&self, text: &str) -> Result<wit::ContentKind, RuntimeError> {
        let mut store = self.store()?;
        let instance = self.pre.instantiate(&mut store).map_err(RuntimeError::trap)?;
        instance.headroom_compress_compressor().call_detect(&mut store, text).map_err(RuntimeError::trap)
    }
}

/// All-default options (the engine's defaults apply).
pub fn default_options() -> wit::Options {
    wit::Options {
        mode: None,
        frozen_count: None,
        min_tokens: None,
        protected_tools: None,
        query: None,
        offload_after_turns: None,
        lossy: None,
    }
}
