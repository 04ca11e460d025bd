//! Response-cache flags of `headroom proxy`.

use std::time::Duration;

/// Command-line options.
#[derive(clap::Args, Debug, Clone)]
pub struct CacheArgs {
    /// Turn the response cache off (identical requests from the same key are otherwise
    /// answered from memory, streams included).
    #[arg(long, env = "HEADROOM_NO_CACHE")]
    pub no_cache: bool,
    /// How long a cached answer is served, in seconds.
    #[arg(long, env = "HEADROOM_CACHE_TTL", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(1..=30 * 86_400))]
    pub cache_ttl: u64,
    /// Bytes of answers kept (least recently used go first); one answer may use at most a
    /// quarter of it.
    #[arg(long, env = "HEADROOM_CACHE_MAX_BYTES", default_value_t = 64 << 20, value_parser = clap::value_parser!(u64).range(4096..=1 << 40))]
    pub cache_max_bytes: u64,
}

/// Resolved cache configuration.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// On.
    pub enabled: bool,
    /// Time to live of an entry.
    pub ttl: Duration,
    /// Bytes kept.
    pub max_bytes: usize,
}

impl Default for CacheConfig {
    /// Off (tests and embedders turn it on; the command line has it on).
    fn default() -> Self {
        Self { enabled: false, ttl: Duration::from_secs(3600), max_bytes: 64 << 20 }
    }
}

impl CacheConfig {
    /// Largest single answer stored.
    pub fn max_entry_bytes(&self) -> usize {
        self.max_bytes / 4
    }
}

impl CacheArgs {
    /// Resolve.
    pub fn resolve(&self) -> CacheConfig {
        CacheConfig {
            enabled: !self.no_cache,
            ttl: Duration::from_secs(self.cache_ttl),
            max_bytes: usize::try_from(self.cache_max_bytes).unwrap_or(usize::MAX),
        }
    }
}
