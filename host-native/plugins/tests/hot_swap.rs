//! A plugin replaced 50 times while requests run on other threads: no request fails, and
//! every response was made by exactly one plugin version (all its blocks carry one stamp).

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use headroom_plugins::Registry;
use headroom_runtime::default_options;
use headroom_runtime::wit::Dialect;
use support::*;

const SWAPS: u32 = 50;
const CLIENTS: usize = 3;

fn body(n: u64) -> Vec<u8> {
    let mut messages = vec![serde_json::json!({"role": "user", "content": format!("request {n}")})];
    for t in 0..3 {
        let id = format!("t{t}");
        messages.push(serde_json::json!({"role": "assistant", "content": [{"type": "tool_use", "id": id, "name": "Bash", "input": {"command": "x"}}]}));
        messages.push(serde_json::json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": format!("out {t}: STAMP-ME\n")}]}));
    }
    serde_json::json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": messages})
        .to_string()
        .into_bytes()
}

/// The stamps in a body, in order.
fn stamps(body: &str) -> Vec<String> {
    body.match_indices("STAMP:").map(|(at, _)| body[at..at + 16].to_owned()).collect()
}

fn write_version(dir: &std::path::Path, wasm: &[u8], manifest: &str, version: u32) {
    // Staged then renamed, as `just plugins` does: a load never sees half a plugin.
    let staged = dir.join("faulty.tmp");
    let live = dir.join("faulty");
    let _ = std::fs::remove_dir_all(&staged);
    std::fs::create_dir_all(&staged).expect("stage");
    let bytes = stamp(wasm, version);
    std::fs::write(staged.join("plugin.wasm"), &bytes).expect("wasm");
    let m = with_sha(manifest, &sha256_hex(&bytes))
        .replace("version = \"0.1.0\"", &format!("version = \"0.1.{version}\""));
    std::fs::write(staged.join("plugin.toml"), m).expect("manifest");
    std::fs::copy(built("faulty").join("self-test.txt"), staged.join("self-test.txt")).expect("sample");
    let old = dir.join("faulty.old");
    let _ = std::fs::remove_dir_all(&old);
    if live.exists() {
        std::fs::rename(&live, &old).expect("retire");
    }
    std::fs::rename(&staged, &live).expect("swap in");
    let _ = std::fs::remove_dir_all(&old);
}

#[test]
fn fifty_swaps_under_concurrent_requests() {
    let dir = fresh_dir("swap");
    let wasm = std::fs::read(built("faulty").join("plugin.wasm")).expect("fixture");
    let manifest = std::fs::read_to_string(built("faulty").join("plugin.toml"))
        .expect("manifest")
        .replace("placement = \"instead\"", "placement = \"before\"")
        .replace("lossy = true", "lossy = false")
        // Swaps compile on both cores while three clients run: this test is about swaps, so a
        // starved call must not pass its deadline (deadlines have their own test).
        .replace("deadline_ms = 200", "deadline_ms = 5000");
    write_version(&dir, &wasm, &manifest, 0);
    let registry = Registry::open(&dir, None).expect("registry");
    assert_eq!(registry.status().last_error, None, "{:?}", registry.status());
    let runtime = Arc::new(support::runtime());
    runtime.use_plugins(registry.clone());
    let done = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (runtime, done, served, registry) =
                (runtime.clone(), done.clone(), served.clone(), registry.clone());
            std::thread::spawn(move || {
                let mut versions = std::collections::BTreeSet::new();
                let mut n = 0u64;
                while !done.load(Ordering::Relaxed) && n < 100_000 {
                    n += 1;
                    let out = runtime
                        .compress_request(
                            Dialect::AnthropicMessages,
                            &body(n * 10 + c as u64),
                            &default_options(),
                        )
                        .expect("no trap")
                        .expect("no error");
                    let sent = String::from_utf8(out.body.expect("stamped")).expect("utf8");
                    let s = stamps(&sent);
                    assert_eq!(s.len(), 3, "{sent}\n{}", registry.describe());
                    assert!(s.iter().all(|x| *x == s[0]), "one response, several versions: {s:?}");
                    versions.insert(s[0].clone());
                    served.fetch_add(1, Ordering::Relaxed);
                }
                versions
            })
        })
        .collect();
    let mut swap_ms = Vec::new();
    for v in 1..=SWAPS {
        write_version(&dir, &wasm, &manifest, v);
        let status = registry.reload().expect("each version loads");
        swap_ms.push(status.last_load_ms.unwrap_or_default());
        assert_eq!(registry.describe()["plugins"][0]["version"], format!("0.1.{v}"));
    }
    // Let the clients see the last version too.
    let last = served.load(Ordering::Relaxed);
    while served.load(Ordering::Relaxed) < last + CLIENTS as u64 * 2 {
        std::thread::yield_now();
    }
    done.store(true, Ordering::Relaxed);
    let mut seen = std::collections::BTreeSet::new();
    for c in clients {
        seen.extend(c.join().expect("no client failed"));
    }
    assert!(seen.contains(&format!("STAMP:{SWAPS:010}")), "{seen:?}");
    assert!(seen.len() > 2, "requests ran across swaps: {seen:?}");
    assert_eq!(registry.status().generation, u64::from(SWAPS) + 1);
    swap_ms.sort_by(f64::total_cmp);
    eprintln!(
        "{} requests, {} versions seen, swap median {:.1} ms",
        served.load(Ordering::Relaxed),
        seen.len(),
        swap_ms[swap_ms.len() / 2]
    );
}
