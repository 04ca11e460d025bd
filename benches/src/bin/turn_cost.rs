//! Engine time per turn against the turn's size, stateless and with the conversation memory:
//! long real conversations replayed turn by turn, natively and through the component.
//!
//! Conversations: the largest Claude Code session of `../shared/corpus/claude-code-sessions`
//! (Anthropic Messages, up to 1.1 MB a turn, its real context window) and the longest
//! mini-swe-agent trajectory of `../shared/corpus/swe-agent-trajectories` (OpenAI Chat). Each is
//! replayed three times, each pass with fresh memories; a turn's figure is the median of its
//! three passes, so stateless and remembered turns are measured side by side in one run. Every
//! turn's outcome with the memory is checked equal to the stateless one.
//!
//! `--out FILE` writes the Markdown report and an SVG plot beside it (`FILE` with `.svg`);
//! `--every N` samples every Nth turn of the session (the memory then spans N turns);
//! `--memory-only` just runs the remembered path (for profilers); `--check-all` first replays
//! every request of every Claude Code session and every trajectory step, in both modes, with and
//! without a memory, and reports how many outcomes are identical (all, or it fails).
//! `--dump DIR` writes the turns' bodies to `DIR` instead (`<conversation>-<turn>.<dialect>.json`,
//! and `<conversation>.context-1m` for a session that ran with the 1M-token window) for the replay
//! through the proxy (`benches/turns/proxy_turns.py`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, ensure};
use headroom_benches::claude_sessions::case::{corpus_dir, load_all};
use headroom_benches::machine::{machine, revision};
use headroom_benches::trajectory::{self, Added};
use headroom_core::session::Memory;
use headroom_core::{Dialect, Options, compress_request, compress_request_in};
use headroom_runtime::{Runtime, RuntimeConfig, wit};
use headroom_tokenizer::O200k;

/// One conversation's turns, as sent.
struct Conversation {
    name: String,
    dialect: Dialect,
    turns: Vec<(usize, Vec<u8>)>,
    opts: Options,
    /// For the synthetic conversation, each turn's history tokens and what it added.
    labels: Vec<(usize, Added)>,
}

/// Median milliseconds of one turn: native stateless, native remembered, component stateless,
/// component remembered.
struct Row {
    bytes: usize,
    ms: [f64; 4],
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let every: usize = arg("--every").and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    let mut conversations = vec![claude_session(arg("--corpus").as_deref(), every)?, trajectory(every)?];
    if let Some(dir) = arg("--dump") {
        // The synthetic conversation three times over (each pass its own conversation), so that
        // its percentiles rest on three samples a turn.
        conversations
            .extend((0..3).map(|pass| synthetic(&format!("pass {pass}"))).collect::<Result<Vec<_>>>()?);
        return dump(&conversations, Path::new(&dir));
    }
    conversations.push(synthetic("pass 0")?);
    if args.iter().any(|a| a == "--memory-only") {
        for c in &conversations {
            let mut memory = Memory::default();
            for (_, body) in &c.turns {
                let _ = compress_request_in(&mut memory, c.dialect, body, &c.opts, &count);
            }
        }
        return Ok(());
    }
    let runtime = Runtime::from_file(Path::new("target/wasm/headroom-core.wasm"), &RuntimeConfig::default())?;
    let mut report = String::from("# Added time per turn: stateless vs the conversation memory\n\n");
    if args.iter().any(|a| a == "--check-all") {
        report.push_str(&check_all(arg("--corpus").as_deref())?);
    }
    report.push_str(&format!(
        "Measured with `just bench-turns` on {} at {}. Engine time for one turn (what the proxy adds \
         before the first upstream byte, less HTTP), median of 3 passes per turn, each pass with fresh \
         memories, all four paths interleaved turn by turn. Outcomes with the memory equal the stateless \
         ones on every turn (checked).\n\n",
        machine(),
        revision()
    ));
    let mut series = Vec::new();
    for c in &conversations {
        let rows = measure(c, &runtime)?;
        report.push_str(&table(c, &rows));
        series.push((c.name.clone(), rows));
    }
    let out = arg("--out");
    if let Some(out) = &out {
        let svg = PathBuf::from(out).with_extension("svg");
        std::fs::write(&svg, plot(&series)).with_context(|| format!("writing {}", svg.display()))?;
        report.push_str(&format!(
            "\n![added time per turn against its size]({})\n",
            svg.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        ));
        std::fs::write(out, &report).with_context(|| format!("writing {out}"))?;
    }
    print!("{report}");
    Ok(())
}

/// Every request of both corpora, both modes, with and without a memory (one per
/// conversation, kept across its requests in order): identical outcomes, counted.
fn check_all(corpus: Option<&str>) -> Result<String> {
    let mut conversations: Vec<(Dialect, Vec<Vec<u8>>, Option<u32>)> = Vec::new();
    for case in load_all(&corpus_dir(corpus)?)? {
        for conv in 0..case.conversations.len() {
            let bodies = case.requests.iter().filter(|r| r.conv == conv).map(|r| case.body(r)).collect();
            conversations.push((Dialect::AnthropicMessages, bodies, case.window));
        }
    }
    for t in trajectory::load_all(&trajectory::corpus_dir())? {
        conversations.push((
            Dialect::OpenAiChat,
            t.steps().into_iter().map(|k| t.openai_request(k)).collect(),
            None,
        ));
    }
    let (mut same, mut total) = (0u64, 0u64);
    for mode in [headroom_core::Mode::Cache, headroom_core::Mode::Token] {
        for (dialect, bodies, window) in &conversations {
            let opts = Options { mode, context_limit: *window, ..Options::default() };
            let mut memory = Memory::default();
            for body in bodies {
                let stateless = compress_request(*dialect, body, &opts, &count);
                let with = compress_request_in(&mut memory, *dialect, body, &opts, &count);
                total += 1;
                if with.map(|w| w.0).ok() == stateless.ok() {
                    same += 1;
                }
            }
        }
    }
    ensure!(same == total, "{} of {total} requests differ with a memory", total - same);
    Ok(format!(
        "Every request of both corpora ({} conversations: the Claude Code sessions and the mini-swe-agent \
         trajectories), in both modes, replayed in order with and without a memory: {same} of {total} outcomes \
         identical.\n\n",
        conversations.len()
    ))
}

fn count(s: &str) -> u32 {
    O200k::count(s)
}

fn claude_session(corpus: Option<&str>, every: usize) -> Result<Conversation> {
    let cases = load_all(&corpus_dir(corpus)?)?;
    let case = cases
        .iter()
        .max_by_key(|c| c.requests.iter().map(|r| c.body(r).len()).max().unwrap_or(0))
        .context("no cases")?;
    // Its longest conversation (a session may hold a few), every `every`th turn.
    let conv = (0..case.conversations.len())
        .max_by_key(|&i| case.requests.iter().filter(|r| r.conv == i).count())
        .context("no conversations")?;
    let turns: Vec<(usize, Vec<u8>)> = case
        .requests
        .iter()
        .filter(|r| r.conv == conv)
        .step_by(every)
        .enumerate()
        .map(|(i, r)| (i, case.body(r)))
        .collect();
    Ok(Conversation {
        name: format!("Claude Code session `{}` (Anthropic Messages, {} turns)", case.id, turns.len()),
        dialect: Dialect::AnthropicMessages,
        turns,
        labels: Vec::new(),
        // The window the session really ran with, as the proxy applies it.
        opts: Options { context_limit: case.window, ..Options::default() },
    })
}

/// Write every turn's body, named so that a sort by name replays them in order; the passes of
/// the synthetic conversation (the third onwards) go under one name, `2`, pass after pass, and
/// `turns.tsv` says for each of their files the history's tokens and what the turn added.
fn dump(conversations: &[Conversation], dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut tsv = String::from("file\ttokens\tadded\n");
    for (c, conversation) in conversations.iter().enumerate() {
        let dialect = match conversation.dialect {
            Dialect::AnthropicMessages => "anthropic",
            Dialect::OpenAiChat => "chat",
            Dialect::OpenAiResponses => "responses",
        };
        let (name, first) = if c < 2 { (c, 0) } else { (2, (c - 2) * 1000) };
        // A session that ran with the 1M-token window sent the `context-1m` beta: so does its
        // replay through the proxy (`NAME.context-1m` says so).
        if conversation.opts.context_limit == Some(headroom_benches::claude_sessions::case::LARGE_WINDOW) {
            let marker = dir.join(format!("{name}.context-1m"));
            std::fs::write(&marker, b"").with_context(|| format!("writing {}", marker.display()))?;
        }
        for (k, (turn, body)) in conversation.turns.iter().enumerate() {
            let file = format!("{name}-{:04}.{dialect}.json", first + turn);
            if let Some((tokens, added)) = conversation.labels.get(k) {
                tsv.push_str(&format!("{file}\t{tokens}\t{added:?}\n"));
            }
            let path = dir.join(file);
            std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    let path = dir.join("turns.tsv");
    std::fs::write(&path, tsv).with_context(|| format!("writing {}", path.display()))
}

/// The synthetic conversation: grown from real outputs to 200k tokens (`trajectory::synthetic`).
fn synthetic(tag: &str) -> Result<Conversation> {
    let all = trajectory::load_all(&trajectory::corpus_dir())?;
    let grown = trajectory::synthetic(&all, 200_000, tag, count);
    ensure!(!grown.is_empty(), "no synthetic turns");
    Ok(Conversation {
        name: format!(
            "synthetic conversation grown to 200k tokens from real outputs (OpenAI Chat, {} turns)",
            grown.len()
        ),
        dialect: Dialect::OpenAiChat,
        labels: grown.iter().map(|t| (t.tokens, t.added)).collect(),
        turns: grown.into_iter().enumerate().map(|(i, t)| (i, t.body)).collect(),
        opts: Options::default(),
    })
}

fn trajectory(every: usize) -> Result<Conversation> {
    let all = trajectory::load_all(&trajectory::corpus_dir())?;
    let t = all.iter().max_by_key(|t| t.steps().len()).context("no trajectories")?;
    let turns: Vec<(usize, Vec<u8>)> =
        t.steps().into_iter().step_by(every).enumerate().map(|(i, k)| (i, t.openai_request(k))).collect();
    Ok(Conversation {
        name: format!("longest mini-swe-agent trajectory (OpenAI Chat, {} turns)", turns.len()),
        dialect: Dialect::OpenAiChat,
        turns,
        opts: Options::default(),
        labels: Vec::new(),
    })
}

fn wit_dialect(d: Dialect) -> wit::Dialect {
    match d {
        Dialect::AnthropicMessages => wit::Dialect::AnthropicMessages,
        Dialect::OpenAiChat => wit::Dialect::OpenaiChat,
        Dialect::OpenAiResponses => wit::Dialect::OpenaiResponses,
    }
}

fn measure(c: &Conversation, runtime: &Runtime) -> Result<Vec<Row>> {
    let mut wopts = headroom_runtime::default_options();
    wopts.context_limit = c.opts.context_limit;
    let dialect = wit_dialect(c.dialect);
    let mut times: Vec<[Vec<f64>; 4]> = c.turns.iter().map(|_| Default::default()).collect();
    for pass in 0..3 {
        let mut memory = Memory::default();
        let id = format!("{}-{pass}", c.name);
        for (k, (_, body)) in c.turns.iter().enumerate() {
            let t = Instant::now();
            let stateless = compress_request(c.dialect, body, &c.opts, &count);
            times[k][0].push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let with = compress_request_in(&mut memory, c.dialect, body, &c.opts, &count);
            times[k][1].push(t.elapsed().as_secs_f64() * 1e3);
            ensure!(with.map(|w| w.0).ok() == stateless.ok(), "{}: turn {k} differs with a memory", c.name);
            let t = Instant::now();
            let a = runtime.compress_request(dialect, body, &wopts)?;
            times[k][2].push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let b = runtime.compress_request_in("bench", &id, dialect, body, &wopts)?;
            times[k][3].push(t.elapsed().as_secs_f64() * 1e3);
            ensure!(
                a.ok().map(|o| o.body) == b.ok().map(|(o, _)| o.body),
                "{}: turn {k} differs through the component's memory",
                c.name
            );
        }
    }
    Ok(c.turns
        .iter()
        .zip(times)
        .map(|((_, body), t)| Row { bytes: body.len(), ms: t.map(|mut v| median(&mut v)) })
        .collect())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Turns grouped by size (bins of a tenth of the largest), medians per bin.
fn table(c: &Conversation, rows: &[Row]) -> String {
    let max = rows.iter().map(|r| r.bytes).max().unwrap_or(1);
    let bin = (max / 10).max(1);
    let mut out = format!(
        "## {}\n\n| turn size | turns | native stateless ms | native with memory ms | component stateless ms | \
         component with memory ms | component: memory / stateless |\n|---|---|---|---|---|---|---|\n",
        c.name
    );
    let mut b = 0;
    while b * bin <= max {
        let mut in_bin: Vec<&Row> = rows.iter().filter(|r| r.bytes / bin == b).collect();
        b += 1;
        if in_bin.is_empty() {
            continue;
        }
        in_bin.sort_by_key(|r| r.bytes);
        let col = |i: usize| median(&mut in_bin.iter().map(|r| r.ms[i]).collect::<Vec<_>>());
        out.push_str(&format!(
            "| {}-{} KB | {} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0}% |\n",
            (b - 1) * bin / 1000,
            b * bin / 1000,
            in_bin.len(),
            col(0),
            col(1),
            col(2),
            col(3),
            100.0 * col(3) / col(2).max(1e-9)
        ));
    }
    let total = |i: usize| rows.iter().map(|r| r.ms[i]).sum::<f64>();
    out.push_str(&format!(
        "| all | {} | {:.0} total | {:.0} total | {:.0} total | {:.0} total | {:.0}% |\n\n",
        rows.len(),
        total(0),
        total(1),
        total(2),
        total(3),
        100.0 * total(3) / total(2).max(1e-9)
    ));
    out
}

/// Component milliseconds against turn size, stateless and with the memory, one panel per
/// conversation.
fn plot(series: &[(String, Vec<Row>)]) -> String {
    let (w, h, pad) = (880.0, 300.0, 50.0);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{}\" font-family=\"sans-serif\" \
         font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        h * series.len() as f64
    );
    for (p, (name, rows)) in series.iter().enumerate() {
        let top = h * p as f64;
        let max_x = rows.iter().map(|r| r.bytes).max().unwrap_or(1) as f64;
        let max_y = rows.iter().map(|r| r.ms[2].max(r.ms[3])).fold(0.0, f64::max).max(1e-3);
        let x = |b: usize| pad + (w - 2.0 * pad) * b as f64 / max_x;
        let y = |ms: f64| top + h - pad + -(h - 2.0 * pad) * ms / max_y;
        svg.push_str(&format!(
            "<text x=\"{pad}\" y=\"{}\">{}: component ms per turn (y, max {max_y:.1}) against turn KB (x, max {:.0})</text>\n",
            top + 20.0,
            xml(name),
            max_x / 1000.0
        ));
        svg.push_str(&format!(
            "<line x1=\"{pad}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"black\"/><line x1=\"{pad}\" y1=\"{2}\" x2=\"{pad}\" y2=\"{0}\" stroke=\"black\"/>\n",
            top + h - pad,
            w - pad,
            top + pad
        ));
        for (i, color, label) in [(2, "#c0392b", "stateless"), (3, "#2471a3", "with memory")] {
            for r in rows {
                svg.push_str(&format!(
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\" fill=\"{color}\"/>\n",
                    x(r.bytes),
                    y(r.ms[i])
                ));
            }
            let ly = top + 40.0 + 16.0 * (i - 2) as f64;
            svg.push_str(&format!(
                "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{color}\"/><text x=\"{}\" y=\"{}\">{label}</text>\n",
                pad + 10.0,
                ly - 4.0,
                pad + 20.0,
                ly
            ));
        }
    }
    svg.push_str("</svg>\n");
    svg
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('`', "")
}
