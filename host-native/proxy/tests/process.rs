//! The `headroom` binary as users run it: no key reaches any log or file it writes, and a
//! `kill -9` in the middle of savings writes leaves a valid history file.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use support::start_mock;

use support::binary::{Binary as Proxy, client, get_json, temp_dir};

/// Start `headroom proxy` on a free port in front of `upstream`, state in `dir`; ready once
/// `/readyz` says so.
async fn spawn(upstream: &str, dir: &Path, extra: &[&str]) -> Proxy {
    let dir = dir.to_str().expect("path");
    let mut args =
        vec!["proxy", "--port", "0", "--anthropic-api-url", upstream, "--openai-api-url", upstream];
    args.extend(["--workspace-dir", dir]);
    args.extend(extra);
    support::binary::start(&args, &[]).await
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn no_key_reaches_any_log_or_file() {
    let mock = start_mock().await;
    let dir = temp_dir("keys");
    let log = dir.join("logs/requests.jsonl");
    let proxy = spawn(
        &mock.url,
        &dir,
        &[
            "--log-file",
            log.to_str().expect("path"),
            "--log-full-messages",
            "--log-level",
            "debug",
            "--log-format",
            "json",
            "--savings-flush-ms",
            "50",
        ],
    )
    .await;
    let key = |i: usize| format!("sk-ant-api03-PLANTED{i:02}x9f8e7d6c5b4a");
    let headers = [
        "x-api-key",
        "authorization",
        "proxy-authorization",
        "cookie",
        "api-key",
        "openai-organization",
        "openai-project",
        "x-goog-api-key",
        "anthropic-beta",
        "x-custom-secret",
    ];
    let mut n = 0;
    for (path, stream) in [
        ("/v1/messages", false),
        ("/v1/messages", true),
        ("/v1/chat/completions", true),
        ("/v1/responses", false),
    ] {
        let mut request = client().post(format!("{}{path}", proxy.url));
        for h in headers {
            n += 1;
            let value = if h == "authorization" { format!("Bearer {}", key(n)) } else { key(n) };
            request = request.header(h, value);
        }
        let mut k = || {
            n += 1;
            key(n)
        };
        let body = match path {
            "/v1/messages" => json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "stream": stream,
                "system": format!("system prompt with {}", k()),
                "metadata": {"user_id": k()},
                "messages": [{"role": "user", "content": [{"type": "text", "text": format!("my key is {} please", k())},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": k()}}]}]}),
            "/v1/chat/completions" => {
                json!({"model": "gpt-4o", "stream": stream, "user": k(), "prompt_cache_key": k(),
                "messages": [{"role": "system", "content": k()}, {"role": "user", "content": format!("key: {}", k())}]})
            }
            _ => json!({"model": "gpt-5", "stream": stream, "instructions": k(), "safety_identifier": k(),
                "input": [{"role": "user", "content": [{"type": "input_text", "text": k()}]}]}),
        };
        let r = request.json(&body).send().await.expect("send");
        assert_eq!(r.status(), 200, "{path}");
        r.bytes().await.expect("body");
    }
    // Every request logged (the log is how the proxy says what it did), then a clean stop.
    for _ in 0..200 {
        if std::fs::read_to_string(&log).unwrap_or_default().lines().count() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let lines = std::fs::read_to_string(&log).expect("request log");
    assert_eq!(lines.lines().count(), 4, "{lines}");
    assert!(lines.contains("\"messages\""), "full messages were asked for: {lines}");
    assert!(lines.contains("[redacted]") && lines.contains("[base64 omitted"), "{lines}");
    proxy.signal("INT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let written = files(&dir);
    assert!(written.iter().any(|p| p.ends_with("proxy_savings.json")), "{written:?}");
    for file in &written {
        let bytes = std::fs::read(file).expect("read");
        assert!(memchr::memmem::find(&bytes, b"PLANTED").is_none(), "a planted key is in {}", file.display());
    }
    let stderr = proxy.stderr();
    assert!(stderr.contains("\"request_id\""), "one JSON line per request at info: {stderr}");
    assert!(!stderr.contains("PLANTED"), "a planted key is in the proxy's log:\n{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn kill_9_during_savings_writes_leaves_a_valid_file() {
    let mock = start_mock().await;
    let dir = temp_dir("kill9");
    let file = dir.join("proxy_savings.json");
    let mut last_requests = 0;
    for round in 0..5u64 {
        let proxy = spawn(&mock.url, &dir, &["--savings-flush-ms", "10"]).await;
        let url = proxy.url.clone();
        let load = tokio::spawn(async move {
            let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
            loop {
                let _ = client().post(format!("{url}/v1/chat/completions")).json(&body).send().await;
            }
        });
        // The kill must land while writes are happening: after the first one (a loaded machine
        // may take longer than the flush interval to serve a request), then at varying points.
        let first_write = std::time::Instant::now();
        while !file.exists() && first_write.elapsed() < Duration::from_secs(30) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(150 + 70 * round)).await;
        let mut proxy = proxy;
        proxy.child.kill().expect("kill -9");
        let _ = proxy.child.wait();
        load.abort();
        let saved: Value = serde_json::from_slice(&std::fs::read(&file).expect("history file"))
            .unwrap_or_else(|e| panic!("torn history file after kill -9 (round {round}): {e}"));
        let requests = saved["lifetime"]["requests"].as_u64().expect("lifetime");
        assert!(requests >= last_requests, "lifetime totals went back: {requests} < {last_requests}");
        last_requests = requests;
    }
    assert!(last_requests > 0);
    let proxy = spawn(&mock.url, &dir, &[]).await;
    let health: Value = get_json(&format!("{}/health", proxy.url)).await;
    assert_eq!(health["checks"]["savings_history"]["status"], "healthy", "{health}");
    let history: Value = get_json(&format!("{}/stats-history", proxy.url)).await;
    assert_eq!(history["lifetime"]["requests"].as_u64(), Some(last_requests));
    drop(proxy);
    let _ = std::fs::remove_dir_all(&dir);
}
