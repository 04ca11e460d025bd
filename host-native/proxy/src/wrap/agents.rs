//! The agents `wrap` knows, and what routes each through the proxy: environment variables
//! for the agent's process, config-file edits, or (for an agent wrap cannot launch) what to set
//! by hand. Sources for each agent's variables and files are cited beside it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::edits::PlannedEdit;

/// An agent `wrap` can route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Agent {
    /// Claude Code (`claude`).
    Claude,
    /// OpenAI Codex CLI (`codex`).
    Codex,
}

impl Agent {
    /// Its name on the command line and in the wrap record.
    pub fn name(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
        }
    }
}

/// The environment wrap reads (the real one, or a test's).
pub trait Env {
    /// A variable, `None` when unset or empty.
    fn var(&self, key: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, key: &str) -> Option<String> {
        std::env::var(key).ok().filter(|v| !v.is_empty())
    }
}

/// What routes an agent through the proxy.
#[derive(Debug, Default)]
pub struct Plan {
    /// Set in the agent's environment.
    pub env: Vec<(String, String)>,
    /// Config files to edit (undone afterwards).
    pub edits: Vec<PlannedEdit>,
    /// The program to launch (`None`: the agent is not launched by wrap; `notes` say what to set).
    pub program: Option<String>,
    /// Where the agent sent Anthropic requests before (a gateway), for a proxy wrap starts.
    pub anthropic_upstream: Option<String>,
    /// Where the agent sent OpenAI requests before, without `/v1`.
    pub openai_upstream: Option<String>,
    /// Printed for the user.
    pub notes: Vec<String>,
}

/// The proxy's URLs.
pub struct ProxyUrls {
    /// `http://127.0.0.1:PORT` (the Anthropic base URL: clients append `/v1/messages`).
    pub base: String,
    /// `http://127.0.0.1:PORT/v1` (the OpenAI base URL).
    pub v1: String,
}

impl ProxyUrls {
    /// URLs of a proxy on 127.0.0.1:`port`.
    pub fn new(port: u16) -> Self {
        let base = format!("http://127.0.0.1:{port}");
        Self { v1: format!("{base}/v1"), base }
    }
}

fn home(env: &dyn Env) -> Result<PathBuf> {
    env.var("HOME").map(PathBuf::from).context("HOME is not set")
}

fn read_opt(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// A previous base URL the proxy should forward to: set, and not the proxy itself.
fn previous_upstream(value: Option<String>, proxy: &str) -> Option<String> {
    value.map(|v| v.trim_end_matches('/').to_owned()).filter(|v| !v.starts_with(proxy))
}

/// Codex's config file: `$CODEX_HOME/config.toml`, `~/.codex/config.toml` by default.
pub fn codex_config(env: &dyn Env) -> Result<PathBuf> {
    Ok(match env.var("CODEX_HOME") {
        Some(h) => PathBuf::from(h),
        None => home(env)?.join(".codex"),
    }
    .join("config.toml"))
}

/// Work out how to route `agent` through the proxy at `urls`.
pub fn plan(agent: Agent, urls: &ProxyUrls, env: &dyn Env) -> Result<Plan> {
    let mut p = Plan { program: Some(agent.name().to_owned()), ..Plan::default() };
    match agent {
        Agent::Claude => {
            // Claude Code reads ANTHROPIC_BASE_URL (https://code.claude.com/docs/en/settings,
            // "Environment variables"); requests go to `$ANTHROPIC_BASE_URL/v1/messages`.
            p.anthropic_upstream = previous_upstream(env.var("ANTHROPIC_BASE_URL"), &urls.base);
            p.env.push(("ANTHROPIC_BASE_URL".into(), urls.base.clone()));
        }
        Agent::Codex => {
            let path = codex_config(env)?;
            let before = read_opt(&path)?;
            let routed = super::codex::route(before.as_deref().unwrap_or(""), &urls.v1)
                .with_context(|| format!("routing {}", path.display()))?;
            p.openai_upstream = routed.upstream;
            p.edits.push(PlannedEdit { agent: agent.name(), path, before, after: routed.after });
        }
    }
    Ok(p)
}
