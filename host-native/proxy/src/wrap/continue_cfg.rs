//! Continue routes by `~/.continue/config.yaml` (https://docs.continue.dev/reference): each entry
//! of the top-level `models` list names a `provider`, and `apiBase` redirects it (with `/v1`,
//! as Continue's Anthropic and OpenAI clients expect). The edit is by lines, so comments, order
//! and formatting stay: in every `anthropic` or `openai` model, `apiBase` is set (replaced, or
//! inserted under `provider`). Block-style YAML only; anything else is refused, never guessed.

use anyhow::{Result, bail};

/// The routed text and where the proxy must forward (per dialect, without `/v1`).
#[derive(Debug)]
pub struct Routed {
    /// The new config.yaml.
    pub after: String,
    /// The Anthropic upstream the models used, if not the default.
    pub anthropic: Option<String>,
    /// The OpenAI upstream the models used, if not the default.
    pub openai: Option<String>,
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// `key: value` at the start of `line` (after an optional `- `): the value, unquoted.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let t = line.trim_start();
    let t = t.strip_prefix("- ").unwrap_or(t).trim_start();
    let rest = t.strip_prefix(key)?.strip_prefix(':')?;
    let v = rest.split(" #").next().unwrap_or("").trim();
    Some(v.trim_matches(|c| c == '"' || c == '\''))
}

/// Route every Anthropic and OpenAI model of `before` through `proxy_v1`.
pub fn route(before: &str, proxy_v1: &str) -> Result<Routed> {
    let lines: Vec<&str> = before.lines().collect();
    let Some(start) = lines.iter().position(|l| l.trim_end() == "models:" && indent(l) == 0) else {
        bail!("config.yaml has no block-style top-level `models:` list");
    };
    let end = (start + 1..lines.len())
        .find(|&i| {
            !lines[i].trim().is_empty()
                && indent(lines[i]) == 0
                && !lines[i].trim_start().starts_with('#')
                && !lines[i].starts_with('-')
        })
        .unwrap_or(lines.len());
    // List items: lines starting with `- ` at the list's indentation.
    let items: Vec<usize> = (start + 1..end).filter(|&i| lines[i].trim_start().starts_with("- ")).collect();
    let item_indent = items.first().map(|&i| indent(lines[i]));
    let items: Vec<usize> = items.into_iter().filter(|&i| Some(indent(lines[i])) == item_indent).collect();
    let mut out: Vec<String> = lines.iter().map(|s| (*s).to_owned()).collect();
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let mut prev = (Vec::new(), Vec::new());
    let value = format!("{}/", proxy_v1.trim_end_matches('/'));
    let mut routed = 0;
    for (n, &first) in items.iter().enumerate() {
        let last = items.get(n + 1).copied().unwrap_or(end);
        let body = first..last;
        let Some((pi, provider)) = body.clone().find_map(|i| field(lines[i], "provider").map(|v| (i, v)))
        else {
            continue;
        };
        if provider != "anthropic" && provider != "openai" {
            continue;
        }
        routed += 1;
        let key_indent = if pi == first { indent(lines[pi]) + 2 } else { indent(lines[pi]) };
        match body.clone().find(|&i| field(lines[i], "apiBase").is_some()) {
            Some(ai) => {
                let old = field(lines[ai], "apiBase").unwrap_or("").trim_end_matches('/').to_owned();
                let root = old.strip_suffix("/v1").unwrap_or(&old).to_owned();
                if provider == "anthropic" { &mut prev.0 } else { &mut prev.1 }.push(root);
                let head = &lines[ai][..lines[ai].find("apiBase").unwrap_or(0)];
                out[ai] = format!("{head}apiBase: {value}");
            }
            None => inserts.push((pi + 1, format!("{}apiBase: {value}", " ".repeat(key_indent)))),
        }
    }
    if routed == 0 {
        bail!("config.yaml has no `anthropic` or `openai` model to route");
    }
    for (at, line) in inserts.into_iter().rev() {
        out.insert(at, line);
    }
    let one = |v: Vec<String>, what: &str| -> Result<Option<String>> {
        let mut v = v;
        v.sort();
        v.dedup();
        match v.len() {
            0 => Ok(None),
            1 => Ok(v.pop()),
            _ => bail!(
                "config.yaml's {what} models use different apiBase values ({}); one proxy forwards to one",
                v.join(", ")
            ),
        }
    };
    let mut after = out.join("\n");
    if before.ends_with('\n') {
        after.push('\n');
    }
    Ok(Routed { after, anthropic: one(prev.0, "anthropic")?, openai: one(prev.1, "openai")? })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_api_base_minimally() {
        let before = "name: mine # my config\nversion: 1.0.0\nschema: v1\nmodels:\n  - name: sonnet\n    provider: anthropic\n    model: claude-sonnet-4-5\n    apiKey: k # secret\n  - name: local\n    provider: ollama\n    model: qwen\n  - name: gw\n    provider: openai\n    model: gpt-5.5\n    apiBase: https://gw.example/v1/\ncontext:\n  - provider: code\n";
        let r = route(before, "http://127.0.0.1:8787/v1").unwrap();
        assert_eq!(r.openai.as_deref(), Some("https://gw.example"));
        assert_eq!(r.anthropic, None);
        let want = before
            .replace(
                "    provider: anthropic\n",
                "    provider: anthropic\n    apiBase: http://127.0.0.1:8787/v1/\n",
            )
            .replace("apiBase: https://gw.example/v1/", "apiBase: http://127.0.0.1:8787/v1/");
        assert_eq!(r.after, want);
    }

    #[test]
    fn refuses_what_it_cannot_edit() {
        assert!(route("models: [{provider: anthropic}]\n", "http://x/v1").is_err());
        assert!(route("models:\n  - provider: ollama\n", "http://x/v1").is_err());
    }
}
