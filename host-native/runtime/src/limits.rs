//! Per-call limits, and the memory limiter that also tells when a warm instance has grown.

use std::time::Duration;

/// Limits applied to every call.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Linear memory an instance may grow to.
    pub max_memory_bytes: usize,
    /// Fuel per call (roughly one unit per wasm instruction); `None` for no limit. A call
    /// that runs out traps and the host forwards the original.
    pub fuel: Option<u64>,
    /// Instances that may be alive at once (the pooling allocator's slots).
    pub max_instances: u32,
    /// Wall-clock budget per call; a call past it is interrupted (epoch interruption, checked
    /// every [`crate::EPOCH_TICK`]) and the host forwards the original.
    pub deadline: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_memory_bytes: 512 << 20, fuel: None, max_instances: 64, deadline: None }
    }
}

/// Refuses growth past the limit and remembers the largest memory seen.
pub(crate) struct MemoryLimiter {
    max: usize,
    current: usize,
}

impl MemoryLimiter {
    pub(crate) fn new(max: usize) -> Self {
        Self { max, current: 0 }
    }

    /// The instance's linear memory size after its last growth.
    pub(crate) fn memory_bytes(&self) -> usize {
        self.current
    }
}

impl wasmtime::ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.max {
            return Ok(false);
        }
        self.current = self.current.max(desired);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}
