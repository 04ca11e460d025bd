//! `headroom`: the command-line entry point.

mod compress_cmd;
mod health_check_cmd;
mod wrap;

use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use headroom_proxy::batch_writer::BatchWriter;
use headroom_proxy::config::{ProxyArgs, ProxyConfig};
use headroom_proxy::{AppState, app};
use std::time::Duration;

#[derive(Parser)]
#[command(name = "headroom", version, about = "Context compression for AI agents")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once, at start")]
enum Command {
    /// Run the proxy: point ANTHROPIC_BASE_URL=http://127.0.0.1:8787 or
    /// OPENAI_BASE_URL=http://127.0.0.1:8787/v1 at it.
    Proxy(Box<ProxyArgs>),
    /// Compress a provider request (JSON) or a single tool output, print the result and a
    /// savings summary.
    Compress(compress_cmd::Args),
    /// Run a coding agent behind a local proxy (started or reused on --port), routed by
    /// environment or a config edit that is undone when it exits.
    Wrap(wrap::WrapArgs),
    /// Undo what a wrap left behind (a dry run showing the diff unless --apply).
    Unwrap(wrap::UnwrapArgs),
    /// Check the proxy, wrapped agents, routing, component, workspace and upstream.
    Doctor(wrap::DoctorArgs),
    /// Exit 0 when URL (default the local `/readyz`) answers 2xx, 1 otherwise: a container
    /// health check that needs no curl.
    HealthCheck(health_check_cmd::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Proxy(args) => init_logging(&args.observe)
            .and_then(|()| Ok(args.observe.telemetry.resolve().map(drop)?))
            .and_then(|()| Ok(ProxyConfig::from_args(*args)?))
            .and_then(run_proxy),
        Command::Compress(args) => compress_cmd::run(&args),
        Command::HealthCheck(args) => health_check_cmd::run(&args),
        Command::Wrap(args) => return wrap::run_wrap(args),
        Command::Unwrap(args) => return wrap::run_unwrap(args),
        Command::Doctor(args) => return wrap::run_doctor(args),
    };
    if let Some(log) = LOG.get() {
        log.flush();
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("headroom: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The proxy's own log on stderr: `--log-level` (else `RUST_LOG`, else `info`), text or JSON.
fn init_logging(args: &headroom_proxy::observe_args::ObserveArgs) -> anyhow::Result<()> {
    use tracing_subscriber::EnvFilter;
    let filter = match &args.log_level {
        Some(level) => {
            EnvFilter::try_new(level).map_err(|e| anyhow::anyhow!("--log-level `{level}`: {e}"))?
        }
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    // One line per request: batched, so a busy proxy makes one write every 50 ms, not one per
    // request (lines beyond 4 MB waiting are dropped).
    let stderr =
        BatchWriter::spawn("headroom-log", Box::new(std::io::stderr()), Duration::from_millis(50), 4 << 20)?;
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(stderr.clone()).with_ansi(false);
    match args.log_format {
        headroom_proxy::observe_args::LogFormat::Json => builder.json().flatten_event(true).init(),
        // The line written as the default writes it, without `core::fmt` per value (one line
        // of a dozen fields per request): its timestamp, level and target, then its fields.
        headroom_proxy::observe_args::LogFormat::Text => {
            builder
                .fmt_fields(headroom_proxy::log_fields::FastFields)
                .event_format(headroom_proxy::log_format::FastFormat::default())
                .init();
        }
    }
    let _ = LOG.set(stderr);
    Ok(())
}

/// The proxy's log writer, flushed before exit.
static LOG: std::sync::OnceLock<BatchWriter> = std::sync::OnceLock::new();

fn run_proxy(config: ProxyConfig) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let state = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port)).await?;
        let addr = listener.local_addr()?;
        let state = AppState::new(config)?;
        let loader = Arc::clone(&state);
        tokio::task::spawn_blocking(move || loader.load_component());
        let signals = signals()?;
        // Not a log line but an interface: tools wait for this exact line on stderr, whatever
        // the log format.
        eprintln!("headroom proxy listening on http://{addr}");
        tracing::info!(%addr, "headroom proxy started");
        let (first, second) = (signals.clone(), signals);
        app::serve_until(listener, Arc::clone(&state), nth_signal(first, 1), nth_signal(second, 2)).await?;
        anyhow::Ok(state)
    })?;
    // Connections past the grace are dropped with the runtime; their requests are accounted as
    // they go, so what they counted is written once more. A blocking task (a component still
    // loading) is not waited for.
    runtime.shutdown_timeout(Duration::from_secs(1));
    state.flush();
    tracing::info!("headroom proxy stopped");
    Ok(())
}

/// SIGTERM and SIGINT (Ctrl-C), counted.
fn signals() -> std::io::Result<tokio::sync::watch::Receiver<u32>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let (tx, rx) = tokio::sync::watch::channel(0u32);
    tokio::spawn(async move {
        loop {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!(signal = name, "signal received");
            tx.send_modify(|n| *n += 1);
        }
    });
    Ok(rx)
}

/// Resolves once `n` signals have arrived.
async fn nth_signal(mut rx: tokio::sync::watch::Receiver<u32>, n: u32) {
    let _ = rx.wait_for(|count| *count >= n).await;
}
