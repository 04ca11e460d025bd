//! Observability flags of `headroom proxy`: logs, the request log and the savings history.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The log format flag.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// Command-line options.
#[derive(clap::Args, Debug, Clone)]
pub struct ObserveArgs {
    /// Log level or filter (`info`, `debug`, `headroom_proxy=debug`); `RUST_LOG` when unset.
    #[arg(long, env = "HEADROOM_LOG_LEVEL")]
    pub log_level: Option<String>,
    /// Format of the proxy's own log on stderr.
    #[arg(long, env = "HEADROOM_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Append one JSON line per request to this file (the request log). Never carries keys or
    /// auth headers; message content only with `--log-full-messages`.
    #[arg(long, env = "HEADROOM_LOG_FILE")]
    pub log_file: Option<PathBuf>,
    /// Put the request's messages in the request log (base64 images replaced by their size,
    /// strings that look like API keys redacted).
    #[arg(long, env = "HEADROOM_LOG_FULL_MESSAGES")]
    pub log_full_messages: bool,
    /// The savings history file (default `proxy_savings.json` in the workspace directory,
    /// `~/.headroom` without one).
    #[arg(long, env = "HEADROOM_SAVINGS_PATH")]
    pub savings_path: Option<PathBuf>,
    /// How often the savings history is written, in milliseconds.
    #[arg(long, env = "HEADROOM_SAVINGS_FLUSH_MS", default_value_t = 30_000, value_parser = clap::value_parser!(u64).range(10..))]
    pub savings_flush_ms: u64,
    /// Exporters that send telemetry out (all off by default).
    #[command(flatten)]
    pub telemetry: crate::otel::args::TelemetryArgs,
}

/// Resolved observability configuration.
#[derive(Debug, Clone)]
pub struct ObserveConfig {
    /// The request log.
    pub log_file: Option<PathBuf>,
    /// Message content in the request log.
    pub log_full_messages: bool,
    /// The savings history file; `None` keeps it in memory.
    pub savings_path: Option<PathBuf>,
    /// Write period of the history.
    pub savings_flush: Duration,
    /// OpenTelemetry, Langfuse, `HEADROOM_SDK`.
    pub telemetry: crate::otel::args::TelemetryConfig,
}

impl Default for ObserveConfig {
    /// Nothing written to disk (tests and embedders choose their files).
    fn default() -> Self {
        Self {
            log_file: None,
            log_full_messages: false,
            savings_path: None,
            savings_flush: Duration::from_secs(30),
            telemetry: crate::otel::args::TelemetryConfig::default(),
        }
    }
}

impl ObserveArgs {
    /// Resolve paths against the workspace directory (telemetry settings are checked first,
    /// by [`crate::otel::args::TelemetryArgs::resolve`]; here a bad one leaves them off).
    pub fn resolve(&self, workspace_dir: Option<&Path>) -> ObserveConfig {
        let savings_path = self.savings_path.clone().filter(|p| !p.as_os_str().is_empty()).or_else(|| {
            let dir = workspace_dir
                .map(Path::to_path_buf)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".headroom")))?;
            Some(dir.join("proxy_savings.json"))
        });
        ObserveConfig {
            log_file: self.log_file.clone().filter(|p| !p.as_os_str().is_empty()),
            log_full_messages: self.log_full_messages,
            savings_path,
            savings_flush: Duration::from_millis(self.savings_flush_ms),
            telemetry: self.telemetry.resolve().unwrap_or_default(),
        }
    }
}
