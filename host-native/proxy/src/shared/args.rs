//! Shared-state flags of `headroom proxy`.

use std::time::Duration;

/// Command-line options.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct SharedArgs {
    /// Keep state shared by replicas (originals, the session ledger, rate limits, budgets,
    /// the response cache, savings) in this Redis: `redis://host:6379/0`, or `rediss://`
    /// for TLS. Without it every process keeps its own (memory, or SQLite in the workspace).
    #[arg(long, env = "HEADROOM_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so deployments can share one Redis.
    #[arg(long, env = "HEADROOM_REDIS_PREFIX", default_value = "headroom:")]
    pub redis_prefix: String,
    /// Bound on one Redis command on a request's path, in milliseconds; past it the
    /// request goes on with local state.
    #[arg(long, env = "HEADROOM_REDIS_TIMEOUT_MS", default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub redis_timeout_ms: u64,
}

/// Resolved shared-state configuration.
#[derive(Debug, Clone)]
pub struct SharedConfig {
    /// The Redis URL, when state is shared.
    pub redis_url: Option<String>,
    /// Key prefix.
    pub prefix: String,
    /// Bound on one command on a request's path.
    pub timeout: Duration,
}

impl Default for SharedConfig {
    /// Nothing shared (each process keeps its own state).
    fn default() -> Self {
        Self { redis_url: None, prefix: "headroom:".into(), timeout: Duration::from_millis(50) }
    }
}

impl SharedArgs {
    /// Resolve (an empty URL is no URL).
    pub fn resolve(&self) -> SharedConfig {
        SharedConfig {
            redis_url: self.redis_url.clone().filter(|u| !u.trim().is_empty()),
            prefix: self.redis_prefix.clone(),
            timeout: Duration::from_millis(self.redis_timeout_ms),
        }
    }
}
