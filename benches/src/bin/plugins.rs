//! Plugin benchmark: the cost of a plugin hop per call (1 KB and 100 KB blocks), what the real
//! plugins cost in wasm against the same code natively, the engine call with and without a
//! plugin, and the swap time (verify + compile + self-test + swap) with a warm and a cold code
//! cache. Needs `just component plugins`.
//!
//! `cargo run --release -p headroom-benches --bin plugins -- --out benches/results/plugins.md`

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use headroom_benches::machine::{machine, revision};
use headroom_plugins::Registry;
use headroom_runtime::plugin_wit::{Block, ContentKind, Context};
use headroom_runtime::plugins::PluginSet;
use headroom_runtime::{Runtime, RuntimeConfig, default_options};

const ROUNDS: usize = 41;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A log block of about `bytes` bytes (deterministic), starting with `first`.
fn log_block(first: &str, bytes: usize) -> String {
    let mut s = format!("{first}\n");
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(&format!(
            "2026-11-02 10:{:02}:{:02} INFO worker-{} served /api/v1/items/{} in {} ms\n",
            i / 60 % 60,
            i % 60,
            i % 7,
            i * 37 % 1000,
            i % 91
        ));
        i += 1;
    }
    s.truncate(bytes);
    s
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e3)
}

/// Median time of `f` over ROUNDS runs (after one warm-up).
fn time(mut f: impl FnMut()) -> Duration {
    f();
    median(
        (0..ROUNDS)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn folder(name: &str, plugins: &[&str]) -> Result<PathBuf> {
    let dir = root().join("target/bench-plugins").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    for id in plugins {
        let from = if *id == "faulty" {
            root().join("target/plugin-fixtures/faulty")
        } else {
            root().join("target/plugins").join(id)
        };
        if !from.join("plugin.wasm").is_file() {
            bail!("{} is missing: run `just plugins`", from.display());
        }
        let to = dir.join(id);
        std::fs::create_dir_all(&to)?;
        for f in std::fs::read_dir(&from)? {
            let f = f?;
            std::fs::copy(f.path(), to.join(f.file_name()))?;
        }
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn call(set: &PluginSet, id: &str, text: &str) -> Result<()> {
    let block = Block { text: text.to_owned(), key: headroom_core::offload::key_for(text) };
    set.transform(id, &block, &ContentKind::Log, &Context { query: None, lossy: true })
        .map(|_| ())
        .map_err(|f| anyhow::anyhow!("{id}: {f}"))
}

fn main() -> Result<()> {
    let out = std::env::args().skip_while(|a| a != "--out").nth(1);
    let core = root().join("target/wasm/headroom-core.wasm");
    if !core.is_file() {
        bail!("{} is missing: run `just component`", core.display());
    }
    let cache = root().join("target/bench-plugins/cache");
    let _ = std::fs::remove_dir_all(&cache);
    let mut report = String::new();
    report.push_str("# Plugins: hop cost and swap time\n\n");
    report.push_str(&format!(
        "Machine: {}. Engine {}. Medians of {ROUNDS} runs. Command: `just bench-plugins`.\n\n",
        machine(),
        revision()
    ));

    // The hop: a call that declines at once (the fixture's `NOOP`), so all that is measured is
    // a fresh instance, the block copied in, the answer copied out.
    let dir = folder("hop", &["faulty", "redact-secrets", "csv-table"])?;
    let registry = Registry::open(&dir, Some(&cache)).context("registry")?;
    if let Some(e) = registry.status().last_error {
        bail!("plugins did not load: {e}");
    }
    let set = registry.current();
    report.push_str(
        "Targets: a hop adds at most 50 µs per block on top of the plugin's own work; a swap is \
         verified and live within 200 ms with a warm code cache.\n\n\
         The hop is a call to a plugin that declines at once: a fresh instance from the pool, the \
         block copied in, the answer copied out. The engine call's difference also holds the \
         engine's side of the hop (the block lifted out of the core's memory) and the plugin's own \
         work.\n\n",
    );
    report.push_str("## Per call\n\n| block | hop (declining plugin), µs | redact-secrets in wasm, µs | redact-secrets natively, µs | csv-table in wasm, µs |\n|---|---|---|---|---|\n");
    for size in [1 << 10, 100 << 10] {
        let noop = log_block("NOOP", size);
        let text = log_block("token: sk_live_4eC39HqLyjWDarjtT1zdp7dc", size);
        let csv: String = std::iter::once("host,region,status,ms\n".to_owned())
            .chain((0..).map(|i| format!("web{},eu-west-1,ok,{}\n", i % 5, 10 + i % 13)))
            .scan(0usize, |len, line| {
                *len += line.len();
                (*len <= size).then_some(line)
            })
            .collect();
        let hop = time(|| call(&set, "faulty", &noop).expect("hop"));
        let redact = time(|| call(&set, "redact-secrets", &text).expect("redact"));
        let native = time(|| {
            std::hint::black_box(headroom_plugin_redact_secrets::redact(std::hint::black_box(&text)));
        });
        let table = time(|| call(&set, "csv-table", &csv).expect("csv"));
        report.push_str(&format!(
            "| {} KB | {} | {} | {} | {} |\n",
            size >> 10,
            us(hop),
            us(redact),
            us(native),
            us(table)
        ));
    }

    // The whole engine call, through the component, with redact-secrets as a filter and without.
    let runtime = Runtime::from_file(&core, &RuntimeConfig::default()).context("core component")?;
    let only = folder("redact", &["redact-secrets"])?;
    let redact_set = Registry::open(&only, Some(&cache)).context("registry")?.current();
    let opts = default_options();
    report.push_str("\n## Engine call (`compress-content` through the component)\n\n| block | no plugin, µs | with redact-secrets (before), µs | difference, µs |\n|---|---|---|---|\n");
    for size in [1 << 10, 100 << 10] {
        let text = log_block("token: sk_live_4eC39HqLyjWDarjtT1zdp7dc", size);
        let none: Option<&Arc<PluginSet>> = None;
        let plain = time(|| {
            runtime.compress_content_with(&text, None, &opts, none).expect("no trap").expect("ok");
        });
        let with = time(|| {
            runtime
                .compress_content_with(&text, None, &opts, Some(&redact_set))
                .expect("no trap")
                .expect("ok");
        });
        let diff = with.as_secs_f64() - plain.as_secs_f64();
        report.push_str(&format!(
            "| {} KB | {} | {} | {:.1} |\n",
            size >> 10,
            us(plain),
            us(with),
            diff * 1e6
        ));
    }

    // Swaps: the folder of the two real plugins loaded again (hash, compile, world, self-test,
    // swap), with the code cache warm, then with none.
    let real = folder("swap", &["redact-secrets", "csv-table"])?;
    let warm = Registry::open(&real, Some(&cache)).context("registry")?;
    let warm_swap = time(|| {
        warm.reload().expect("reload");
    });
    let cold: Vec<Duration> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let r = Registry::open(&real, None).expect("registry");
            assert!(r.status().last_error.is_none());
            t.elapsed()
        })
        .collect();
    report.push_str(&format!(
        "\n## Swap (redact-secrets + csv-table: verify, compile, self-test, swap)\n\n| code cache | time, ms |\n|---|---|\n| warm | {} |\n| none (compiled from scratch; median of 5) | {} |\n",
        ms(warm_swap),
        ms(median(cold))
    ));
    print!("{report}");
    if let Some(path) = out {
        std::fs::write(&path, &report).with_context(|| format!("writing {path}"))?;
    }
    Ok(())
}
