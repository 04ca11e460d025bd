//! One session replayed through the engine, request by request, in one mode.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::Instant;

use anyhow::{Context, Result};
use headroom_core::marker::Marker;
use headroom_core::{Dialect, Mode, Options, RequestOutcome, Status};
use headroom_tokenizer::O200k;
use serde_json::Value;
use serde_json::value::RawValue;

use super::bill::{Pricer, cost};
use super::case::{Case, Conversation, Request};
use super::refs::{Fate, Scorer};
use super::tally::{LostLine, LostRef, Tally, ToolRow};
use super::text::{message_text, result_parts};
use super::tools::{Outcome, error_lines_kept, group};

/// The forwarded messages of the previous request, with their token counts.
#[derive(Default)]
struct Sent {
    conv: Option<usize>,
    messages: Vec<String>,
    tokens: Vec<u64>,
}

/// Replay every request of `case` in `mode`.
pub fn replay(case: &Case, mode: Mode) -> Result<Tally> {
    let start = Instant::now();
    let opts = Options { mode, context_limit: case.window, ..Options::default() };
    let counter = |s: &str| O200k::count(s);
    let mut t = Tally::default();
    let mut pricer = Pricer::new(case.ttl.as_deref());
    let mut previous_direct: &[String] = &[];
    let mut previous = Sent::default();
    // Compressed forms of outputs already checked for error lines: (tool_use id, text hash).
    let mut checked: HashSet<(String, u64)> = HashSet::new();
    // Outputs already in the by-tool table (a rewound conversation repeats its history).
    let mut counted: HashSet<String> = HashSet::new();
    for (index, r) in case.requests.iter().enumerate() {
        let conv = &case.conversations[r.conv];
        let body = case.body(r);
        let outcome = headroom_core::compress_request(Dialect::AnthropicMessages, &body, &opts, &counter)
            .with_context(|| format!("{} request {}", case.id, r.k))?;
        let forwarded = outcome.body.as_deref().unwrap_or(&body);
        let statuses = statuses(&outcome, conv);
        let raw = raw_messages(forwarded)
            .with_context(|| format!("{} request {}: forwarded body", case.id, r.k))?;

        let mut sent = Sent { conv: Some(r.conv), ..Sent::default() };
        for (j, m) in raw.iter().enumerate() {
            let tokens = if previous.messages.get(j).is_some_and(|p| p == m) {
                previous.tokens[j]
            } else if conv.messages.get(j).is_some_and(|d| d == m) {
                conv.tokens[j]
            } else {
                // New to this replay and changed by the engine: count it, check its outputs.
                let v: Value = serde_json::from_str(m)?;
                check_errors(&v, conv, &statuses, case, r, &mut checked, &mut t);
                u64::from(O200k::count(&message_text(&v)))
            };
            sent.messages.push((*m).to_owned());
            sent.tokens.push(tokens);
        }

        let n = r.n_messages;
        let price = pricer.next(r);
        t.requests += 1;
        t.cold += u64::from(price.cold);
        t.tokens_before += conv.tokens[..n].iter().sum::<u64>();
        t.tokens_after += sent.tokens.iter().sum::<u64>();
        t.bill_direct += cost(previous_direct, &conv.messages[..n], &conv.tokens[..n], price);
        t.bill_proxy += cost(&previous.messages, &sent.messages, &sent.tokens, price);
        if previous.conv == Some(r.conv) {
            t.pairs += 1;
            t.prefix_kept += u64::from(sent.messages.starts_with(&previous.messages));
        }
        if let Some(c) = &outcome.context {
            t.over_window += 1;
            t.compressed_deeper += u64::from(c.compressed_deeper);
            t.messages_dropped += u64::from(c.messages_dropped);
        }
        let last = case.is_last_of_conversation(index);
        if !r.next_refs.is_empty() || last {
            let v: Value = serde_json::from_slice(forwarded)?;
            if !r.next_refs.is_empty() {
                score_refs(&v, &outcome, conv, &statuses, case, r, &mut t);
                dump(case, r, mode, forwarded)?;
            }
            if last {
                by_tool(&v, conv, &statuses, r, &mut counted, &mut t);
            }
        }
        previous_direct = &conv.messages[..n];
        previous = sent;
    }
    t.seconds = start.elapsed().as_secs_f64();
    Ok(t)
}

/// With `HEADROOM_BENCH_DUMP=DIR`, write the forwarded body of each request that has next refs
/// to `DIR/<case>-<k>-<mode>.json`, so the fidelity figures can be checked against the
/// corpus's own scorer (`build.py --score cases/<case>.json <k> FILE`).
fn dump(case: &Case, r: &Request, mode: Mode, forwarded: &[u8]) -> Result<()> {
    let Some(dir) = std::env::var_os("HEADROOM_BENCH_DUMP") else { return Ok(()) };
    let name = format!("{}-{}-{}.json", case.id, r.k, if mode == Mode::Cache { "cache" } else { "token" });
    let path = std::path::Path::new(&dir).join(name);
    std::fs::write(&path, forwarded).with_context(|| format!("writing {}", path.display()))
}

/// Each message of a body as the exact bytes it was sent with.
fn raw_messages(body: &[u8]) -> Result<Vec<&str>> {
    let top: HashMap<&str, &RawValue> = serde_json::from_slice(body)?;
    let messages = top.get("messages").context("no messages")?;
    let list: Vec<&RawValue> = serde_json::from_str(messages.get())?;
    Ok(list.into_iter().map(RawValue::get).collect())
}

/// What the engine did to each tool output of the request, by tool_use id (a result sent as
/// several text parts is compressed when any part is), with the kind it detected.
fn statuses(outcome: &RequestOutcome, conv: &Conversation) -> HashMap<String, (Outcome, String)> {
    let mut out: HashMap<String, (Outcome, String)> = HashMap::new();
    for b in &outcome.report {
        let Some(id) = conv.result_at(b.message_index, b.block_index, b.tokens_before) else { continue };
        let this = match &b.status {
            Status::Compressed(t) => Outcome::Compressed(t.clone()),
            Status::Declined(reason) => Outcome::Declined(reason.name()),
        };
        let entry = out.entry(id.to_owned()).or_insert((this.clone(), b.kind.name().to_owned()));
        if matches!(this, Outcome::Compressed(_)) && !matches!(entry.0, Outcome::Compressed(_)) {
            entry.0 = this;
        }
    }
    out
}

fn describe(o: Option<&(Outcome, String)>) -> String {
    match o {
        Some((Outcome::Compressed(t), _)) => t.clone(),
        Some((Outcome::Declined(r), kind)) => format!("declined:{r} ({kind})"),
        Some((Outcome::NotConsidered, _)) | None => "not considered".to_owned(),
    }
}

/// Error lines of every tool output in `message` that the engine changed, each distinct
/// forwarded form once.
fn check_errors(
    message: &Value,
    conv: &Conversation,
    statuses: &HashMap<String, (Outcome, String)>,
    case: &Case,
    r: &Request,
    checked: &mut HashSet<(String, u64)>,
    t: &mut Tally,
) {
    for block in message["content"].as_array().map(Vec::as_slice).unwrap_or_default() {
        if block["type"] != "tool_result" {
            continue;
        }
        let id = block["tool_use_id"].as_str().unwrap_or_default();
        let Some(original) = conv.outputs.get(id) else { continue };
        let parts = result_parts(block);
        if &parts == original {
            continue;
        }
        let mut h = DefaultHasher::new();
        parts.hash(&mut h);
        if !checked.insert((id.to_owned(), h.finish())) {
            continue;
        }
        t.forms_checked += 1;
        let forwarded = parts.join("\n");
        let lossy = !Marker::find_all(&forwarded).is_empty();
        for part in original {
            let (lost, total) = error_lines_kept(part, &forwarded);
            t.error_lines += total as u64;
            t.error_lines_kept += (total - lost.len()) as u64;
            if !lossy {
                t.error_lines_reformatted += lost.len() as u64;
            }
            for line in lost {
                t.lost_lines.push(LostLine {
                    case: case.id.clone(),
                    k: r.k,
                    tool: conv.tool_names.get(id).cloned().unwrap_or_default(),
                    transform: describe(statuses.get(id)),
                    line: line.to_owned(),
                    lossy,
                });
            }
        }
    }
}

fn score_refs(
    body: &Value,
    outcome: &RequestOutcome,
    conv: &Conversation,
    statuses: &HashMap<String, (Outcome, String)>,
    case: &Case,
    r: &Request,
    t: &mut Tally,
) {
    let scorer = Scorer::new(body, &outcome.offloads);
    t.ref_steps += 1;
    t.ref_steps_all_kept += u64::from(r.next_refs.iter().all(|nr| scorer.fate(&nr.text) == Fate::Kept));
    for nr in &r.next_refs {
        let fate = scorer.fate(&nr.text);
        *t.refs.entry((nr.kind.clone(), fate)).or_default() += 1;
        if fate == Fate::Lost {
            let newest = conv
                .results
                .iter()
                .filter(|(m, _)| *m + 1 == r.n_messages)
                .map(|(_, id)| {
                    let tool = conv.tool_names.get(id).map_or("?", String::as_str);
                    format!("{tool}: {}", describe(statuses.get(id)))
                })
                .collect::<Vec<_>>()
                .join("; ");
            t.lost_refs.push(LostRef {
                case: case.id.clone(),
                k: r.k,
                kind: nr.kind.clone(),
                text: nr.text.clone(),
                newest,
            });
        }
    }
}

/// Every tool output of the conversation's last request not counted before: its tokens as
/// sent and as forwarded, and what the engine did with it.
fn by_tool(
    body: &Value,
    conv: &Conversation,
    statuses: &HashMap<String, (Outcome, String)>,
    r: &Request,
    counted: &mut HashSet<String>,
    t: &mut Tally,
) {
    let mut forwarded: HashMap<&str, Vec<String>> = HashMap::new();
    for m in body["messages"].as_array().map(Vec::as_slice).unwrap_or_default() {
        for block in m["content"].as_array().map(Vec::as_slice).unwrap_or_default() {
            if block["type"] == "tool_result" {
                forwarded.insert(block["tool_use_id"].as_str().unwrap_or_default(), result_parts(block));
            }
        }
    }
    let count = |parts: &[String]| parts.iter().map(|p| u64::from(O200k::count(p))).sum::<u64>();
    for (m, id) in &conv.results {
        if *m >= r.n_messages || !counted.insert(id.clone()) {
            continue;
        }
        let tool = group(conv.tool_names.get(id).map_or("", String::as_str));
        let before = conv.outputs.get(id).map_or(0, |p| count(p));
        let after = forwarded.get(id.as_str()).map_or(0, |p| count(p));
        let row: &mut ToolRow = t.by_tool.entry(tool).or_default();
        row.outputs += 1;
        row.tokens_before += before;
        row.tokens_after += after;
        let status = statuses.get(id);
        match status.map(|s| &s.0) {
            _ if !forwarded.contains_key(id.as_str()) => row.dropped += 1,
            Some(Outcome::Compressed(_)) => row.compressed += 1,
            Some(Outcome::Declined(reason)) => *row.declined.entry(reason).or_default() += 1,
            Some(Outcome::NotConsidered) | None => row.not_considered += 1,
        }
        let kind = status.map_or("(not considered)", |s| s.1.as_str());
        let k = t.by_kind.entry((tool, kind.to_owned())).or_default();
        k.0 += 1;
        k.1 += before;
        k.2 += after;
    }
}
