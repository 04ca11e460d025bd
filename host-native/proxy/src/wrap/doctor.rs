//! `headroom doctor [--json]`: is a proxy running and whose, which agents are wrapped, does the
//! environment route through it, is the component loaded, is the workspace writable, is the
//! upstream reachable. Every network check is bounded; offline, the upstream check says "no
//! network" in a few seconds. Exit 0 when healthy, 1 when not.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::{Value, json};

use super::agents::{ProcessEnv, ProxyUrls};
use super::edits;
use super::http::Http;
use super::proxy::{self, PortStatus};
use super::state;

/// Options of `headroom doctor`.
#[derive(clap::Args, Debug)]
pub struct DoctorArgs {
    /// The proxy's port on 127.0.0.1.
    #[arg(long, default_value_t = 8787)]
    pub port: u16,
    /// Print one JSON object (for scripts).
    #[arg(long)]
    pub json: bool,
    /// How long the upstream check may take.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub upstream_timeout: u64,
    /// The proxy's compiled-code cache (as `headroom proxy --cache-dir`), used when the
    /// component is loaded here because no proxy answers.
    #[arg(long, env = "HEADROOM_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// One check's verdict.
struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
    data: Value,
}

fn check(name: &'static str, ok: bool, detail: impl Into<String>, data: Value) -> Check {
    Check { name, ok, detail: detail.into(), data }
}

/// `headroom doctor`.
pub fn run_doctor(args: DoctorArgs) -> ExitCode {
    match doctor(&args) {
        Ok(checks) => {
            let healthy = checks.iter().all(|c| c.ok);
            if args.json {
                let list: Vec<Value> = checks
                    .iter()
                    .map(|c| json!({"name": c.name, "ok": c.ok, "detail": c.detail, "data": c.data}))
                    .collect();
                println!("{}", json!({"healthy": healthy, "checks": list}));
            } else {
                for c in &checks {
                    println!("{} {:<10} {}", if c.ok { "ok  " } else { "FAIL" }, c.name, c.detail);
                }
                println!("{}", if healthy { "healthy" } else { "not healthy" });
            }
            if healthy { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => {
            eprintln!("headroom doctor: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn doctor(args: &DoctorArgs) -> Result<Vec<Check>> {
    let http = Http::new()?;
    let ws = state::workspace_dir();
    let st = state::load(&ws).unwrap_or_default();
    let urls = ProxyUrls::new(args.port);
    let mut checks = Vec::new();

    // The proxy, whose it is, its counters.
    let status = proxy::probe(&http, args.port);
    let health = match &status {
        PortStatus::Headroom { .. } => http
            .get(&format!("{}/health", urls.base), Duration::from_secs(3))
            .ok()
            .and_then(|(_, b)| serde_json::from_slice::<Value>(&b).ok()),
        _ => None,
    };
    let owner = st.proxies.iter().find(|p| p.port == args.port && state::alive(p.pid));
    let whose = match owner {
        Some(p) if state::alive(p.wrapper_pid) => {
            format!("started by `headroom wrap {}` (pid {})", p.agent, p.wrapper_pid)
        }
        Some(p) => format!(
            "started by a `headroom wrap {}` that is gone (pid {}): `headroom unwrap --all --apply` stops it",
            p.agent, p.wrapper_pid
        ),
        None => "not started by a wrap (run by you or a service)".to_owned(),
    };
    checks.push(match &status {
        PortStatus::Headroom { ready, info } => {
            let stats = health.as_ref().map(|h| h["stats"].clone()).unwrap_or(Value::Null);
            check(
                "proxy",
                *ready,
                format!(
                    "{} on {} ({}), version {}, {whose}; requests compressed {}",
                    if *ready { "ready" } else { "not ready" },
                    urls.base,
                    proxy::SERVICE,
                    info["version"].as_str().unwrap_or("?"),
                    stats["requests_compressed"]
                ),
                json!({"port": args.port, "ready": ready, "version": info["version"], "whose": whose,
                       "owner_pid": owner.map(|p| p.pid), "stats": stats}),
            )
        }
        PortStatus::Free => check(
            "proxy",
            false,
            format!("no proxy on {} (start one: `headroom proxy`, or `headroom wrap AGENT`)", urls.base),
            json!({"port": args.port, "running": false}),
        ),
        PortStatus::Other(what) => check(
            "proxy",
            false,
            format!("port {} is taken by another service: {what}", args.port),
            json!({"port": args.port, "other": what}),
        ),
    });

    // Wrapped agents: each recorded edit, in place or not, its backup, its wrap alive or gone.
    let mut wrapped = Vec::new();
    let mut all_ok = true;
    let mut lines = Vec::new();
    for e in &st.edits {
        let current = std::fs::read_to_string(&e.path).ok();
        let in_place = current.as_deref() == Some(e.wrote.as_str());
        let backup_ok = e.backup.as_ref().is_none_or(|b| b.exists());
        let running = state::alive(e.wrapper_pid);
        let ok = running && in_place && backup_ok;
        all_ok &= ok;
        let what = match (running, in_place) {
            (true, true) => "wrapped (its wrap is running)".to_owned(),
            (true, false) => "wrapped, but the file changed since".to_owned(),
            (false, _) => {
                format!("half-wrapped: its wrap is gone; `headroom unwrap {} --apply` restores it", e.agent)
            }
        };
        lines.push(format!(
            "{} {}: {what}; edit {}; backup {}",
            e.agent,
            e.path.display(),
            if in_place { "in place" } else { "changed or missing" },
            match &e.backup {
                Some(b) if b.exists() => b.display().to_string(),
                Some(b) => format!("MISSING ({})", b.display()),
                None => "none (wrap created the file)".into(),
            }
        ));
        wrapped.push(json!({"agent": e.agent, "path": e.path, "edit_in_place": in_place, "backup": e.backup,
                            "backup_present": backup_ok, "wrapper_pid": e.wrapper_pid, "wrapper_running": running}));
    }
    // Edits no record explains (the record was deleted, or HEADROOM_WORKSPACE_DIR differs from
    // the wrap's): a backup beside a known config file, or Codex still selecting our provider.
    for (agent, path) in super::agents::edited_files(&ProcessEnv) {
        if st.edits.iter().any(|e| e.path == path) {
            continue;
        }
        let backup = edits::backup_path(&path);
        let routed = agent == "codex"
            && std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.parse::<toml_edit::DocumentMut>().ok())
                .is_some_and(|d| {
                    d.get("model_provider").and_then(|v| v.as_str()) == Some(super::codex::PROVIDER_ID)
                });
        if backup.exists() || routed {
            all_ok = false;
            lines.push(format!(
                "{agent} {}: {} but no wrap is recorded in {}; compare with the backup and restore it by hand",
                path.display(),
                if routed { "still routed through headroom" } else { "a backup is beside it" },
                ws.display()
            ));
            wrapped.push(json!({"agent": agent, "path": path, "unrecorded": true, "routed": routed,
                                "backup_present": backup.exists()}));
        }
    }
    let stale: Vec<_> =
        st.proxies.iter().filter(|p| !state::alive(p.wrapper_pid) && state::alive(p.pid)).collect();
    for p in &stale {
        all_ok = false;
        lines.push(format!("proxy pid {} on port {}: left running by a wrap that is gone", p.pid, p.port));
    }
    checks.push(check(
        "agents",
        all_ok,
        if lines.is_empty() {
            "no config edits in place (env-routed agents leave none)".to_owned()
        } else {
            lines.join("; ")
        },
        json!({"edits": wrapped, "orphan_proxies": stale.iter().map(|p| p.pid).collect::<Vec<_>>()}),
    ));

    // The environment doctor runs in: does it route agents through this proxy?
    let env = |k: &str| super::agents::Env::var(&ProcessEnv, k);
    let mut env_data = json!({});
    let mut env_lines = Vec::new();
    for (key, want) in [("ANTHROPIC_BASE_URL", &urls.base), ("OPENAI_BASE_URL", &urls.v1)] {
        let v = env(key);
        let verdict = match &v {
            Some(v) if v.trim_end_matches('/') == want.as_str() => "routes through the proxy".to_owned(),
            Some(v) => format!("points elsewhere ({v})"),
            None => "unset (agents go direct unless wrapped)".to_owned(),
        };
        env_lines.push(format!("{key} {verdict}"));
        env_data[key] = json!(v);
    }
    checks.push(check("env", true, env_lines.join("; "), env_data));

    // The component: the proxy's own verdict when it runs, else loaded here.
    checks.push(component_check(health.as_ref(), headroom_proxy::config::cache_dir(args.cache_dir.clone())));

    // The workspace directory.
    let probe_file = ws.join(format!(".doctor-{}", std::process::id()));
    let writable = std::fs::create_dir_all(&ws)
        .and_then(|()| std::fs::write(&probe_file, b"ok"))
        .and_then(|()| std::fs::remove_file(&probe_file));
    checks.push(match writable {
        Ok(()) => check("workspace", true, format!("{} is writable", ws.display()), json!({"path": ws})),
        Err(e) => check(
            "workspace",
            false,
            format!("{} is not writable: {e}", ws.display()),
            json!({"path": ws, "error": e.to_string()}),
        ),
    });

    // The upstreams: the running proxy's, else the defaults a proxy would use.
    let upstreams: Vec<String> = match &health {
        Some(h) => ["anthropic_api_url", "openai_api_url"]
            .iter()
            .filter_map(|k| h["config"][k].as_str().map(str::to_owned))
            .collect(),
        None => vec![
            env("ANTHROPIC_TARGET_API_URL").unwrap_or_else(|| "https://api.anthropic.com".into()),
            env("OPENAI_TARGET_API_URL").unwrap_or_else(|| "https://api.openai.com".into()),
        ],
    };
    let t0 = Instant::now();
    let results = http.get_all(&upstreams, Duration::from_secs(args.upstream_timeout));
    let mut up_ok = true;
    let mut up_lines = Vec::new();
    let mut up_data = Vec::new();
    for (u, r) in upstreams.iter().zip(results) {
        let (ok, what) = match r {
            Ok(code) => (true, format!("reachable (HTTP {code})")),
            Err(e) if format!("{e:?}").contains("dns error") => {
                (false, "no network (the name does not resolve)".to_owned())
            }
            Err(e) if e.is_timeout() => (false, format!("no answer within {}s", args.upstream_timeout)),
            Err(e) if e.is_connect() => (false, "unreachable (connection refused or no route)".to_owned()),
            Err(e) => (false, format!("unreachable ({e})")),
        };
        up_ok &= ok;
        up_lines.push(format!("{u} {what}"));
        up_data.push(json!({"url": u, "ok": ok, "detail": what}));
    }
    checks.push(check(
        "upstream",
        up_ok,
        format!("{} [{} ms]", up_lines.join("; "), t0.elapsed().as_millis()),
        json!(up_data),
    ));
    Ok(checks)
}

fn component_path() -> PathBuf {
    std::env::var_os("HEADROOM_COMPONENT")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(headroom_proxy::config::default_component_path)
}

fn component_check(health: Option<&Value>, cache_dir: Option<PathBuf>) -> Check {
    let path = component_path();
    let digest = std::fs::read(&path).ok().map(|b| blake3::hash(&b).to_hex()[..16].to_owned());
    if let Some(h) = health {
        let engine = &h["checks"]["engine"];
        let ok = engine["ready"].as_bool() == Some(true);
        return check(
            "component",
            ok,
            format!(
                "{} in the proxy (headroom {})",
                if ok { "loaded" } else { "NOT loaded" },
                h["version"].as_str().unwrap_or("?")
            ),
            json!({"in_proxy": true, "engine": engine, "version": h["version"]}),
        );
    }
    // No proxy: load it here the way the proxy does (same code cache).
    let config = headroom_runtime::RuntimeConfig { cache_dir, ..Default::default() };
    let t0 = Instant::now();
    match headroom_runtime::Runtime::from_file(&path, &config) {
        Ok(_) => check(
            "component",
            true,
            format!(
                "{} loads (blake3 {}, headroom {}) in {} ms",
                path.display(),
                digest.as_deref().unwrap_or("?"),
                env!("CARGO_PKG_VERSION"),
                t0.elapsed().as_millis()
            ),
            json!({"in_proxy": false, "path": path, "blake3": digest, "version": env!("CARGO_PKG_VERSION")}),
        ),
        Err(e) => check(
            "component",
            false,
            format!("{} does not load: {e}", path.display()),
            json!({"in_proxy": false, "path": path, "error": e.to_string()}),
        ),
    }
}
