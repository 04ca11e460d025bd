//! The Claude Code sessions benchmark: every request of every real session in
//! `../shared/corpus/claude-code-sessions`, replayed in order through the engine, in cache and
//! token mode. See `headroom_benches::claude_sessions` for what is measured.
//!
//! `--corpus DIR` (default `../shared/corpus/claude-code-sessions`), `--out FILE` (the Markdown
//! report), `--limit N` (the first N sessions), `--mode cache|token` (one mode only),
//! `--jobs N` (worker threads; default: the cores available).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use headroom_benches::claude_sessions::case::{Case, corpus_dir, load_all};
use headroom_benches::claude_sessions::replay::replay;
use headroom_benches::claude_sessions::report::{CaseResult, ModeResult, RunInfo, render};
use headroom_benches::claude_sessions::tally::Tally;
use headroom_benches::machine::{machine, revision};
use headroom_core::Mode;
use headroom_tokenizer::O200k;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let start = Instant::now();
    let dir = corpus_dir(arg("--corpus").as_deref())?;
    let limit = match arg("--limit") {
        Some(s) => s.parse().with_context(|| format!("--limit {s}"))?,
        None => usize::MAX,
    };
    let modes = match arg("--mode").as_deref() {
        None => vec![Mode::Cache, Mode::Token],
        Some("cache") => vec![Mode::Cache],
        Some("token") => vec![Mode::Token],
        Some(other) => bail!("--mode {other}: expected cache or token"),
    };
    let threads = match arg("--jobs") {
        Some(s) => s.parse().with_context(|| format!("--jobs {s}"))?,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let mut cases = load_all(&dir)?;
    cases.truncate(limit);
    O200k::warm_up();

    let tallies = run(&cases, &modes, threads)?;
    let results: Vec<ModeResult> = modes
        .iter()
        .zip(tallies)
        .map(|(&mode, per_case)| {
            let mut total = Tally::default();
            per_case.iter().for_each(|t| total.add(t));
            let cases = cases
                .iter()
                .zip(per_case)
                .map(|(c, tally)| CaseResult {
                    id: c.id.clone(),
                    ttl: c.ttl.clone().unwrap_or_else(|| "-".into()),
                    window: match c.window {
                        None => "model's".into(),
                        Some(w) if w % 1_000_000 == 0 => format!("{}M", w / 1_000_000),
                        Some(w) => w.to_string(),
                    },
                    tally,
                })
                .collect();
            ModeResult { mode, total, cases }
        })
        .collect();
    let info = RunInfo {
        machine: machine(),
        revision: revision(),
        wall_seconds: start.elapsed().as_secs_f64(),
        threads,
        sessions: cases.len(),
    };
    let report = render(&results, &info);
    println!("{report}");
    if let Some(path) = arg("--out") {
        std::fs::write(&path, &report).with_context(|| format!("writing {path}"))?;
    }
    Ok(())
}

/// Every (session, mode) replay on `threads` workers, largest sessions first so the last one
/// to finish is short; results come back per mode, in case order.
fn run(cases: &[Case], modes: &[Mode], threads: usize) -> Result<Vec<Vec<Tally>>> {
    let mut jobs: Vec<(usize, usize)> =
        (0..modes.len()).flat_map(|m| (0..cases.len()).map(move |c| (m, c))).collect();
    let size = |c: usize| cases[c].requests.iter().map(|r| r.n_messages).sum::<usize>();
    jobs.sort_by_key(|&(m, c)| (std::cmp::Reverse(size(c)), m));
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Result<Tally>>>> = Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(m, c)) = jobs.get(i) else { break };
                    let result = replay(&cases[c], modes[m]);
                    if let Ok(t) = &result {
                        eprintln!(
                            "{} {:?}: {} requests in {:.1} s",
                            cases[c].id, modes[m], t.requests, t.seconds
                        );
                    }
                    if let Ok(mut slots) = slots.lock() {
                        slots[i] = Some(result);
                    }
                }
            });
        }
    });
    let slots = slots.into_inner().map_err(|_| anyhow!("a replay thread panicked"))?;
    let mut out: Vec<Vec<Option<Tally>>> =
        modes.iter().map(|_| cases.iter().map(|_| None).collect()).collect();
    for (&(m, c), slot) in jobs.iter().zip(slots) {
        out[m][c] = Some(slot.context("a replay did not finish")??);
    }
    out.into_iter()
        .map(|per_case| per_case.into_iter().map(|t| t.context("a replay did not finish")).collect())
        .collect()
}
