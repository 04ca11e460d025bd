//! Plugins in the running proxy: loaded from `--plugins-dir`, listed and reloaded on the admin
//! routes, reported on `/health`, picked up when the folder changes, conversations pinned to
//! the set they started with, and 50 swaps while requests are served.

mod support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Proxy, config, start_mock, start_proxy};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn built(id: &str) -> PathBuf {
    let dir = if id == "faulty" {
        root().join("target/plugin-fixtures/faulty")
    } else {
        root().join("target/plugins").join(id)
    };
    assert!(dir.join("plugin.wasm").is_file(), "{} is missing: run `just plugins`", dir.display());
    dir
}

fn fresh_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = root().join(format!(
        "target/plugin-tests/proxy-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

fn hex(bytes: &[u8]) -> String {
    <sha2::Sha256 as sha2::Digest>::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Install a built plugin (staged, then renamed in), optionally with its component and
/// manifest changed.
fn install(dir: &Path, id: &str, wasm: Option<&[u8]>, edit: impl Fn(String) -> String) {
    let from = built(id);
    let staged = dir.join(format!("{id}.tmp"));
    let _ = std::fs::remove_dir_all(&staged);
    std::fs::create_dir_all(&staged).expect("stage");
    for f in std::fs::read_dir(&from).expect("built") {
        let f = f.expect("entry");
        std::fs::copy(f.path(), staged.join(f.file_name())).expect("copy");
    }
    let mut manifest = std::fs::read_to_string(staged.join("plugin.toml")).expect("manifest");
    if let Some(bytes) = wasm {
        std::fs::write(staged.join("plugin.wasm"), bytes).expect("wasm");
        manifest = manifest
            .lines()
            .map(|l| {
                if l.starts_with("sha256 =") { format!("sha256 = \"{}\"", hex(bytes)) } else { l.to_owned() }
            })
            .collect::<Vec<_>>()
            .join("\n");
    }
    std::fs::write(staged.join("plugin.toml"), edit(manifest)).expect("manifest");
    let live = dir.join(id);
    let old = dir.join(format!("{id}.old"));
    let _ = std::fs::remove_dir_all(&old);
    if live.exists() {
        std::fs::rename(&live, &old).expect("retire");
    }
    std::fs::rename(&staged, &live).expect("swap");
    let _ = std::fs::remove_dir_all(&old);
}

/// The faulty fixture as a `before` filter stamping `STAMP-ME` lines with `version`.
fn stamped(dir: &Path, version: u32) {
    let wasm = std::fs::read(built("faulty").join("plugin.wasm")).expect("fixture");
    let from = b"STAMP:0000000000";
    let at = wasm.windows(from.len()).position(|w| w == from).expect("stamp");
    let mut bytes = wasm.clone();
    bytes[at..at + from.len()].copy_from_slice(format!("STAMP:{version:010}").as_bytes());
    install(dir, "faulty", Some(&bytes), |m| {
        m.replace("placement = \"instead\"", "placement = \"before\"")
            .replace("lossy = true", "lossy = false")
            // Swaps compile on both cores while clients run: a starved call must not pass its
            // deadline here (deadlines have their own test).
            .replace("deadline_ms = 200", "deadline_ms = 5000")
            .replace("version = \"0.1.0\"", &format!("version = \"0.1.{version}\""))
    });
}

async fn proxy_with(dir: &Path, upstream: &str, api_key: Option<&str>) -> Proxy {
    let mut cfg = config(upstream);
    cfg.plugins_dir = Some(dir.to_owned());
    cfg.api_key = api_key.map(str::to_owned);
    start_proxy(cfg).await
}

/// A conversation opened by `opening`, with one tool output per entry of `outputs`.
fn conversation(opening: &str, outputs: &[&str]) -> Value {
    let mut messages = vec![json!({"role": "user", "content": opening})];
    for (i, out) in outputs.iter().enumerate() {
        let id = format!("t{i}");
        messages.push(json!({"role": "assistant", "content": [{"type": "tool_use", "id": id, "name": "Bash", "input": {"command": "x"}}]}));
        messages.push(
            json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": out}]}),
        );
    }
    json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": messages})
}

async fn send(proxy: &Proxy, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}/v1/messages", proxy.url))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(body)
        .send()
        .await
        .expect("send")
}

async fn get_json(url: String) -> Value {
    client().get(url).send().await.expect("get").json().await.expect("json")
}

fn stamps(body: &str) -> Vec<String> {
    body.match_indices("STAMP:").map(|(at, _)| body[at..at + 16].to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_masked_before_the_upstream_sees_them() {
    let mock = start_mock().await;
    let dir = fresh_dir("redact");
    install(&dir, "redact-secrets", None, |m| m);
    let proxy = proxy_with(&dir, &mock.url, None).await;
    let out = "export STRIPE=sk_live_4eC39HqLyjWDarjtT1zdp7dc\nok\n";
    let r = send(&proxy, &conversation("deploy", &[out])).await;
    assert_eq!(r.status(), 200);
    let sent = String::from_utf8_lossy(&mock.hits()[0].body).into_owned();
    assert!(sent.contains("export STRIPE=[secret: stripe-key masked]"), "{sent}");
    assert!(!sent.contains("4eC39HqLyjWDarjtT1zdp7dc"));
    let listed = get_json(format!("{}/admin/plugins", proxy.url)).await;
    assert_eq!(listed["plugins"][0]["id"], "redact-secrets");
    assert_eq!(listed["plugins"][0]["state"], "active");
    assert!(listed["plugins"][0]["calls"].as_u64() >= Some(1), "{listed}");
    let health = get_json(format!("{}/health", proxy.url)).await;
    assert_eq!(health["checks"]["plugins"]["status"], "healthy", "{health}");
    assert_eq!(health["checks"]["plugins"]["loaded"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn reload_needs_the_key_and_a_bad_folder_keeps_the_old_set() {
    let mock = start_mock().await;
    let dir = fresh_dir("reload");
    install(&dir, "csv-table", None, |m| m);
    let proxy = proxy_with(&dir, &mock.url, Some("admin-key")).await;
    let url = format!("{}/admin/plugins/reload", proxy.url);
    let r = client().post(&url).send().await.expect("send");
    assert_eq!(r.status(), 401);
    install(&dir, "redact-secrets", None, |m| m.replace("lossy = false", "lossy = false\nshiny = true"));
    let r = client().post(&url).bearer_auth("admin-key").send().await.expect("send");
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.expect("json");
    assert!(v["error"]["message"].as_str().unwrap_or_default().contains("shiny"), "{v}");
    assert_eq!(v["plugins"]["plugins"].as_array().map(Vec::len), Some(1), "the old set stays: {v}");
    let health: Value =
        client().get(format!("{}/health", proxy.url)).send().await.expect("get").json().await.expect("json");
    assert_eq!(health["checks"]["plugins"]["status"], "degraded");
    assert!(health["checks"]["plugins"]["error"].as_str().unwrap_or_default().contains("shiny"));
    install(&dir, "redact-secrets", None, |m| m);
    let r = client().post(&url).bearer_auth("admin-key").send().await.expect("send");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["plugins"].as_array().map(Vec::len), Some(2), "{v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_folder_is_picked_up_and_conversations_keep_their_set() {
    let mock = start_mock().await;
    let dir = fresh_dir("watch");
    stamped(&dir, 1);
    let proxy = proxy_with(&dir, &mock.url, None).await;
    let first = conversation("conversation A", &["a STAMP-ME"]);
    send(&proxy, &first).await;
    stamped(&dir, 2);
    // The watcher polls and waits for the folder to settle: well under 5 s.
    let started = Instant::now();
    loop {
        let listed = get_json(format!("{}/admin/plugins", proxy.url)).await;
        if listed["plugins"][0]["version"] == "0.1.2" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the change was not picked up: {listed}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Conversation A's next turn is rewritten as before; a new conversation gets version 2.
    send(&proxy, &conversation("conversation A", &["a STAMP-ME", "b STAMP-ME"])).await;
    send(&proxy, &conversation("conversation B", &["c STAMP-ME"])).await;
    let hits = mock.hits();
    let bodies: Vec<String> = hits.iter().map(|h| String::from_utf8_lossy(&h.body).into_owned()).collect();
    assert_eq!(stamps(&bodies[0]), ["STAMP:0000000001"]);
    assert_eq!(stamps(&bodies[1]), ["STAMP:0000000001", "STAMP:0000000001"], "a swap rewrote a sent block");
    assert_eq!(stamps(&bodies[2]), ["STAMP:0000000002"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_swaps_while_serving() {
    let mock = start_mock().await;
    let dir = fresh_dir("swap50");
    stamped(&dir, 0);
    let proxy = Arc::new(proxy_with(&dir, &mock.url, None).await);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..3u32 {
        let (proxy, stop) = (proxy.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) && n < 10_000 {
                n += 1;
                let body = conversation(
                    &format!("client {c} request {n}"),
                    &["x STAMP-ME", "y STAMP-ME", "z STAMP-ME"],
                );
                let r = send(&proxy, &body).await;
                assert_eq!(r.status(), 200, "a request failed during a swap");
            }
            n
        }));
    }
    let url = format!("{}/admin/plugins/reload", proxy.url);
    for v in 1..=50 {
        stamped(&dir, v);
        let r = client().post(&url).send().await.expect("reload");
        assert_eq!(r.status(), 200);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let mut served = 0;
    for c in clients {
        served += c.await.expect("client");
    }
    let mut versions = std::collections::BTreeSet::new();
    let hits = mock.hits();
    assert_eq!(hits.len(), served as usize, "every request reached the upstream");
    for h in &hits {
        let s = stamps(&String::from_utf8_lossy(&h.body));
        assert_eq!(s.len(), 3);
        assert!(s.iter().all(|x| *x == s[0]), "one response, several plugin versions: {s:?}");
        versions.insert(s[0].clone());
    }
    assert!(versions.len() > 2, "requests ran across swaps: {versions:?}");
    assert!(versions.contains("STAMP:0000000050"), "{versions:?}");
}
