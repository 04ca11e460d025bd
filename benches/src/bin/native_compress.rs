//! Native reference times for the JS benchmark (`benches/js/bench.mjs`): each file compressed
//! as one tool output by the component in wasmtime with the native counter (what the proxy
//! runs) and by the engine linked natively. A fresh runtime per file, so the first call is
//! cold; then the median of warm calls. One JSON line per file on stdout.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use headroom_runtime::{Runtime, RuntimeConfig};

const WARM_RUNS: usize = 21;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let component = PathBuf::from(args.next().context("usage: native_compress COMPONENT FILE...")?);
    for file in args {
        let text = std::fs::read_to_string(&file).with_context(|| file.clone())?;
        let opts = headroom_runtime::default_options();

        let t = Instant::now();
        let runtime = Runtime::from_file(&component, &RuntimeConfig::default())?;
        let load_ms = ms(t);
        let t = Instant::now();
        let first = runtime.compress_content(&text, None, &opts)?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let first_ms = ms(t);
        let warm: Vec<f64> = (0..WARM_RUNS)
            .map(|_| {
                let t = Instant::now();
                let _ = runtime.compress_content(&text, None, &opts);
                ms(t)
            })
            .collect();

        let engine_opts = headroom_core::Options::default();
        let count = |s: &str| headroom_tokenizer::O200k::count(s);
        let t = Instant::now();
        let _ = headroom_core::compress_content(&text, None, &engine_opts, &count);
        let engine_first_ms = ms(t);
        let engine_warm: Vec<f64> = (0..WARM_RUNS)
            .map(|_| {
                let t = Instant::now();
                let _ = headroom_core::compress_content(&text, None, &engine_opts, &count);
                ms(t)
            })
            .collect();

        let out = first.text.as_deref().unwrap_or(&text);
        println!(
            "{}",
            serde_json::json!({
                "file": file,
                "bytes": text.len(),
                "load_ms": load_ms,
                "first_ms": first_ms,
                "warm_ms": median(warm),
                "engine_first_ms": engine_first_ms,
                "engine_warm_ms": median(engine_warm),
                "tokens_before": first.tokens_before,
                "tokens_after": first.tokens_after,
                "output_bytes": out.len(),
                "output": out,
            })
        );
    }
    Ok(())
}
