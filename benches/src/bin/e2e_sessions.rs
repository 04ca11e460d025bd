//! End-to-end savings on the real Claude Code sessions, the measuring half: reads what
//! `benches/e2e/send_sessions.py` sent through the proxy with the official `anthropic` SDK and
//! what the mock upstream received, and reports per mode tokens sent vs arrived, the bill under
//! prompt caching at each session's real TTL and cold points (`claude_sessions::bill`), prefix
//! kept between consecutive requests as they arrived (tools included), next refs kept in what
//! arrived (`claude_sessions::refs`), and whether each arrived body is what the native engine
//! produces for the same request plus the proxy's retrieval tool.
//!
//! Usage: `e2e_sessions DIR [--out FILE] [--corpus DIR]`, DIR holding `cache/` and `token/` runs
//! (either may be absent). With `--out`, rewrites the `## Claude Code sessions` section of FILE.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail, ensure};
use headroom_benches::billing::pct;
use headroom_benches::claude_sessions::bill::{Pricer, cost};
use headroom_benches::claude_sessions::case::{Case, LARGE_WINDOW, corpus_dir, load_all};
use headroom_benches::claude_sessions::refs::{Fate, Scorer};
use headroom_benches::claude_sessions::text::message_text;
use headroom_benches::machine::{machine, revision};
use headroom_benches::results_file::write_section;
use headroom_core::{Dialect, Mode, Options};
use headroom_tokenizer::O200k;
use serde_json::Value;
use serde_json::value::RawValue;

/// The tool the proxy adds to `tools`.
const RETRIEVE: &str = "headroom_retrieve";
/// The results file's title and this driver's section.
const TITLE: &str = "# End-to-end savings through the proxy";
const HEADING: &str = "## Claude Code sessions";
/// Engine disagreements listed in the report.
const MISMATCH_CAP: usize = 10;

/// What one mode measured, for one session or summed.
#[derive(Default, Clone)]
struct Row {
    requests: u64,
    cold: u64,
    /// o200k tokens of message contents as the client sent them.
    tokens_sent: u64,
    /// The same measure over the messages that arrived upstream.
    tokens_arrived: u64,
    /// Requests that arrived with the retrieval tool, and its definition's tokens summed.
    with_tool: u64,
    tool_tokens: u64,
    bill_direct: f64,
    bill_proxy: f64,
    /// The bill of what arrived without the retrieval tool (the engine alone).
    bill_no_tool: f64,
    pairs: u64,
    /// Pairs whose earlier arrived tools, system and messages are a byte-identical prefix of the later's.
    prefix_kept: u64,
    /// The same over messages only.
    prefix_kept_messages: u64,
    ref_steps: u64,
    ref_steps_all_kept: u64,
    refs: BTreeMap<Fate, u64>,
    engine_agrees: u64,
    /// Bytes of the bodies that arrived upstream.
    bytes_arrived: u64,
    /// The first request (1-based k) that arrived with the retrieval tool.
    tool_from: Option<usize>,
}

impl Row {
    fn add(&mut self, o: &Row) {
        self.requests += o.requests;
        self.cold += o.cold;
        self.tokens_sent += o.tokens_sent;
        self.tokens_arrived += o.tokens_arrived;
        self.with_tool += o.with_tool;
        self.tool_tokens += o.tool_tokens;
        self.bill_direct += o.bill_direct;
        self.bill_proxy += o.bill_proxy;
        self.bill_no_tool += o.bill_no_tool;
        self.pairs += o.pairs;
        self.prefix_kept += o.prefix_kept;
        self.prefix_kept_messages += o.prefix_kept_messages;
        self.ref_steps += o.ref_steps;
        self.ref_steps_all_kept += o.ref_steps_all_kept;
        for (f, n) in &o.refs {
            *self.refs.entry(*f).or_default() += n;
        }
        self.engine_agrees += o.engine_agrees;
        self.bytes_arrived += o.bytes_arrived;
    }

    fn saving(bill: f64, direct: f64) -> f64 {
        if direct == 0.0 { 0.0 } else { 100.0 * (1.0 - bill / direct) }
    }

    fn refs_total(&self) -> u64 {
        self.refs.values().sum()
    }

    fn refs_with(&self, f: Fate) -> u64 {
        self.refs.get(&f).copied().unwrap_or(0)
    }
}

/// One mode's results.
struct ModeRun {
    mode: &'static str,
    total: Row,
    cases: Vec<Row>,
    mismatches: Vec<String>,
    /// What `send_sessions.py` measured: requests and seconds of the send loop.
    send: Option<(u64, f64)>,
    /// What it recorded as the run started: the engine's commit and the proxy's component.
    engine: Option<(String, String)>,
    measure_seconds: f64,
}

/// The previous arrived request of a session: tools, system, then each message, as arrived.
#[derive(Default)]
struct Arrived {
    conv: Option<usize>,
    items: Vec<String>,
    tokens: Vec<u64>,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let dir = args.get(1).filter(|a| !a.starts_with("--")).context("usage: e2e_sessions DIR [--out FILE]")?;
    let start = Instant::now();
    let cases = load_all(&corpus_dir(arg("--corpus").as_deref())?)?;
    O200k::warm_up();
    let modes: Vec<&'static str> = ["cache", "token"]
        .into_iter()
        .filter(|m| Path::new(dir).join(m).join("index.jsonl").is_file())
        .collect();
    if modes.is_empty() {
        bail!(
            "no runs in {dir}: expected {dir}/cache/index.jsonl or {dir}/token/index.jsonl (run send_sessions.py)"
        );
    }
    let cases = &cases;
    let runs: Vec<Result<ModeRun>> = std::thread::scope(|s| {
        let handles: Vec<_> =
            modes.iter().map(|&m| s.spawn(move || measure(cases, &Path::new(dir).join(m), m))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(anyhow::anyhow!("a mode panicked"))))
            .collect()
    });
    let runs = runs.into_iter().collect::<Result<Vec<_>>>()?;
    let section = render(cases, &runs, start.elapsed().as_secs_f64());
    println!("{section}");
    if let Some(out) = arg("--out") {
        write_section(Path::new(&out), TITLE, HEADING, &section)?;
    }
    Ok(())
}

fn measure(cases: &[Case], run: &Path, mode: &'static str) -> Result<ModeRun> {
    let start = Instant::now();
    let by_id: HashMap<&str, usize> = cases.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    let index = std::fs::read_to_string(run.join("index.jsonl"))
        .with_context(|| format!("reading {}", run.join("index.jsonl").display()))?;
    let bodies = std::fs::File::open(run.join("bodies.jsonl"))
        .with_context(|| format!("reading {}", run.join("bodies.jsonl").display()))?;
    let mut bodies = std::io::BufReader::with_capacity(1 << 20, bodies);
    let opts_mode = if mode == "token" { Mode::Token } else { Mode::Cache };
    let counter = |s: &str| O200k::count(s);

    let mut rows: Vec<Row> = vec![Row::default(); cases.len()];
    let mut mismatches = Vec::new();
    let mut current: Option<usize> = None;
    let mut pricer = Pricer::new(None);
    let mut previous_direct: &[String] = &[];
    let mut previous = Arrived::default();
    let mut line = String::new();
    let mut seen = 0usize;
    for entry in index.lines().filter(|l| !l.is_empty()) {
        let e: Value = serde_json::from_str(entry)?;
        let id = e["case"].as_str().context("index line without case")?;
        let ci = *by_id.get(id).with_context(|| format!("unknown case {id}"))?;
        let i = e["i"].as_u64().context("index line without i")? as usize;
        let case = &cases[ci];
        let r = case.requests.get(i).with_context(|| format!("{id} has no request {i}"))?;
        if current != Some(ci) {
            current = Some(ci);
            pricer = Pricer::new(case.ttl.as_deref());
            previous_direct = &[];
            previous = Arrived::default();
        }
        line.clear();
        ensure!(
            bodies.read_line(&mut line)? > 0,
            "{mode}: {seen} upstream bodies for more requests (the proxy forwarded fewer than were sent)"
        );
        seen += 1;
        // One line of the mock's `bodies.jsonl`: `{"path": .., "body": ..}`.
        let rec: HashMap<String, String> = serde_json::from_str(&line)?;
        let path = rec.get("path").map_or("", String::as_str);
        ensure!(path == "/v1/messages", "{id} k {}: arrived at {path}", r.k);
        let arrived = rec.get("body").map_or(&b""[..], |b| b.as_bytes());
        let conv = &case.conversations[r.conv];
        let n = r.n_messages;
        let row = &mut rows[ci];

        // What arrived, as raw JSON pieces in the provider's cache order: tools, system, messages.
        let top: HashMap<&str, &RawValue> = serde_json::from_slice(arrived)?;
        let tools = top.get("tools").map_or("", |t| t.get());
        let system = top.get("system").map_or("", |t| t.get());
        let messages: Vec<&RawValue> =
            serde_json::from_str(top.get("messages").context("no messages")?.get())?;
        let tool_tokens = retrieval_tool_tokens(tools)?;
        let mut now = Arrived { conv: Some(r.conv), ..Arrived::default() };
        now.items.push(tools.to_owned());
        now.tokens.push(tool_tokens);
        now.items.push(system.to_owned());
        now.tokens.push(0);
        for (j, m) in messages.iter().enumerate() {
            let m = m.get();
            let tokens = if previous.items.get(j + 2).is_some_and(|p| p == m) {
                previous.tokens[j + 2]
            } else {
                u64::from(O200k::count(&message_text(&serde_json::from_str(m)?)))
            };
            now.items.push(m.to_owned());
            now.tokens.push(tokens);
        }

        let price = pricer.next(r);
        row.requests += 1;
        row.cold += u64::from(price.cold);
        row.bytes_arrived += arrived.len() as u64;
        row.tokens_sent += conv.tokens[..n].iter().sum::<u64>();
        row.tokens_arrived += now.tokens[2..].iter().sum::<u64>();
        if tool_tokens > 0 {
            row.with_tool += 1;
            row.tool_tokens += tool_tokens;
            row.tool_from.get_or_insert(r.k);
        }
        row.bill_direct += cost(previous_direct, &conv.messages[..n], &conv.tokens[..n], price);
        row.bill_proxy += cost(&previous.items, &now.items, &now.tokens, price);
        let skip = previous.items.len().min(2);
        row.bill_no_tool += cost(&previous.items[skip..], &now.items[2..], &now.tokens[2..], price);
        if previous.conv == Some(r.conv) {
            row.pairs += 1;
            row.prefix_kept += u64::from(now.items.starts_with(&previous.items));
            row.prefix_kept_messages += u64::from(now.items[2..].starts_with(&previous.items[2..]));
        }

        // The native engine on the request as the client sent it (the SDK adds `stream`).
        let opts = Options { mode: opts_mode, context_limit: case.window, ..Options::default() };
        let mut sent = case.body(r);
        sent.pop();
        sent.extend_from_slice(b",\"stream\":true}");
        let outcome = headroom_core::compress_request(Dialect::AnthropicMessages, &sent, &opts, &counter)
            .with_context(|| format!("{id} request {}", r.k))?;
        let engine: Value = serde_json::from_slice(outcome.body.as_deref().unwrap_or(&sent))?;
        let mut got: Value = serde_json::from_slice(arrived)?;
        if !r.next_refs.is_empty() {
            let scorer = Scorer::new(&got, &outcome.offloads);
            let fates: Vec<Fate> = r.next_refs.iter().map(|nr| scorer.fate(&nr.text)).collect();
            row.ref_steps += 1;
            row.ref_steps_all_kept += u64::from(fates.iter().all(|f| *f == Fate::Kept));
            for f in fates {
                *row.refs.entry(f).or_default() += 1;
            }
        }
        if let Some(list) = got.get_mut("tools").and_then(Value::as_array_mut) {
            list.retain(|t| t["name"] != RETRIEVE);
        }
        if got == engine {
            row.engine_agrees += 1;
        } else if mismatches.len() < MISMATCH_CAP {
            mismatches.push(format!("{id} k {}: {}", r.k, first_difference(&engine, &got)));
        }
        previous_direct = &conv.messages[..n];
        previous = now;
    }
    line.clear();
    ensure!(
        bodies.read_line(&mut line)? == 0,
        "{mode}: more upstream bodies than requests sent ({seen} sent)"
    );
    let mut total = Row::default();
    rows.iter().for_each(|r| total.add(r));
    let timing: Value = std::fs::read_to_string(run.join("timing.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let send = timing["requests"].as_u64().zip(timing["seconds"].as_f64());
    let engine = timing["engine"].as_str().filter(|e| !e.is_empty()).map(|e| {
        let dirty = if timing["engine_dirty"] == true { " plus uncommitted changes in `core/`" } else { "" };
        let e = format!("`{e}`{dirty}");
        let component = timing["component"].as_str().unwrap_or("target/wasm/headroom-core.wasm");
        let component = component.rsplit_once("/target/").map_or(component, |(_, p)| p);
        (e, component.trim_start_matches("target/").to_owned())
    });
    eprintln!("{mode}: {} requests measured in {:.1} s", total.requests, start.elapsed().as_secs_f64());
    Ok(ModeRun {
        mode,
        total,
        cases: rows,
        mismatches,
        send,
        engine,
        measure_seconds: start.elapsed().as_secs_f64(),
    })
}

/// o200k tokens of the retrieval tool's definition (its JSON as arrived), 0 when absent.
fn retrieval_tool_tokens(tools: &str) -> Result<u64> {
    if tools.is_empty() {
        return Ok(0);
    }
    let list: Vec<&RawValue> = serde_json::from_str(tools)?;
    let mut n = 0;
    for t in list {
        let v: Value = serde_json::from_str(t.get())?;
        if v["name"] == RETRIEVE {
            n += u64::from(O200k::count(t.get()));
        }
    }
    Ok(n)
}

/// Where two bodies first differ: the top-level key, and the message index for `messages`.
fn first_difference(engine: &Value, got: &Value) -> String {
    let (Some(a), Some(b)) = (engine.as_object(), got.as_object()) else { return "not objects".into() };
    for key in a.keys().chain(b.keys()) {
        if a.get(key) == b.get(key) {
            continue;
        }
        if let (Some(Value::Array(x)), Some(Value::Array(y))) = (a.get(key), b.get(key))
            && key == "messages"
        {
            let at = x.iter().zip(y).position(|(p, q)| p != q).unwrap_or(x.len().min(y.len()));
            return format!("messages differ from index {at} ({} engine, {} arrived)", x.len(), y.len());
        }
        return format!("`{key}` differs");
    }
    "equal".into()
}

fn billed(saving: f64) -> String {
    if saving >= 0.0 { format!("{saving:.1}% fewer") } else { format!("{:.1}% more", -saving) }
}

fn render(cases: &[Case], runs: &[ModeRun], seconds: f64) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "{HEADING}\n");
    let sessions = runs.first().map_or(0, |m| m.cases.iter().filter(|c| c.requests > 0).count());
    let requests = runs.first().map_or(0, |m| m.total.requests);
    // The engine as the send loop started (binaries and component are built before it), else now.
    let mut engines: Vec<String> = runs
        .iter()
        .map(|m| match &m.engine {
            Some((commit, component)) => format!("{commit} (the proxy running `target/{component}`)"),
            None => format!("{} (the proxy running `target/wasm/headroom-core.wasm`)", revision()),
        })
        .collect();
    engines.dedup();
    let _ = writeln!(
        r,
        "Measured with `just bench-e2e` (`benches/e2e/send_sessions.py`, then `e2e_sessions`) on {}; \
         engine at {}. {sessions} sessions, {requests} requests per mode.\n",
        machine(),
        engines.join(" and ")
    );
    r.push_str(DEFINITIONS);
    r.push_str(
        "| mode | requests | tokens sent | tokens arrived upstream | saved | retrieval tool: requests carrying it, its tokens | \
         billed vs direct | without the tool | prefix kept (tools included) | messages only | next refs kept | in view | \
         behind a marker | lost | engine agrees |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for m in runs {
        let t = &m.total;
        let _ = writeln!(
            r,
            "| {} | {} | {} | {} | {:.1}% | {} ({} tokens) | {} | {} | {:.2}% ({} of {}) | {:.2}% | {:.1}% ({} of {}) | {} | {} | {} | {} of {} |",
            m.mode,
            t.requests,
            t.tokens_sent,
            t.tokens_arrived,
            pct(t.tokens_sent.saturating_sub(t.tokens_arrived), t.tokens_sent),
            t.with_tool,
            t.tool_tokens,
            billed(Row::saving(t.bill_proxy, t.bill_direct)),
            billed(Row::saving(t.bill_no_tool, t.bill_direct)),
            pct(t.prefix_kept, t.pairs),
            t.prefix_kept,
            t.pairs,
            pct(t.prefix_kept_messages, t.pairs),
            pct(t.refs_with(Fate::Kept), t.refs_total()),
            t.refs_with(Fate::Kept),
            t.refs_total(),
            t.refs_with(Fate::InView),
            t.refs_with(Fate::BehindMarker),
            t.refs_with(Fate::Lost),
            t.engine_agrees,
            t.requests,
        );
    }
    if let Some(m) = runs.first() {
        let _ = writeln!(
            r,
            "\n{} of {} requests were served cold by the provider (whole request written on both sides). {} next refs in {} requests.",
            m.total.cold,
            m.total.requests,
            m.total.refs_total(),
            m.total.ref_steps
        );
    }
    for m in runs {
        let _ = writeln!(
            r,
            "- {} mode: every next ref kept in {} of {} requests.",
            m.mode, m.total.ref_steps_all_kept, m.total.ref_steps
        );
        if !m.mismatches.is_empty() {
            let _ = writeln!(r, "  Engine disagreements (first {}):", m.mismatches.len());
            for x in &m.mismatches {
                let _ = writeln!(r, "  - {x}");
            }
        }
    }

    r.push_str(
        "\n### Per session (tokens saved; bill saved against direct, negative is dearer; prefix kept, tools included; \
         first request carrying the retrieval tool)\n\n| case | TTL | window | requests |",
    );
    for m in runs {
        let n = m.mode;
        let _ = write!(r, " {n}: saved | {n}: bill saved | {n}: prefix kept | {n}: tool from k |");
    }
    r.push_str("\n|---|---|---|---|");
    r.push_str(&"---|---|---|---|".repeat(runs.len()));
    r.push('\n');
    for (i, c) in cases.iter().enumerate() {
        if runs.first().is_none_or(|m| m.cases[i].requests == 0) {
            continue;
        }
        let window = if c.window == Some(LARGE_WINDOW) { "1M (beta header)" } else { "model's" };
        let _ = write!(
            r,
            "| {} | {} | {window} | {} |",
            c.id,
            c.ttl.as_deref().unwrap_or("-"),
            runs[0].cases[i].requests
        );
        for m in runs {
            let t = &m.cases[i];
            let _ = write!(
                r,
                " {:.1}% | {:.1}% | {:.1}% | {} |",
                pct(t.tokens_sent.saturating_sub(t.tokens_arrived), t.tokens_sent),
                Row::saving(t.bill_proxy, t.bill_direct),
                pct(t.prefix_kept, t.pairs),
                t.tool_from.map_or("-".into(), |k| k.to_string())
            );
        }
        r.push('\n');
    }

    r.push_str(
        "\n### Run time\n\n| mode | requests sent | send loop (SDK -> proxy -> mock), seconds | requests/s | MB arrived upstream | measuring, seconds |\n|---|---|---|---|---|---|\n",
    );
    for m in runs {
        let (n, s) = m.send.unwrap_or((0, 0.0));
        let _ = writeln!(
            r,
            "| {} | {n} | {s:.1} | {:.1} | {:.0} | {:.1} |",
            m.mode,
            n as f64 / s.max(1e-9),
            m.total.bytes_arrived as f64 / 1e6,
            m.measure_seconds
        );
    }
    let _ = writeln!(
        r,
        "\nOne proxy process per mode, requests sent one after another (each is a prefix of the next). Measuring \
         (both modes on two threads: reading what arrived, the native engine on every request, o200k counts) took \
         {seconds:.0} s of wall time."
    );
    r
}

const DEFINITIONS: &str = "\
The 22 real Claude Code sessions of `shared/corpus/claude-code-sessions` (the corpus of \
`results/claude-sessions.md`, which measures the engine alone), every request in session order, sent \
through `headroom proxy` by the official `anthropic` Python SDK, streaming as Claude Code does, as the \
body `build.py` materialises (`model, max_tokens, system, tools, messages[:n]`). Sessions whose real calls \
held more than 200,000 tokens send `anthropic-beta: context-1m-2025-08-07`, so the proxy uses the 1M window \
(the engine-only replay passes `context_limit` 1,000,000 for them). The mock upstream records every body it \
receives and answers plain text: it never calls `headroom_retrieve`, so no retrieval round happens here.

- **Tokens**: o200k_base tokens of message contents (text blocks, each tool call's name and input JSON, each \
tool result's text), as the client sent them and as they arrived upstream: the measure of \
`results/claude-sessions.md`, so the figures compare. The system prompt and Claude Code's tool schemas \
(placeholders in the corpus, identical on both sides) are left out; the `headroom_retrieve` definition the \
proxy adds is counted separately (its column) and in the bill.
- **Billed vs direct**: the input bill under prompt caching, what arrived against what the client sent, \
priced as `results/claude-sessions.md` prices it: the request's leading pieces byte-identical to the \
previous request's are read at 0.1x, the rest written at the session's real TTL (2x at 1 h, 1.25x at 5 min), \
the whole request written where the real call found the cache cold. What arrived is compared in the \
provider's cache order, tools, system, then messages: the request on which the retrieval tool first arrives \
changes the tools, so all of it is written. *Without the tool*: the same bill over the arrived messages \
alone, the engine's share of the saving.
- **Prefix kept**: consecutive requests of one conversation where the earlier one's tools, system and \
messages, as they arrived, are byte-identical, in order, at the start of the later one's. *Messages only* \
ignores the tools (the one change the tool's arrival makes).
- **Next refs** (strings the agent's next turn used that only the newest output held): *kept* when verbatim \
in the arrived system prompt and messages, *in view* when only elsewhere in the arrived request, *behind a \
marker* when a marker in it retrieves an original holding it (originals from the native engine's offloads \
for the same request), else *lost* (`claude_sessions::refs`).
- **Engine agrees**: the arrived body, parsed, equals the native `headroom_core::compress_request` output \
for the body the client sent (mode and window as above) once the `headroom_retrieve` definition is taken \
out of `tools`.

";
