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
    /// GitHub Copilot CLI (`copilot`), through its BYOK provider variables.
    Copilot,
    /// Aider (`aider`).
    Aider,
    /// OpenCode (`opencode`).
    Opencode,
    /// Block's goose (`goose`).
    Goose,
    /// Continue (`cn`, or the editor extension: config.yaml edited while wrap runs).
    Continue,
    /// Cursor (an editor: wrap prints what to set, and keeps a proxy it started running until
    /// interrupted).
    Cursor,
}

impl Agent {
    /// Its name on the command line and in the wrap record.
    pub fn name(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
            Agent::Copilot => "copilot",
            Agent::Aider => "aider",
            Agent::Opencode => "opencode",
            Agent::Goose => "goose",
            Agent::Cursor => "cursor",
            Agent::Continue => "continue",
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

/// An OpenAI-style base URL (with `/v1`) as the proxy's upstream (without it).
fn openai_root(v1: Option<String>, proxy: &str) -> Option<String> {
    previous_upstream(v1, proxy).map(|u| u.strip_suffix("/v1").map(str::to_owned).unwrap_or(u))
}

/// Codex's config file: `$CODEX_HOME/config.toml`, `~/.codex/config.toml` by default.
pub fn codex_config(env: &dyn Env) -> Result<PathBuf> {
    Ok(match env.var("CODEX_HOME") {
        Some(h) => PathBuf::from(h),
        None => home(env)?.join(".codex"),
    }
    .join("config.toml"))
}

/// Continue's config file: `$CONTINUE_GLOBAL_DIR/config.yaml` (the variable relocates
/// `~/.continue`, as Continue's extension and CLI read it).
pub fn continue_config(env: &dyn Env) -> Result<PathBuf> {
    Ok(match env.var("CONTINUE_GLOBAL_DIR") {
        Some(d) => PathBuf::from(d),
        None => home(env)?.join(".continue"),
    }
    .join("config.yaml"))
}

/// The config files wrap edits (for doctor's look for edits no record explains).
pub fn edited_files(env: &dyn Env) -> Vec<(&'static str, PathBuf)> {
    let mut out = Vec::new();
    if let Ok(p) = codex_config(env) {
        out.push(("codex", p));
    }
    if let Ok(p) = continue_config(env) {
        out.push(("continue", p));
    }
    out
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
        Agent::Copilot => {
            // Copilot CLI's BYOK provider (https://docs.github.com/copilot/how-tos/copilot-cli/customize-copilot/use-byok-models):
            // COPILOT_PROVIDER_BASE_URL, COPILOT_PROVIDER_TYPE (openai, the default; azure;
            // anthropic), COPILOT_PROVIDER_API_KEY, COPILOT_MODEL (or --model). Provider type
            // "auto" as Headroom does it: the proxy's Anthropic route by default; a user
            // already on an OpenAI-compatible BYOK provider keeps that dialect through `/v1`.
            let kind = env.var("COPILOT_PROVIDER_TYPE").unwrap_or_else(|| "anthropic".into());
            let own = env.var("COPILOT_PROVIDER_BASE_URL");
            if kind == "anthropic" {
                p.anthropic_upstream = previous_upstream(own, &urls.base);
                p.env.push(("COPILOT_PROVIDER_BASE_URL".into(), urls.base.clone()));
                p.env.push(("COPILOT_PROVIDER_TYPE".into(), "anthropic".into()));
                if env.var("COPILOT_PROVIDER_API_KEY").is_none()
                    && let Some(key) = env.var("ANTHROPIC_API_KEY")
                {
                    p.env.push(("COPILOT_PROVIDER_API_KEY".into(), key));
                }
            } else {
                p.openai_upstream = openai_root(own, &urls.base);
                p.env.push(("COPILOT_PROVIDER_BASE_URL".into(), urls.v1.clone()));
                if env.var("COPILOT_PROVIDER_API_KEY").is_none()
                    && let Some(key) = env.var("OPENAI_API_KEY")
                {
                    p.env.push(("COPILOT_PROVIDER_API_KEY".into(), key));
                }
            }
            if env.var("COPILOT_MODEL").is_none() {
                p.notes.push("copilot: BYOK needs a model: set COPILOT_MODEL or pass -- --model NAME".into());
            }
        }
        Agent::Aider => {
            // Aider talks to providers through LiteLLM: OPENAI_API_BASE (aider's
            // `--openai-api-base`, https://aider.chat/docs/config/options.html) and
            // ANTHROPIC_API_BASE (LiteLLM's Anthropic base, https://docs.litellm.ai/docs/providers/anthropic).
            p.anthropic_upstream = previous_upstream(env.var("ANTHROPIC_API_BASE"), &urls.base);
            p.openai_upstream = openai_root(env.var("OPENAI_API_BASE"), &urls.base);
            p.env.push(("ANTHROPIC_API_BASE".into(), urls.base.clone()));
            p.env.push(("OPENAI_API_BASE".into(), urls.v1.clone()));
        }
        Agent::Goose => {
            // goose's providers read ANTHROPIC_HOST and OPENAI_HOST (host only: goose appends
            // OPENAI_BASE_PATH, `v1/chat/completions`, and `/v1/messages`);
            // https://block.github.io/goose/docs/getting-started/providers
            p.anthropic_upstream = previous_upstream(env.var("ANTHROPIC_HOST"), &urls.base);
            p.openai_upstream = previous_upstream(env.var("OPENAI_HOST"), &urls.base);
            p.env.push(("ANTHROPIC_HOST".into(), urls.base.clone()));
            p.env.push(("OPENAI_HOST".into(), urls.base.clone()));
        }
        Agent::Opencode => {
            // OpenCode merges OPENCODE_CONFIG_CONTENT (inline JSON, the highest precedence)
            // over its config files (https://opencode.ai/docs/config): setting the providers'
            // `options.baseURL` there routes it without editing any file, so nothing is left to
            // undo if the wrap dies. The AI SDK's base URLs carry `/v1`.
            let mut cfg: serde_json::Value = match env.var("OPENCODE_CONFIG_CONTENT") {
                Some(s) => serde_json::from_str(&s).context("OPENCODE_CONFIG_CONTENT is not JSON")?,
                None => serde_json::json!({}),
            };
            for provider in ["anthropic", "openai"] {
                let slot = &mut cfg["provider"][provider]["options"];
                if !slot.is_object() {
                    *slot = serde_json::json!({});
                }
                slot["baseURL"] = serde_json::json!(urls.v1);
            }
            p.env.push(("OPENCODE_CONFIG_CONTENT".into(), cfg.to_string()));
        }
        Agent::Continue => {
            let path = continue_config(env)?;
            let before = read_opt(&path)?.with_context(|| {
                format!("{} does not exist: configure a model in Continue first", path.display())
            })?;
            let routed = super::continue_cfg::route(&before, &urls.v1)
                .with_context(|| format!("routing {}", path.display()))?;
            p.anthropic_upstream = routed.anthropic;
            p.openai_upstream = routed.openai;
            p.edits.push(PlannedEdit {
                agent: agent.name(),
                path,
                before: Some(before),
                after: routed.after,
            });
            // The Continue CLI when installed; the editor extension reloads config.yaml on save,
            // so without `cn` wrap keeps the edit (and the proxy) until Ctrl-C.
            p.program = super::which("cn").map(|_| "cn".to_owned());
            if p.program.is_none() {
                p.notes.push("continue: config.yaml routed; Continue in your editor picks it up on reload. Ctrl-C undoes it.".into());
            }
        }
        Agent::Cursor => {
            // Cursor's requests leave from Cursor's servers, which cannot reach 127.0.0.1: its
            // "Override OpenAI Base URL" (Settings > Models) needs the proxy at a public address
            // (a tunnel); https://docs.cursor.com/settings/api-keys
            p.program = None;
            p.notes.push(format!(
                "cursor: in Cursor, Settings > Models > OpenAI API Key > Override OpenAI Base URL: {} \
                 (Cursor calls it from its servers: expose the proxy at a public HTTPS address, e.g. a tunnel, and use that URL)",
                urls.v1
            ));
        }
    }
    Ok(p)
}
