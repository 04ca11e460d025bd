//! The proxy behind a wrap: found on the port (its `/readyz` answers with `service:
//! "headroom-proxy"`), or started as a child (`headroom proxy`, this same binary) and stopped
//! when the agent is done.

use std::fs::{self, OpenOptions};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use super::http::Http;

/// What answers on a port.
#[derive(Debug)]
pub enum PortStatus {
    /// Nothing listens.
    Free,
    /// A Headroom proxy; `ready` once its component is loaded; `/readyz`'s body.
    Headroom {
        /// Ready to serve.
        ready: bool,
        /// The `/readyz` answer.
        info: Value,
    },
    /// Something else (what it said).
    Other(String),
}

/// The `service` name `/readyz` reports.
pub const SERVICE: &str = "headroom-proxy";

/// Ask who is on `127.0.0.1:port`.
pub fn probe(http: &Http, port: u16) -> PortStatus {
    match http.get(&format!("http://127.0.0.1:{port}/readyz"), Duration::from_secs(3)) {
        Err(e) if e.is_connect() => PortStatus::Free,
        Err(e) => PortStatus::Other(format!("no HTTP answer to GET /readyz ({e})")),
        Ok((status, body)) => match serde_json::from_slice::<Value>(&body) {
            Ok(info) if info.get("service").and_then(Value::as_str) == Some(SERVICE) => {
                PortStatus::Headroom { ready: status == 200, info }
            }
            Ok(info) => PortStatus::Other(format!(
                "GET /readyz answered {status} with service {}",
                info.get("service").map_or("(none)".to_owned(), Value::to_string)
            )),
            Err(_) => {
                PortStatus::Other(format!("GET /readyz answered {status}, not a Headroom proxy's JSON"))
            }
        },
    }
}

/// How to start a proxy.
#[derive(Debug, Clone, Default)]
pub struct Launch {
    /// `--mode`.
    pub mode: Option<String>,
    /// `--no-optimize`.
    pub no_optimize: bool,
    /// Where to forward Anthropic requests (the agent's own upstream), if not the default.
    pub anthropic_upstream: Option<String>,
    /// Where to forward OpenAI requests, if not the default.
    pub openai_upstream: Option<String>,
    /// Passed on as they are (`--proxy-arg`).
    pub extra: Vec<String>,
}

impl Launch {
    /// The arguments after `headroom proxy`.
    pub fn args(&self, port: u16) -> Vec<String> {
        let mut a = vec!["--host".into(), "127.0.0.1".into(), "--port".into(), port.to_string()];
        if let Some(m) = &self.mode {
            a.extend(["--mode".into(), m.clone()]);
        }
        if self.no_optimize {
            a.push("--no-optimize".into());
        }
        if let Some(u) = &self.anthropic_upstream {
            a.extend(["--anthropic-api-url".into(), u.clone()]);
        }
        if let Some(u) = &self.openai_upstream {
            a.extend(["--openai-api-url".into(), u.clone()]);
        }
        a.extend(self.extra.iter().cloned());
        a
    }
}

/// A proxy this wrap started.
pub struct Started {
    child: Child,
    /// Its log file (stderr).
    pub log: PathBuf,
}

impl Started {
    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// The log file of a proxy started on `port`.
pub fn log_path(ws: &Path, port: u16) -> PathBuf {
    ws.join("logs").join(format!("proxy-{port}.log"))
}

/// Start `headroom proxy` and wait until it is ready (its component loaded). It runs in a
/// process group of its own, so the terminal's Ctrl-C reaches the agent, not the proxy: the
/// wrap stops the proxy after the agent has finished.
pub fn start(http: &Http, ws: &Path, port: u16, launch: &Launch, ready_within: Duration) -> Result<Started> {
    let exe = std::env::current_exe().context("locating the headroom binary")?;
    let log = log_path(ws, port);
    fs::create_dir_all(log.parent().unwrap_or(ws)).with_context(|| format!("creating {}", log.display()))?;
    let log_file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .with_context(|| format!("opening {}", log.display()))?;
    let child = Command::new(&exe)
        .arg("proxy")
        .args(launch.args(port))
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {} proxy", exe.display()))?;
    let mut started = Started { child, log };
    // Ctrl-C while the component loads stops the proxy too (it is in its own process group, so
    // the terminal's signal does not reach it).
    let mut signals = match http.signals() {
        Ok(s) => s,
        Err(e) => {
            stop(&mut started);
            return Err(e);
        }
    };
    let deadline = Instant::now() + ready_within;
    loop {
        if let Some(status) = started.child.try_wait()? {
            bail!("the proxy exited ({status}) before it was ready:\n{}", tail(&started.log, 12));
        }
        match probe(http, port) {
            PortStatus::Headroom { ready: true, .. } => return Ok(started),
            PortStatus::Other(what) => {
                stop(&mut started);
                bail!("port {port} was taken by another service while the proxy started: {what}");
            }
            _ if Instant::now() > deadline => {
                stop(&mut started);
                bail!(
                    "the proxy on port {port} was not ready within {}s:\n{}",
                    ready_within.as_secs(),
                    tail(&started.log, 12)
                );
            }
            _ => {
                if http.pause(&mut signals, Duration::from_millis(50)) {
                    stop(&mut started);
                    bail!("interrupted while the proxy started; stopped it");
                }
            }
        }
    }
}

/// Stop a proxy this wrap started: SIGINT (it shuts down gracefully on it), then SIGKILL after
/// five seconds.
pub fn stop(p: &mut Started) {
    signal_then_kill(&mut p.child, Duration::from_secs(5));
}

fn signal_then_kill(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Stop a proxy recorded by a wrap that is gone (not our child any more): SIGINT, then SIGKILL.
pub fn stop_orphan(pid: u32) {
    let p = nix::unistd::Pid::from_raw(pid as i32);
    let _ = nix::sys::signal::kill(p, nix::sys::signal::Signal::SIGINT);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && super::state::alive(pid) {
        std::thread::sleep(Duration::from_millis(20));
    }
    if super::state::alive(pid) {
        let _ = nix::sys::signal::kill(p, nix::sys::signal::Signal::SIGKILL);
    }
}

/// The last lines of a log, for an error message.
fn tail(path: &Path, n: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
