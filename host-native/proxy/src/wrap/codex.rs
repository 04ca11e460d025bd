//! Codex routes by its `config.toml` (`$CODEX_HOME/config.toml`, `~/.codex` by default): a
//! `[model_providers.<id>]` block (`base_url` with `/v1`, Codex appends `/responses`;
//! `wire_api = "responses"`, the only value current releases accept; `env_key` names the
//! variable holding the key) selected by the root key `model_provider` (default `"openai"`).
//! Documented at <https://developers.openai.com/codex/config-sample> and
//! <https://developers.openai.com/codex/config-reference>.
//!
//! The edit is minimal and made with `toml_edit`, so comments, order and every other key stay:
//! one root key changes (`model_provider = "headroom"`) and one block is added, a copy of the
//! provider the user had (its headers, retries, `env_key`) with the proxy's URL. The proxy is
//! told to forward to that provider's URL, so a user on a gateway stays on it.

use anyhow::{Context, Result, bail};
use toml_edit::{DocumentMut, Item, Table, value};

/// The provider id the wrap adds.
pub const PROVIDER_ID: &str = "headroom";

/// The routed config and where the proxy must forward.
#[derive(Debug)]
pub struct Routed {
    /// The new `config.toml` text.
    pub after: String,
    /// The OpenAI upstream the user's provider used (without `/v1`), when not the default.
    pub upstream: Option<String>,
}

/// Route `config.toml`'s text through the proxy at `proxy_v1` (`http://127.0.0.1:PORT/v1`).
pub fn route(before: &str, proxy_v1: &str) -> Result<Routed> {
    let mut doc: DocumentMut = before.parse().context("config.toml is not valid TOML")?;
    let current = doc.get("model_provider").and_then(Item::as_str).unwrap_or("openai").to_owned();
    if current == PROVIDER_ID {
        bail!(
            "config.toml already selects model_provider \"{PROVIDER_ID}\" (an earlier wrap not undone? run `headroom unwrap codex`)"
        );
    }
    let previous = doc.get("model_providers").and_then(|p| p.get(&current)).and_then(Item::as_table_like);
    let mut block = Table::new();
    let mut upstream = None;
    match previous {
        Some(prev) => {
            for (k, v) in prev.iter() {
                block.insert(k, v.clone());
            }
            let base = prev.get("base_url").and_then(Item::as_str).with_context(|| {
                format!(
                    "[model_providers.{current}] has no base_url; cannot tell where the proxy should forward"
                )
            })?;
            let base = base.trim_end_matches('/');
            let Some(root) = base.strip_suffix("/v1") else {
                bail!(
                    "[model_providers.{current}] base_url {base} does not end in /v1: the proxy forwards /v1/responses to its upstream, so it cannot stand in for this provider"
                );
            };
            upstream = Some(root.to_owned());
        }
        None => {
            // The built-in `openai` provider: keep its sign-in (a ChatGPT login or OPENAI_API_KEY).
            block.insert("requires_openai_auth", value(true));
        }
    }
    block.insert("name", value(format!("Headroom proxy (was {current})")));
    block.insert("base_url", value(proxy_v1));
    block.insert("wire_api", value("responses"));
    doc.insert("model_provider", value(PROVIDER_ID));
    let providers = doc
        .entry("model_providers")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_like_mut()
        .context("model_providers in config.toml is not a table")?;
    providers.insert(PROVIDER_ID, Item::Table(block));
    Ok(Routed { after: doc.to_string(), upstream })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_comments_and_copies_the_users_provider() {
        let before = "# my settings\nmodel = \"gpt-5.5\" # pinned\nmodel_provider = \"gw\"\n\n[model_providers.gw]\nname = \"gw\"\nbase_url = \"http://gw.example/v1\"\nwire_api = \"responses\"\nenv_key = \"GW_KEY\"\n\n[mcp_servers.x]\ncommand = \"x\"\n";
        let r = route(before, "http://127.0.0.1:8787/v1").unwrap();
        assert_eq!(r.upstream.as_deref(), Some("http://gw.example"));
        assert!(
            r.after.starts_with("# my settings\nmodel = \"gpt-5.5\" # pinned\nmodel_provider = \"headroom\"")
        );
        let doc: DocumentMut = r.after.parse().unwrap();
        let h = &doc["model_providers"]["headroom"];
        assert_eq!(h["base_url"].as_str(), Some("http://127.0.0.1:8787/v1"));
        assert_eq!(h["env_key"].as_str(), Some("GW_KEY"));
        assert_eq!(doc["model_providers"]["gw"]["base_url"].as_str(), Some("http://gw.example/v1"));
        assert_eq!(doc["mcp_servers"]["x"]["command"].as_str(), Some("x"));
    }

    #[test]
    fn default_provider_keeps_openai_sign_in() {
        let r = route("", "http://127.0.0.1:8787/v1").unwrap();
        assert_eq!(r.upstream, None);
        let doc: DocumentMut = r.after.parse().unwrap();
        assert_eq!(doc["model_provider"].as_str(), Some("headroom"));
        assert_eq!(doc["model_providers"]["headroom"]["requires_openai_auth"].as_bool(), Some(true));
        assert_eq!(doc["model_providers"]["headroom"]["wire_api"].as_str(), Some("responses"));
    }

    #[test]
    fn refuses_a_provider_it_cannot_stand_in_for() {
        let before =
            "model_provider = \"az\"\n[model_providers.az]\nbase_url = \"https://x.example/openai\"\n";
        assert!(route(before, "http://127.0.0.1:1/v1").is_err());
        assert!(route("model_provider = \"headroom\"\n", "http://127.0.0.1:1/v1").is_err());
    }
}
