//! `headroom wrap AGENT`, `headroom unwrap`, `headroom doctor`: put a coding agent behind a
//! local proxy for one run, take it out, and check that it works.

pub mod agents;
pub mod codex;
pub mod continue_cfg;
pub mod doctor;
pub mod edits;
pub mod http;
pub mod proxy;
pub mod run;
pub mod state;
pub mod unwrap;

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use agents::{Agent, Plan, ProcessEnv, ProxyUrls};
use proxy::{Launch, PortStatus};

pub use doctor::{DoctorArgs, run_doctor};
pub use unwrap::{UnwrapArgs, run_unwrap};

/// Exit code of wrap's own failures (the agent's code is passed through otherwise).
const WRAP_FAILED: u8 = 2;

/// Options of `headroom wrap`.
#[derive(clap::Args, Debug)]
pub struct WrapArgs {
    /// The agent to run behind the proxy.
    #[arg(value_enum)]
    pub agent: Agent,
    /// The proxy's port on 127.0.0.1: a Headroom proxy already there is reused, else one is
    /// started for this run.
    #[arg(long, default_value_t = 8787, value_parser = clap::value_parser!(u16).range(1..))]
    pub port: u16,
    /// `token` or `cache`, for a proxy wrap starts.
    #[arg(long, value_parser = ["token", "cache"])]
    pub mode: Option<String>,
    /// Start the proxy in passthrough (forward every request untouched).
    #[arg(long)]
    pub no_optimize: bool,
    /// A flag for a proxy wrap starts, passed on as is (repeat it: `--proxy-arg=--min-tokens
    /// --proxy-arg=200`).
    #[arg(long = "proxy-arg", allow_hyphen_values = true, value_name = "ARG")]
    pub proxy_args: Vec<String>,
    /// Print what would be started, set and changed, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// How long a proxy wrap starts may take to load its component.
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub ready_timeout: u64,
    /// The agent's own arguments (after `--`).
    #[arg(last = true)]
    pub agent_args: Vec<String>,
}

/// `headroom wrap`: the agent's exit code, or 2 when the wrap itself failed.
pub fn run_wrap(args: WrapArgs) -> ExitCode {
    match wrap(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("headroom wrap: {e:#}");
            ExitCode::from(WRAP_FAILED)
        }
    }
}

fn wrap(args: WrapArgs) -> Result<u8> {
    let ws = state::workspace_dir();
    let urls = ProxyUrls::new(args.port);
    // A config-routed agent is wrapped by one wrap at a time: the second would back up the
    // first one's edit and restore it afterwards.
    if let Some(e) = state::load(&ws)?.edits.iter().find(|e| e.agent == args.agent.name()) {
        if state::alive(e.wrapper_pid) {
            bail!(
                "{} is already wrapped by a running `headroom wrap` (pid {}); it edited {}",
                e.agent,
                e.wrapper_pid,
                e.path.display()
            );
        }
        bail!(
            "a `headroom wrap {}` that is gone left {} edited; `headroom unwrap {} --apply` restores it first",
            e.agent,
            e.path.display(),
            e.agent
        );
    }
    let plan = agents::plan(args.agent, &urls, &ProcessEnv)?;
    let launch = Launch {
        mode: args.mode.clone(),
        no_optimize: args.no_optimize,
        anthropic_upstream: plan.anthropic_upstream.clone(),
        openai_upstream: plan.openai_upstream.clone(),
        extra: args.proxy_args.clone(),
    };
    let http = http::Http::new()?;
    let port_status = proxy::probe(&http, args.port);
    if args.dry_run {
        print_dry_run(&args, &plan, &launch, &port_status);
        return Ok(0);
    }
    if let Some(program) = &plan.program {
        which(program).with_context(|| format!("{program} is not on PATH; install it first"))?;
    }
    for e in &plan.edits {
        edits::check(e)?;
    }
    let mut started = match port_status {
        PortStatus::Other(what) => {
            bail!("port {} is taken by another service ({what}); pick a free one with --port", args.port)
        }
        PortStatus::Headroom { ready, .. } => {
            reuse_checks(&http, args.port, ready, &args, &plan)?;
            eprintln!("headroom: reusing the proxy on {} (left running afterwards)", urls.base);
            None
        }
        PortStatus::Free => {
            let started =
                proxy::start(&http, &ws, args.port, &launch, Duration::from_secs(args.ready_timeout))?;
            let rec = state::StartedProxy {
                agent: args.agent.name().to_owned(),
                port: args.port,
                pid: started.pid(),
                wrapper_pid: std::process::id(),
            };
            let mut started = started;
            if let Err(e) = state::update(&ws, |s| {
                s.proxies.push(rec);
                Ok(())
            }) {
                proxy::stop(&mut started);
                return Err(e);
            }
            eprintln!(
                "headroom: started a proxy on {} (pid {}, log {})",
                urls.base,
                started.pid(),
                started.log.display()
            );
            Some(started)
        }
    };
    let result = run_routed(&ws, &args, &plan, started.is_some());
    if let Some(p) = started.as_mut() {
        proxy::stop(p);
        let pid = p.pid();
        if let Err(e) = state::update(&ws, |s| {
            s.proxies.retain(|x| x.pid != pid);
            Ok(())
        }) {
            eprintln!("headroom wrap: {e:#}");
        }
    }
    result
}

/// Make the edits, run the agent, undo the edits (all of them, whatever happened).
fn run_routed(ws: &Path, args: &WrapArgs, plan: &Plan, proxy_started: bool) -> Result<u8> {
    let mut made = Vec::new();
    let mut outcome = Ok(0);
    for e in &plan.edits {
        match edits::apply(ws, e) {
            Ok(edit) => {
                eprint!(
                    "headroom: routed {} through the proxy:\n{}",
                    args.agent.name(),
                    edits::planned_diff(e)
                );
                eprintln!(
                    "headroom: backup at {}",
                    edit.backup.as_ref().map_or("(none: file created)".into(), |b| b.display().to_string())
                );
                made.push(edit);
            }
            Err(err) => {
                outcome = Err(err);
                break;
            }
        }
    }
    for note in &plan.notes {
        println!("{note}");
    }
    if outcome.is_ok()
        && let Some(program) = &plan.program
    {
        let mut cmd = Command::new(program);
        cmd.args(&args.agent_args).envs(plan.env.iter().map(|(k, v)| (k, v)));
        outcome = run::run(cmd).map(run::exit_code);
    } else if outcome.is_ok() && (proxy_started || !made.is_empty()) {
        // Nothing to launch (an editor): the proxy and the edits stay until the user stops wrap.
        eprintln!("headroom: routed until Ctrl-C");
        outcome = run::hold().map(|()| 0);
    }
    for edit in made.iter().rev() {
        if let Err(e) = undo_own(ws, edit) {
            eprintln!("headroom wrap: {e:#}");
        }
    }
    outcome
}

/// Undo an edit of this run at exit: restored when the file is as the wrap left it; a file
/// changed meanwhile is left for `headroom unwrap` (which shows the change).
fn undo_own(ws: &Path, edit: &state::Edit) -> Result<()> {
    match edits::plan_undo(edit, false)? {
        edits::Undo::Changed { diff } => {
            bail!(
                "{} changed while wrapped; left as it is (backup kept). `headroom unwrap {}` shows the diff; `--apply --force` restores it.\n{diff}",
                edit.path.display(),
                edit.agent
            )
        }
        how => {
            edits::undo(ws, edit, &how)?;
            eprintln!("headroom: restored {}", edit.path.display());
            Ok(())
        }
    }
}

/// A reused proxy must be ready and must forward where the agent did.
fn reuse_checks(http: &http::Http, port: u16, ready: bool, args: &WrapArgs, plan: &Plan) -> Result<()> {
    if !ready {
        bail!(
            "the Headroom proxy on port {port} is not ready (its component is not loaded); see its /readyz"
        );
    }
    let health = http
        .get(&format!("http://127.0.0.1:{port}/health"), Duration::from_secs(3))
        .ok()
        .and_then(|(_, b)| serde_json::from_slice::<Value>(&b).ok())
        .unwrap_or_default();
    let config = &health["config"];
    for (want, key, flag) in [
        (&plan.anthropic_upstream, "anthropic_api_url", "ANTHROPIC_BASE_URL"),
        (&plan.openai_upstream, "openai_api_url", "the provider's base_url"),
    ] {
        if let Some(want) = want
            && config[key].as_str() != Some(want.as_str())
        {
            bail!(
                "the proxy on port {port} forwards to {} but the agent's {flag} was {want}; use another --port to start a proxy for it",
                config[key]
            );
        }
    }
    if args.mode.is_some() || args.no_optimize || !args.proxy_args.is_empty() {
        eprintln!(
            "headroom: --mode/--no-optimize/--proxy-arg apply to a proxy wrap starts; the one on port {port} keeps its own settings (mode {}, optimize {})",
            config["mode"], config["optimize"]
        );
    }
    Ok(())
}

fn print_dry_run(args: &WrapArgs, plan: &Plan, launch: &Launch, port: &PortStatus) {
    println!("headroom wrap {} --dry-run: nothing is changed", args.agent.name());
    match port {
        PortStatus::Free => {
            println!("proxy: would start `headroom proxy {}`", launch.args(args.port).join(" "))
        }
        PortStatus::Headroom { .. } => {
            println!("proxy: would reuse the Headroom proxy on port {}", args.port)
        }
        PortStatus::Other(what) => {
            println!("proxy: port {} is taken by another service ({what}): wrap would refuse", args.port)
        }
    }
    for (k, v) in &plan.env {
        println!("env: {k}={v}");
    }
    for e in &plan.edits {
        println!("edit {} (backup {}):", e.path.display(), edits::backup_path(&e.path).display());
        print!("{}", edits::planned_diff(e));
    }
    for note in &plan.notes {
        println!("{note}");
    }
    if let Some(program) = &plan.program {
        println!("run: {program} {}", args.agent_args.join(" "));
    }
}

/// Find a program on PATH (a path with a slash is taken as is).
pub fn which(program: &str) -> Option<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    if program.contains('/') {
        return Some(program.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}
