//! Engine time per request against the request's size, one long real conversation replayed
//! turn by turn (the largest Claude Code session of `../shared/corpus/claude-code-sessions`).
//!
//! Prints one row per request: body bytes, native and component milliseconds (the host's
//! count memo warm, as in the proxy). `--case ID` picks another session; `--every N` samples.

use std::time::Instant;

use anyhow::{Context, Result};
use headroom_benches::claude_sessions::case::{corpus_dir, load_all};
use headroom_core::{Dialect, Options};
use headroom_runtime::{Runtime, RuntimeConfig, wit};
use headroom_tokenizer::O200k;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let every: usize = arg("--every").and_then(|s| s.parse().ok()).unwrap_or(1);
    let cases = load_all(&corpus_dir(arg("--corpus").as_deref())?)?;
    let case = match arg("--case") {
        Some(id) => cases.iter().find(|c| c.id == id).context("no such case")?,
        None => cases
            .iter()
            .max_by_key(|c| c.requests.iter().map(|r| c.body(r).len()).max().unwrap_or(0))
            .context("no cases")?,
    };
    let runtime = Runtime::from_file("target/wasm/headroom-core.wasm".as_ref(), &RuntimeConfig::default())?;
    let opts = Options::default();
    let wopts = headroom_runtime::default_options();
    let count = |s: &str| O200k::count(s);
    println!("case {} ({} requests)", case.id, case.requests.len());
    println!("bytes\tnative_ms\tmemory_ms\tcomponent_ms\tcomponent_memory_ms");
    let mut memories: std::collections::HashMap<usize, headroom_core::session::Memory> = Default::default();
    for r in case.requests.iter().step_by(every) {
        let body = case.body(r);
        let mut native = Vec::new();
        let mut component = Vec::new();
        let mut incremental = Vec::new();
        let mut component_memory = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            let stateless = headroom_core::compress_request(Dialect::AnthropicMessages, &body, &opts, &count);
            native.push(t.elapsed().as_secs_f64() * 1e3);
            // The memory as the previous request of this conversation left it.
            let memory = memories.entry(r.conv).or_default();
            let t = Instant::now();
            let with = headroom_core::compress_request_with(
                memory,
                Dialect::AnthropicMessages,
                &body,
                &opts,
                &count,
            );
            incremental.push(t.elapsed().as_secs_f64() * 1e3);
            anyhow::ensure!(with.map(|w| w.0).ok() == stateless.ok(), "outcome differs with a memory");
            let t = Instant::now();
            let _ = runtime.compress_request(wit::Dialect::AnthropicMessages, &body, &wopts);
            component.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            let _ = runtime.compress_request_in(
                "bench",
                &r.conv.to_string(),
                wit::Dialect::AnthropicMessages,
                &body,
                &wopts,
            );
            component_memory.push(t.elapsed().as_secs_f64() * 1e3);
        }
        native.sort_by(f64::total_cmp);
        component.sort_by(f64::total_cmp);
        incremental.sort_by(f64::total_cmp);
        component_memory.sort_by(f64::total_cmp);
        println!(
            "{}\t{:.2}\t{:.2}\t{:.2}\t{:.2}",
            body.len(),
            native[1],
            incremental[1],
            component[1],
            component_memory[1]
        );
    }
    Ok(())
}
