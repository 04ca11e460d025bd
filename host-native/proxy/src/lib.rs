//! The Headroom proxy: an axum server in front of the Anthropic and OpenAI APIs that runs
//! every request body through the core component (in wasmtime) and forwards the smaller
//! request, relaying responses (streams included) as they arrive.

pub mod accounting;
pub mod app;
pub mod batch_writer;
pub mod cache;
pub mod ccr;
pub mod config;
pub mod context_args;
pub mod dialect;
pub mod errors;
pub mod facts;
pub mod hex;
pub mod ledger;
pub mod log_fields;
pub mod log_format;
pub mod metrics;
pub mod models;
pub mod observe_args;
pub mod otel;
pub mod plugin_metrics;
pub mod plugin_pins;
pub mod provider;
pub mod read_memos;
pub mod record_json;
pub mod request_log;
pub mod retrieval;
pub mod routes;
pub mod shared;
pub mod spend;
pub mod state;
pub mod stats;
pub mod top_level;
pub mod upstream;

pub use app::build_app;
pub use config::ProxyConfig;
pub use state::AppState;

/// The maps a request updates, keyed by short strings (models, sessions, key scopes): hashed
/// by `foldhash`, several times cheaper than the standard SipHash on such keys, and seeded
/// per process, so that a client cannot choose keys that collide.
pub type FastMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
