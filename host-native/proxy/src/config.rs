//! `headroom proxy` options: flags with `HEADROOM_*` environment twins, and the embedded
//! defaults (no configuration file is needed).

use std::path::PathBuf;
use std::time::Duration;

use headroom_runtime::wit;

/// Command-line options of `headroom proxy`.
#[derive(clap::Args, Debug, Clone)]
pub struct ProxyArgs {
    /// Address to bind.
    #[arg(long, env = "HEADROOM_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to bind.
    #[arg(long, short = 'p', env = "HEADROOM_PORT", default_value_t = 8787)]
    pub port: u16,
    /// `token` (the default) rewrites each block once, the same way on every turn, and
    /// offloads tool outputs the agent has acted on in batches that pay for re-writing the
    /// history after them; `cache` never changes history the provider has seen.
    /// Legacy names `cost_savings` and `cache_mode` (= cache), `token_headroom`, `token_mode`
    /// and `token_savings` (= token) are accepted.
    #[arg(long, env = "HEADROOM_MODE", default_value = "token", value_enum)]
    pub mode: ModeArg,
    /// Forward every request untouched.
    #[arg(long, env = "HEADROOM_NO_OPTIMIZE")]
    pub no_optimize: bool,
    /// Do not offer the `headroom_retrieve` tool: markers are still written, and originals are
    /// served by `GET /v1/retrieve/{key}` only.
    #[arg(long, env = "HEADROOM_NO_CCR_INJECT_TOOL")]
    pub no_ccr_inject_tool: bool,
    /// Forward `POST /v1/messages/count_tokens` untouched, instead of counting the body as
    /// `/v1/messages` would forward it (compressed, with the retrieval tool when it is offered).
    #[arg(long, env = "HEADROOM_NO_COUNT_TOKENS_COMPRESSION")]
    pub no_count_tokens_compression: bool,
    /// Context-window management and code-aware flags.
    #[command(flatten)]
    pub context: crate::context_args::ContextArgs,
    /// Anthropic upstream (also `ANTHROPIC_TARGET_API_URL`).
    #[arg(long, env = "HEADROOM_ANTHROPIC_API_URL")]
    pub anthropic_api_url: Option<String>,
    /// OpenAI upstream (also `OPENAI_TARGET_API_URL`).
    #[arg(long, env = "HEADROOM_OPENAI_API_URL")]
    pub openai_api_url: Option<String>,
    /// Largest request body accepted, in bytes (413 beyond).
    #[arg(long, env = "HEADROOM_MAX_BODY_BYTES", default_value_t = 100 << 20)]
    pub max_body_bytes: usize,
    /// Blocks below this many tokens are left alone.
    #[arg(long, env = "HEADROOM_MIN_TOKENS")]
    pub min_tokens: Option<u32>,
    /// In `token` mode, stale tokens that must be waiting before outputs are offloaded (a
    /// batch, which must also pay for re-writing the history after it; default 12000). 0
    /// offloads every output as soon as it is stale.
    #[arg(long, env = "HEADROOM_OFFLOAD_BATCH_TOKENS")]
    pub offload_batch_tokens: Option<u32>,
    /// Wall-clock budget for compressing one request; past it the original is forwarded.
    #[arg(long, env = "HEADROOM_COMPRESSION_DEADLINE_MS", default_value_t = 250)]
    pub compression_deadline_ms: u64,
    /// Memory kept for conversations, in MiB: each turn reuses the work of the leading blocks
    /// it shares with its conversation's previous turn (same bytes out; only the new blocks
    /// are processed). 0 turns it off.
    #[arg(long, env = "HEADROOM_CONVERSATION_MEMORY_MB", default_value_t = 32)]
    pub conversation_memory_mb: usize,
    /// How long the upstream may take to send its response head (status and headers), in
    /// seconds; past it the client gets a 504 in its provider's format. The default is the
    /// official SDKs' own (a non-streaming answer may take up to 10 minutes). A body that keeps
    /// moving is never cut: see `--stream-idle-timeout-secs`.
    #[arg(long, env = "HEADROOM_UPSTREAM_TIMEOUT_SECS", default_value_t = DEFAULT_UPSTREAM_TIMEOUT_SECS)]
    pub upstream_timeout_secs: u64,
    /// How long an upstream body (a stream, or a JSON answer being read) may send nothing, in
    /// seconds; past it a stream ends with its provider's error event.
    #[arg(long, env = "HEADROOM_STREAM_IDLE_TIMEOUT_SECS", default_value_t = DEFAULT_STREAM_IDLE_TIMEOUT_SECS)]
    pub stream_idle_timeout_secs: u64,
    /// How long connecting to the upstream (TCP and TLS) may take, in seconds.
    #[arg(
        long,
        alias = "connect-timeout-seconds",
        env = "HEADROOM_UPSTREAM_CONNECT_TIMEOUT_SECS",
        default_value_t = DEFAULT_CONNECT_TIMEOUT_SECS
    )]
    pub upstream_connect_timeout_secs: u64,
    /// API key for the proxy's own endpoints (`/v1/compress`); without it they answer
    /// loopback callers only.
    #[arg(long, env = "HEADROOM_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// The core component (default: `target/wasm/headroom-core.wasm` of this build).
    #[arg(long, env = "HEADROOM_COMPONENT")]
    pub component: Option<PathBuf>,
    /// State directory: with it, originals of lossy edits persist in `ccr_store.db` there
    /// and survive a restart; without it they are kept in memory.
    #[arg(long, env = "HEADROOM_WORKSPACE_DIR")]
    pub workspace_dir: Option<PathBuf>,
    /// Where originals are kept: `sqlite` (the default with a workspace directory; without one,
    /// in `~/.headroom`) or `memory`.
    #[arg(long, env = "HEADROOM_CCR_BACKEND", value_enum)]
    pub ccr_backend: Option<crate::ccr::BackendArg>,
    /// Where compiled code is kept between starts (the core component's and the plugins'), so
    /// a restart loads machine code instead of compiling. Default `~/.cache/headroom/wasmtime`;
    /// without a home directory, nothing is kept.
    #[arg(long, env = "HEADROOM_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// The built browser demo served at `/demo/` (default `host-js/demo/dist` of this build's
    /// checkout).
    #[arg(long, env = "HEADROOM_DEMO_DIR")]
    pub demo_dir: Option<PathBuf>,
    /// Folder of transform plugins (`just plugins` lays them out in `target/plugins`): loaded at
    /// start, reloaded when it changes and on `POST /admin/plugins/reload`.
    #[arg(long, env = "HEADROOM_PLUGINS_DIR")]
    pub plugins_dir: Option<PathBuf>,
    /// How long an original stays retrievable, in seconds.
    #[arg(long, env = "HEADROOM_CCR_TTL_SECONDS", default_value_t = crate::ccr::DEFAULT_TTL.as_secs())]
    pub ccr_ttl_seconds: u64,
    /// On SIGTERM or Ctrl-C, how long requests and streams in flight may take to finish, in
    /// seconds; past it the connections still open are closed and the proxy exits.
    #[arg(long, env = "HEADROOM_SHUTDOWN_GRACE_SECS", default_value_t = DEFAULT_SHUTDOWN_GRACE_SECS)]
    pub shutdown_grace_secs: u64,
    /// On SIGTERM or Ctrl-C, how long to keep accepting (with `/readyz` answering 503) before
    /// closing the listener, in seconds: time for a load balancer to take the replica out.
    #[arg(long, env = "HEADROOM_SHUTDOWN_DELAY_SECS", default_value_t = 0)]
    pub shutdown_delay_secs: u64,
    /// Logs, the request log, the savings history.
    #[command(flatten)]
    pub observe: crate::observe_args::ObserveArgs,
    /// Prices, budgets and rate limits.
    #[command(flatten)]
    pub spend: crate::spend::args::SpendArgs,
    /// The response cache.
    #[command(flatten)]
    pub cache: crate::cache::CacheArgs,
    /// State shared between replicas (Redis).
    #[command(flatten)]
    pub shared: crate::shared::SharedArgs,
}

/// The drain bound on shutdown (Kubernetes' default termination grace period is 30 s too: raise
/// `terminationGracePeriodSeconds` above this plus the delay).
pub const DEFAULT_SHUTDOWN_GRACE_SECS: u64 = 30;
/// The response-head bound: the Anthropic and OpenAI SDKs' default timeout.
pub const DEFAULT_UPSTREAM_TIMEOUT_SECS: u64 = 600;
/// The idle bound: the SDKs' read timeout, so it never cuts a stream they would keep reading.
pub const DEFAULT_STREAM_IDLE_TIMEOUT_SECS: u64 = 600;
/// The connect bound (the SDKs use 5 s to a nearby proxy; the provider is further away).
pub const DEFAULT_CONNECT_TIMEOUT_SECS: u64 = 10;

/// The compression mode as every host entry names it: `headroom proxy --mode`, `headroom
/// compress --mode`, `HEADROOM_MODE` and `POST /v1/compress`'s `mode` field, with the Python
/// product's names as aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    /// Never changes history the provider has seen (also `cost_savings`, `cache_mode`).
    #[value(alias = "cost_savings", alias = "cache_mode")]
    Cache,
    /// Also offloads tool outputs the agent has acted on (also `token_headroom`, `token_mode`,
    /// `token_savings`).
    #[value(alias = "token_headroom", alias = "token_mode", alias = "token_savings")]
    Token,
}

impl ModeArg {
    /// A mode by its name or an alias; the error names the accepted values.
    pub fn parse(name: &str) -> Result<Self, String> {
        <Self as clap::ValueEnum>::from_str(name, false)
            .map_err(|_| format!("unknown mode `{name}` (expected cache or token)"))
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cache => "cache",
            Self::Token => "token",
        }
    }

    /// The engine's mode.
    pub fn wit(self) -> wit::Mode {
        match self {
            Self::Cache => wit::Mode::Cache,
            Self::Token => wit::Mode::Token,
        }
    }
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Bind address.
    pub host: String,
    /// Bind port.
    pub port: u16,
    /// Compression mode.
    pub mode: ModeArg,
    /// Compress at all.
    pub optimize: bool,
    /// Offer `headroom_retrieve` and answer its calls.
    pub retrieval_tool: bool,
    /// Count tokens of the body as it would be forwarded (`/v1/messages/count_tokens`).
    pub count_tokens_compression: bool,
    /// Context-window management and code-aware compression.
    pub context: crate::context_args::ContextConfig,
    /// Anthropic base URL, without a trailing slash.
    pub anthropic_url: String,
    /// OpenAI base URL, without a trailing slash.
    pub openai_url: String,
    /// Body limit.
    pub max_body_bytes: usize,
    /// Engine threshold override.
    pub min_tokens: Option<u32>,
    /// Token mode's batch size override.
    pub offload_batch_tokens: Option<u32>,
    /// Compression budget per request.
    pub compression_deadline: Duration,
    /// Bytes of conversation memories the engine keeps (0: none).
    pub memory_bytes: usize,
    /// Bound on the upstream's response head.
    pub upstream_timeout: Duration,
    /// Bound on silence inside an upstream body.
    pub stream_idle_timeout: Duration,
    /// Bound on connecting to the upstream.
    pub connect_timeout: Duration,
    /// Key for the proxy's own endpoints.
    pub api_key: Option<String>,
    /// Component path.
    pub component: PathBuf,
    /// Where and how long originals of lossy edits are kept.
    pub ccr: crate::ccr::CcrConfig,
    /// Folder of transform plugins, if any.
    pub plugins_dir: Option<PathBuf>,
    /// Compiled-code cache folder, if any.
    pub cache_dir: Option<PathBuf>,
    /// The browser demo's folder.
    pub demo_dir: PathBuf,
    /// How long in-flight requests may take to finish on shutdown.
    pub shutdown_grace: Duration,
    /// How long the listener stays open (not ready) after the signal, before draining.
    pub shutdown_delay: Duration,
    /// Logs, the request log, the savings history.
    pub observe: crate::observe_args::ObserveConfig,
    /// Prices, budgets and rate limits.
    pub spend: crate::spend::args::SpendConfig,
    /// The response cache.
    pub cache: crate::cache::CacheConfig,
    /// State shared between replicas.
    pub shared: crate::shared::SharedConfig,
}

impl ProxyConfig {
    /// Resolve flags, environment and defaults (a bad price file is an error naming its line).
    pub fn from_args(args: ProxyArgs) -> Result<Self, crate::spend::prices::PriceFileError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let trim = |s: String| s.trim_end_matches('/').to_owned();
        let spend = args.spend.resolve(args.workspace_dir.as_deref())?;
        Ok(Self {
            host: args.host,
            port: args.port,
            mode: args.mode,
            optimize: !args.no_optimize,
            retrieval_tool: !args.no_ccr_inject_tool,
            count_tokens_compression: !args.no_count_tokens_compression,
            context: args.context.resolve(),
            anthropic_url: trim(
                args.anthropic_api_url
                    .or_else(|| env("ANTHROPIC_TARGET_API_URL"))
                    .unwrap_or_else(|| "https://api.anthropic.com".into()),
            ),
            openai_url: trim(
                args.openai_api_url
                    .or_else(|| env("OPENAI_TARGET_API_URL"))
                    .unwrap_or_else(|| "https://api.openai.com".into()),
            ),
            max_body_bytes: args.max_body_bytes,
            min_tokens: args.min_tokens,
            offload_batch_tokens: args.offload_batch_tokens,
            compression_deadline: Duration::from_millis(args.compression_deadline_ms),
            memory_bytes: args.conversation_memory_mb.saturating_mul(1 << 20),
            upstream_timeout: Duration::from_secs(args.upstream_timeout_secs),
            stream_idle_timeout: Duration::from_secs(args.stream_idle_timeout_secs),
            connect_timeout: Duration::from_secs(args.upstream_connect_timeout_secs),
            api_key: args.api_key.filter(|k| !k.is_empty()),
            component: args.component.unwrap_or_else(default_component_path),
            shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
            shutdown_delay: Duration::from_secs(args.shutdown_delay_secs),
            observe: args.observe.resolve(args.workspace_dir.as_deref()),
            ccr: crate::ccr::CcrConfig::resolve(
                args.workspace_dir,
                args.ccr_backend,
                Duration::from_secs(args.ccr_ttl_seconds),
            ),
            plugins_dir: args.plugins_dir,
            cache_dir: cache_dir(args.cache_dir),
            demo_dir: args.demo_dir.unwrap_or_else(crate::routes::demo::default_dir),
            spend,
            cache: args.cache.resolve(),
            shared: args.shared.resolve(),
        })
    }

    /// Engine options for a request.
    pub fn engine_options(&self) -> wit::Options {
        let mut o = headroom_runtime::default_options();
        o.mode = Some(self.mode.wit());
        o.min_tokens = self.min_tokens;
        o.offload_batch_tokens = self.offload_batch_tokens;
        self.context.apply(&mut o);
        o
    }
}

/// The compiled-code cache: `dir` when given (`--cache-dir`, `HEADROOM_CACHE_DIR`), else
/// `~/.cache/headroom/wasmtime`; `None` without a home directory.
pub fn cache_dir(dir: Option<PathBuf>) -> Option<PathBuf> {
    dir.filter(|d| !d.as_os_str().is_empty())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/headroom/wasmtime")))
}

/// Where `just component` writes the core component.
pub fn default_component_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/wasm/headroom-core.wasm")
}
