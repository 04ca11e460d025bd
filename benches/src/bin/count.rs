//! Exact o200k_base counting, as the engine asks for it: every message text of the trajectory
//! corpus (each counted once, as a block is on first sight) and every 8th request body whole
//! (as the window check counts a conversation when it first nears its window), counted by
//! `bpe_openai` directly and by `headroom_tokenizer` without its memo of texts (pieces
//! remembered per thread). Same counts checked; medians of 5 passes, the two alternated.
//! Reads ../shared/corpus (fails clearly without it). `--out FILE` writes the Markdown report.

use std::time::Instant;

use anyhow::{Result, ensure};
use headroom_benches::machine::{machine, revision};
use headroom_benches::trajectory::{corpus_dir, load_all};
use headroom_tokenizer::O200k;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = args.iter().position(|a| a == "--out").and_then(|i| args.get(i + 1)).cloned();
    let trajectories = load_all(&corpus_dir())?;
    let texts: Vec<String> =
        trajectories.iter().flat_map(|t| t.messages.iter().map(|(_, text)| text.clone())).collect();
    let bodies: Vec<String> = trajectories
        .iter()
        .flat_map(|t| {
            t.steps()
                .into_iter()
                .step_by(8)
                .map(|k| String::from_utf8_lossy(&t.openai_request(k)).into_owned())
        })
        .collect();
    O200k::warm_up();
    let mut report = format!(
        "# Token counting\n\nMeasured with `cargo run --release -p headroom-benches --bin count` on {} at {}.\n\n\
         Exact o200k_base counts of what the engine counts: each message text of the trajectory corpus once (a block on \
         first sight), and every 8th request body whole (the window check when a conversation first nears its window). \
         `bpe_openai` is the encoder counting each text; `pieces` is `headroom_tokenizer` without its memo of texts, which \
         remembers each short pre-tokenized piece's count per thread (warm after the first pass, as in a running proxy). \
         Same counts on every text; medians of 5 passes, the \
         two alternated.\n\n| texts | count | bytes | bpe_openai MB/s | pieces MB/s | pieces / bpe_openai |\n|---|---|---|---|---|---|\n",
        machine(),
        revision()
    );
    for (name, set) in [("message texts", &texts), ("request bodies", &bodies)] {
        let bytes: usize = set.iter().map(String::len).sum();
        let (mut direct, mut pieces) = (Vec::new(), Vec::new());
        for _ in 0..5 {
            let t = Instant::now();
            let a: usize = set.iter().map(|s| bpe_openai::o200k_base().count(s.as_str())).sum();
            direct.push(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let b: usize = set.iter().map(|s| O200k::count_uncached(s) as usize).sum();
            pieces.push(t.elapsed().as_secs_f64());
            ensure!(a == b, "{name}: {a} tokens by bpe_openai, {b} by pieces");
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (d, p) = (bytes as f64 / median(&mut direct) / 1e6, bytes as f64 / median(&mut pieces) / 1e6);
        report.push_str(&format!(
            "| {name} | {} | {:.1} MB | {d:.1} | {p:.1} | {:.2}x |\n",
            set.len(),
            bytes as f64 / 1e6,
            p / d
        ));
    }
    print!("{report}");
    if let Some(path) = out {
        std::fs::write(path, report)?;
    }
    Ok(())
}
