//! The trajectory benchmark: every step of every agent run in the corpus, compressed as the
//! whole request an agent would send (messages 0..=k), in cache and token mode.
//!
//! Reports tokens before/after, the bill under prompt caching versus sending directly, the
//! share of consecutive requests whose forwarded prefix is unchanged, next-step fidelity,
//! savings by content kind, throughput natively and through the component, and the
//! component's size. `--out FILE` writes the Markdown report; `--limit N` takes the first N
//! runs; `--no-throughput` skips the throughput and size sections (for quick iteration);
//! `--throughput-only` prints just those (with `--limit N`, a quick check of a change's speed).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use headroom_benches::billing::{bill, pct, tokens};
use headroom_benches::fidelity::{command_of, contains_word, facts_read_from};
use headroom_benches::machine::machine;
use headroom_benches::trajectory::{Trajectory, contents, corpus_dir, load_all};
use headroom_core::{Dialect, Mode, Options};
use headroom_runtime::{Runtime, RuntimeConfig, wit};
use headroom_tokenizer::O200k;

#[derive(Default)]
struct ModeTotals {
    tokens_before: u64,
    tokens_after: u64,
    bill_direct: f64,
    bill_proxy: f64,
    requests: u64,
    prefix_kept: u64,
    facts: u64,
    facts_kept: u64,
    facts_in_view: u64,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let component =
        PathBuf::from(arg("--component").unwrap_or_else(|| "target/wasm/headroom-core.wasm".into()));
    let out = arg("--out");
    let limit: usize = arg("--limit").and_then(|s| s.parse().ok()).unwrap_or(usize::MAX);

    let trajectories = load_all(&corpus_dir())?;
    let trajectories: Vec<&Trajectory> = trajectories.iter().take(limit).collect();
    let counter = |s: &str| O200k::count(s);
    if args.iter().any(|a| a == "--throughput-only") {
        println!("{}", throughput_and_size(&trajectories, &component)?);
        return Ok(());
    }
    if args.iter().any(|a| a == "--native-only") {
        // For profilers: just the native engine over every step, once.
        let opts = Options::default();
        for t in &trajectories {
            for k in t.steps() {
                let _ = headroom_core::compress_request(
                    Dialect::OpenAiChat,
                    &t.openai_request(k),
                    &opts,
                    &counter,
                );
            }
        }
        return Ok(());
    }

    let mut report = String::new();
    let mut modes = Vec::new();
    for mode in [Mode::Cache, Mode::Token] {
        let totals = run_mode(&trajectories, mode, &counter);
        modes.push((mode, totals));
    }
    let kinds = by_kind(&trajectories, &counter);
    let skip_throughput = args.iter().any(|a| a == "--no-throughput");

    report.push_str("# Trajectory benchmark\n\n");
    report.push_str(&format!("Measured with `just bench` on {}.\n\n", machine()));
    report.push_str(&format!(
        "Corpus: {} mini-swe-agent trajectories (`shared/corpus/swe-agent-trajectories`), every step k sent as \
         the OpenAI Chat request messages[0..=k]. Tokens are exact o200k_base counts of message contents.\n\n",
        trajectories.len()
    ));
    report.push_str("## Whole-request savings and fidelity\n\n");
    report.push_str("| mode | requests | tokens before | tokens after | saved | billed vs direct (cache 0.1x read, 1.25x write) | prefix kept | next-step fidelity: in the block | in view |\n|---|---|---|---|---|---|---|---|---|\n");
    for (mode, t) in &modes {
        report.push_str(&format!(
            "| {} | {} | {} | {} | {:.1}% | {:.1}% fewer | {:.1}% | {:.2}% ({} of {}) | {:.2}% |\n",
            if *mode == Mode::Cache { "cache" } else { "token" },
            t.requests,
            t.tokens_before,
            t.tokens_after,
            pct(t.tokens_before - t.tokens_after, t.tokens_before),
            100.0 * (1.0 - t.bill_proxy / t.bill_direct),
            pct(t.prefix_kept, t.requests.saturating_sub(trajectories.len() as u64)),
            pct(t.facts_kept, t.facts),
            t.facts_kept,
            t.facts,
            pct(t.facts_in_view, t.facts)
        ));
    }
    report.push_str(
        "\n## By content kind (each command output alone, cache-mode rules, query = the command)\n\n",
    );
    report.push_str(
        "| kind | outputs | compressed | tokens before | tokens after | saved |\n|---|---|---|---|---|---|\n",
    );
    for (kind, (n, compressed, before, after)) in &kinds {
        report.push_str(&format!(
            "| {kind} | {n} | {compressed} | {before} | {after} | {:.1}% |\n",
            pct(before - after, *before)
        ));
    }
    report.push_str(&golden_table(&counter)?);
    if !skip_throughput {
        report.push_str(&throughput_and_size(&trajectories, &component)?);
    }
    println!("{report}");
    if let Some(path) = out {
        std::fs::write(&path, &report).with_context(|| format!("writing {path}"))?;
    }
    Ok(())
}

/// The throughput and component-size sections of the report.
fn throughput_and_size(trajectories: &[&Trajectory], component: &std::path::Path) -> Result<String> {
    let [native_cold, native_mbs, component_mbs, mb] = throughput(trajectories, component)?;
    let raw_size = std::fs::metadata(component).map(|m| m.len()).unwrap_or(0);
    let gz_size = gzip_size(component);
    let mut report = String::new();
    report.push_str(&format!(
        "\n## Throughput (default options, i.e. token mode; every 4th step of every run: {mb:.1} MB of request bodies; \
         median of 3 passes, the three engines interleaved)\n\n\
         | engine | MB/s |\n|---|---|\n\
         | native library, every count computed | {native_cold:.1} |\n\
         | native library, host count memo (how native hosts run) | {native_mbs:.1} |\n\
         | component in wasmtime, host count memo | {component_mbs:.1} ({:.0}% of native) |\n",
        100.0 * component_mbs / native_mbs
    ));
    report.push_str(&format!(
        "\n## Component size\n\n{} bytes raw, {} bytes gzipped (`{}`).\n",
        raw_size,
        gz_size,
        component.display()
    ));
    Ok(report)
}

fn run_mode(trajectories: &[&Trajectory], mode: Mode, counter: &dyn Fn(&str) -> u32) -> ModeTotals {
    let opts = Options { mode, ..Options::default() };
    let mut t = ModeTotals::default();
    for traj in trajectories {
        let mut previous_sent: Vec<String> = Vec::new();
        let mut previous_direct: Vec<String> = Vec::new();
        for k in traj.steps() {
            if k + 1 >= traj.messages.len() {
                continue;
            }
            let body = traj.openai_request(k);
            let outcome =
                headroom_core::compress_request(Dialect::OpenAiChat, &body, &opts, &|s: &str| counter(s))
                    .unwrap_or_else(|e| panic!("{} step {k}: {e}", traj.name));
            let direct = contents(&body);
            let sent = outcome.body.as_deref().map(contents).unwrap_or_else(|| direct.clone());
            let before = tokens(&direct);
            let after = tokens(&sent);
            t.tokens_before += before;
            t.tokens_after += after;
            t.requests += 1;
            t.bill_direct += bill(&previous_direct, &direct);
            t.bill_proxy += bill(&previous_sent, &sent);
            if !previous_sent.is_empty()
                && sent.len() >= previous_sent.len()
                && sent[..previous_sent.len()] == previous_sent[..]
            {
                t.prefix_kept += 1;
            }
            // Not read from this output if the task or the command that produced it said it.
            let earlier = format!("{}\n{}", direct[1], command_of(&direct[k - 1]));
            let facts = facts_read_from(&direct[k], &earlier, command_of(&traj.messages[k + 1].1));
            t.facts += facts.len() as u64;
            let view = sent[..k].join("\n");
            for f in &facts {
                if contains_word(&sent[k], f) {
                    t.facts_kept += 1;
                    t.facts_in_view += 1;
                } else {
                    if contains_word(&view, f) {
                        t.facts_in_view += 1;
                    }
                    if std::env::var_os("HEADROOM_BENCH_MISSES").is_some() {
                        let where_ = if contains_word(&view, f) { "in view" } else { "lost" };
                        eprintln!("miss ({where_}): {} step {k}: {f:?}", traj.name);
                    }
                }
            }
            previous_sent = sent;
            previous_direct = direct;
        }
    }
    t
}

type KindRow = (u64, u64, u64, u64);

fn by_kind(trajectories: &[&Trajectory], counter: &dyn Fn(&str) -> u32) -> BTreeMap<String, KindRow> {
    let mut rows: BTreeMap<String, KindRow> = BTreeMap::new();
    for traj in trajectories {
        for k in traj.steps() {
            let text = &traj.messages[k].1;
            for range in headroom_core::request::machine_output::find(text) {
                let opts = Options { query: Some(traj.messages[k - 1].1.clone()), ..Options::default() };
                let outcome =
                    headroom_core::compress_content(&text[range], None, &opts, &|s: &str| counter(s));
                let row = rows.entry(outcome.kind.name().to_owned()).or_default();
                row.0 += 1;
                row.1 += u64::from(outcome.text.is_some());
                row.2 += u64::from(outcome.tokens_before);
                row.3 += u64::from(outcome.tokens_after);
            }
        }
    }
    rows
}

/// MB/s natively without and with the host's count memo, and through the component (memo
/// on, as the runtime uses it), medians of 3 passes run side by side.
fn throughput(trajectories: &[&Trajectory], component: &std::path::Path) -> Result<[f64; 4]> {
    let bodies: Vec<Vec<u8>> = trajectories
        .iter()
        .flat_map(|t| t.steps().into_iter().step_by(4).map(|k| t.openai_request(k)).collect::<Vec<_>>())
        .collect();
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    let runtime = Runtime::from_file(component, &RuntimeConfig::default())?;
    let opts = Options::default();
    let wopts = headroom_runtime::default_options();
    let memo = |s: &str| O200k::count(s);
    let cold = |s: &str| O200k::count_uncached(s);
    let mut times = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..3 {
        let start = Instant::now();
        for b in &bodies {
            let _ = headroom_core::compress_request(Dialect::OpenAiChat, b, &opts, &cold);
        }
        times[0].push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        for b in &bodies {
            let _ = headroom_core::compress_request(Dialect::OpenAiChat, b, &opts, &memo);
        }
        times[1].push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        for b in &bodies {
            let _ = runtime.compress_request(wit::Dialect::OpenaiChat, b, &wopts)?;
        }
        times[2].push(start.elapsed().as_secs_f64());
    }
    let mb = bytes as f64 / 1e6;
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        mb / v[1]
    };
    let [a, b, c] = &mut times;
    Ok([median(a), median(b), median(c), mb])
}

/// The single-output golden cases (real outputs and Headroom's parity fixtures): one row each.
fn golden_table(counter: &dyn Fn(&str) -> u32) -> Result<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/golden");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("input.txt").exists())
        .collect();
    cases.sort();
    let mut out = String::from(
        "\n## Golden cases, one output each (`tests/golden/`, query = the command that produced it)\n\n\
         | case | kind | transform | tokens before | tokens after | saved |\n|---|---|---|---|---|---|\n",
    );
    for case in cases {
        let text = std::fs::read_to_string(case.join("input.txt"))?;
        let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(case.join("case.json"))?)?;
        let opts = Options {
            query: meta["query"].as_str().map(str::to_owned),
            min_tokens: meta["min_tokens"].as_u64().map_or(headroom_core::DEFAULT_MIN_TOKENS, |n| n as u32),
            ..Options::default()
        };
        let o = headroom_core::compress_content(&text, None, &opts, &|s: &str| counter(s));
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {:.1}% |\n",
            case.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            o.kind,
            o.transform,
            o.tokens_before,
            o.tokens_after,
            pct(u64::from(o.tokens_before - o.tokens_after), u64::from(o.tokens_before))
        ));
    }
    Ok(out)
}

fn gzip_size(path: &std::path::Path) -> u64 {
    std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("gzip -9nc '{}' | wc -c", path.display()))
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}
