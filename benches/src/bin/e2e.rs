//! End-to-end savings, the measuring half: reads what `benches/e2e/send.py` sent through the
//! proxy with the official SDKs and what the mock upstream received, and reports tokens, the
//! bill under prompt caching, prefix stability and next-step fidelity per mode and SDK; it also
//! checks that the proxy forwarded exactly what the engine produces for the same request.
//! Usage: e2e DIR [--out FILE], DIR holding `cache/` and `token/` runs. With `--out`, rewrites
//! the `## mini-swe-agent trajectories` section of FILE (`e2e_sessions` writes the other).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use headroom_benches::billing::{bill, pct, tokens};
use headroom_benches::fidelity::{command_of, contains_word, facts_read_from};
use headroom_benches::results_file::write_section;
use headroom_benches::trajectory::{corpus_dir, load_all};
use headroom_core::{Dialect, Mode, Options};
use headroom_tokenizer::O200k;
use serde_json::{Value, json};

#[derive(Default)]
struct Row {
    requests: u64,
    before: u64,
    after: u64,
    bill_direct: f64,
    bill_proxy: f64,
    pairs: u64,
    prefix_kept: u64,
    facts: u64,
    facts_in_view: u64,
    engine_agrees: u64,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).context("usage: e2e DIR [--out FILE]")?;
    let out = args.iter().position(|a| a == "--out").and_then(|i| args.get(i + 1));
    let trajectories = load_all(&corpus_dir())?;
    let by_name: BTreeMap<&str, &Vec<(String, String)>> =
        trajectories.iter().map(|t| (t.name.as_str(), &t.messages)).collect();
    let mut report = String::from(
        "## mini-swe-agent trajectories\n\n\
         Measured with `just bench-e2e`: agent trajectories replayed through `headroom proxy` by the official\n\
         OpenAI and Anthropic Python SDKs (streaming and non-streaming requests alternating), in front of the\n\
         mock upstream, which recorded every body it received. Tokens are exact o200k counts of message\n\
         text; the bill prices a cached prefix at 0.1x and new input at 1.25x, per SDK and trajectory in order.\n\
         \"Engine agrees\": the forwarded messages equal the native engine's output for the same request.\n\
         \"Tokens received\", the bill and \"prefix kept\" also count the `headroom_retrieve` tool the proxy adds\n\
         (these agents define no tools; the tool arrives with their first sizeable command output and stays):\n\
         that definition, and the one change of the tools prefix, are the gap to the engine-only benchmark.\n\n\
         | mode | SDK | requests | tokens sent | tokens received upstream | saved | billed vs direct | prefix kept | fidelity in view | engine agrees |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for mode in ["cache", "token"] {
        let run = Path::new(dir).join(mode);
        let index = read_lines(&run.join("index.jsonl"))?;
        let bodies = read_lines(&run.join("bodies.jsonl"))?;
        anyhow::ensure!(
            index.len() == bodies.len(),
            "{mode}: {} requests, {} upstream bodies",
            index.len(),
            bodies.len()
        );
        let opts =
            Options { mode: if mode == "token" { Mode::Token } else { Mode::Cache }, ..Options::default() };
        let mut rows: BTreeMap<String, Row> = BTreeMap::new();
        let mut previous: BTreeMap<(String, String), (Vec<String>, Vec<String>)> = BTreeMap::new();
        for (entry, upstream) in index.iter().zip(&bodies) {
            let sdk = entry["sdk"].as_str().unwrap_or_default().to_owned();
            let traj = entry["traj"].as_str().unwrap_or_default().to_owned();
            let k = entry["k"].as_u64().unwrap_or(0) as usize;
            let messages = by_name.get(traj.as_str()).context("unknown trajectory")?;
            let direct: Vec<String> = messages[..=k].iter().map(|(_, c)| c.clone()).collect();
            let body: Value = serde_json::from_str(upstream["body"].as_str().unwrap_or_default())?;
            let received = contents(&sdk, &body);
            // The bill and the prefix also cover the tools the proxy added (the retrieval tool
            // comes first in the provider's cache order, so its arrival costs a cache write).
            let mut sent = received.clone();
            if let Some(tools) = body.get("tools") {
                sent.insert(0, tools.to_string());
            }
            let engine = engine_contents(&sdk, &messages[..=k], &opts)?;
            let row = rows.entry(sdk.clone()).or_default();
            row.requests += 1;
            row.engine_agrees += u64::from(engine == received);
            row.before += tokens(&direct);
            row.after += tokens(&sent);
            let (prev_direct, prev_sent) = previous.remove(&(sdk.clone(), traj.clone())).unwrap_or_default();
            row.bill_direct += bill(&prev_direct, &direct);
            row.bill_proxy += bill(&prev_sent, &sent);
            if !prev_sent.is_empty() {
                row.pairs += 1;
                row.prefix_kept +=
                    u64::from(sent.len() >= prev_sent.len() && sent[..prev_sent.len()] == prev_sent[..]);
            }
            if k + 1 < messages.len() {
                let earlier = format!("{}\n{}", direct[1], command_of(&direct[k - 1]));
                let facts = facts_read_from(&direct[k], &earlier, command_of(&messages[k + 1].1));
                let view = received.join("\n");
                row.facts += facts.len() as u64;
                row.facts_in_view += facts.iter().filter(|f| contains_word(&view, f)).count() as u64;
            }
            previous.insert((sdk, traj), (direct, sent));
        }
        for (sdk, r) in rows {
            report.push_str(&format!(
                "| {mode} | {sdk} | {} | {} | {} | {:.1}% | {:.1}% fewer | {:.1}% | {:.2}% | {} of {} |\n",
                r.requests,
                r.before,
                r.after,
                pct(r.before - r.after, r.before),
                100.0 * (1.0 - r.bill_proxy / r.bill_direct),
                pct(r.prefix_kept, r.pairs),
                pct(r.facts_in_view, r.facts),
                r.engine_agrees,
                r.requests
            ));
        }
    }
    println!("{report}");
    if let Some(path) = out {
        write_section(
            Path::new(path),
            "# End-to-end savings through the proxy",
            "## mini-swe-agent trajectories",
            &report,
        )?;
    }
    Ok(())
}

fn read_lines(path: &Path) -> Result<Vec<Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines().filter(|l| !l.is_empty()).map(|l| Ok(serde_json::from_str(l)?)).collect()
}

/// Message texts in trajectory order: OpenAI's messages, or Anthropic's system then messages.
fn contents(sdk: &str, body: &Value) -> Vec<String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join("\n"),
        _ => String::new(),
    };
    let mut out = Vec::new();
    if sdk == "anthropic" {
        out.push(text(&body["system"]));
    }
    for m in body["messages"].as_array().into_iter().flatten() {
        out.push(text(&m["content"]));
    }
    out
}

/// What the native engine makes of the same request.
fn engine_contents(sdk: &str, messages: &[(String, String)], opts: &Options) -> Result<Vec<String>> {
    let (dialect, body) = if sdk == "anthropic" {
        let rest: Vec<Value> = messages[1..].iter().map(|(r, c)| json!({"role": r, "content": c})).collect();
        (
            Dialect::AnthropicMessages,
            json!({"model": "claude-x", "max_tokens": 10, "system": messages[0].1, "messages": rest}),
        )
    } else {
        let all: Vec<Value> = messages.iter().map(|(r, c)| json!({"role": r, "content": c})).collect();
        (Dialect::OpenAiChat, json!({"model": "gpt-4o", "messages": all}))
    };
    let bytes = serde_json::to_vec(&body)?;
    let outcome = headroom_core::compress_request(dialect, &bytes, opts, &|s: &str| O200k::count(s))?;
    let out: Value = serde_json::from_slice(outcome.body.as_deref().unwrap_or(&bytes))?;
    Ok(contents(sdk, &out))
}
