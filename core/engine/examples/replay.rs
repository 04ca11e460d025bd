//! Replays the agent trajectories through the native engine, for profilers:
//! `cargo run --release -p headroom-core --example replay -- DIR [LIMIT] [PASSES]`: the requests
//! the trajectories bench times, one pass to fill the count memo, then PASSES timed passes.
//! With `HEADROOM_REPLAY_DIGEST` set, it prints one hash of every outcome instead.

use headroom_core::{Dialect, Options};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).cloned().unwrap_or_else(|| "../shared/corpus/swe-agent-trajectories".into());
    let limit: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(usize::MAX);
    let passes: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(3);
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).into_iter().flatten().flatten().map(|e| e.path()).collect();
    files.sort();
    let mut bodies = Vec::new();
    for f in files.iter().filter(|p| p.to_string_lossy().ends_with(".traj.json")).take(limit) {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(f).unwrap_or_default()).unwrap_or_default();
        let msgs = v["messages"].as_array().cloned().unwrap_or_default();
        // The requests the trajectories bench times: every 4th step (a command output
        // answering a command), sent to gpt-4o.
        let steps = (2..msgs.len()).filter(|&k| {
            msgs[k]["role"] == "user"
                && msgs[k]["content"].as_str().is_some_and(|c| c.starts_with("<returncode>"))
        });
        for k in steps.step_by(4) {
            let m: Vec<_> = msgs[..=k]
                .iter()
                .map(|m| serde_json::json!({"role": m["role"], "content": m["content"]}))
                .collect();
            bodies.push(
                serde_json::to_vec(&serde_json::json!({"model": "gpt-4o", "messages": m}))
                    .unwrap_or_default(),
            );
        }
    }
    let opts = Options::default();
    let count = |s: &str| headroom_tokenizer::O200k::count(s);
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    if std::env::var_os("HEADROOM_REPLAY_DIGEST").is_some() {
        // One hash of every outcome in both modes, to compare two builds of the engine.
        let mut digest = blake3::Hasher::new();
        for mode in [headroom_core::Mode::Cache, headroom_core::Mode::Token] {
            let opts = Options { mode, ..Options::default() };
            for b in &bodies {
                let outcome = headroom_core::compress_request(Dialect::OpenAiChat, b, &opts, &count);
                digest.update(format!("{outcome:?}").as_bytes());
            }
        }
        println!("digest of {} outcomes: {}", 2 * bodies.len(), digest.finalize().to_hex());
        return;
    }
    // As the bench measures the native engine with the host's count memo: warm, then timed.
    for b in &bodies {
        let _ = headroom_core::compress_request(Dialect::OpenAiChat, b, &opts, &count);
    }
    for pass in 0..passes {
        let start = std::time::Instant::now();
        for b in &bodies {
            let _ = headroom_core::compress_request(Dialect::OpenAiChat, b, &opts, &count);
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "pass {pass}: {:.1} MB in {secs:.2} s = {:.1} MB/s",
            bytes as f64 / 1e6,
            bytes as f64 / 1e6 / secs
        );
    }
}
