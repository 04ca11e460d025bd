//! Accounting and what it feeds: the per-request record (read back from the request log),
//! `/stats`, `/stats-history` and its file, `/metrics` (checked by `promtool`), for all three
//! APIs, JSON and streams, with a retrieval round whose usage must be summed.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use headroom_proxy::accounting::Usage;
use headroom_proxy::observe_args::ObserveConfig;
use serde_json::{Value, json};
use support::binary::{get_json, get_text};
use support::retrieval::usage;
use support::{Proxy, config, start_mock, start_proxy};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

/// A fresh directory under the system's temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("headroom-obs-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn observed(dir: &Path) -> ObserveConfig {
    ObserveConfig {
        log_file: Some(dir.join("requests.jsonl")),
        log_full_messages: false,
        savings_path: Some(dir.join("proxy_savings.json")),
        savings_flush: Duration::from_millis(50),
        telemetry: Default::default(),
    }
}

async fn proxy_in(upstream: &str, dir: &Path) -> Proxy {
    start_proxy(headroom_proxy::ProxyConfig { observe: observed(dir), ..config(upstream) }).await
}

/// A log the engine shortens with a marker (so the mock model calls the retrieval tool).
fn log_output() -> String {
    let mut lines: Vec<String> = (0..600)
        .map(|i| {
            format!(
                "2024-05-01 12:00:{:02} INFO worker-{} processed batch {i} in {} ms",
                i % 60,
                i % 4,
                i % 17
            )
        })
        .collect();
    lines[300] = "2024-05-01 12:05:00 ERROR worker-2 failed batch 300: connection reset".into();
    lines.join("\n")
}

fn request(path: &str, stream: bool, log: &str) -> Value {
    match path {
        "/v1/messages" => json!({"model": "claude-sonnet-4-5", "max_tokens": 2000, "stream": stream,
            "tools": [{"name": "bash", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": "What failed?"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "bash", "input": {"command": "cat app.log"}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": log}]}]}),
        "/v1/chat/completions" => {
            json!({"model": "gpt-4o", "stream": stream, "stream_options": if stream { json!({"include_usage": true}) } else { Value::Null },
            "messages": [{"role": "user", "content": "What failed?"},
                {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": log}]})
        }
        _ => json!({"model": "gpt-5", "stream": stream, "store": false, "input": [
                {"role": "user", "content": "What failed?"},
                {"type": "function_call", "call_id": "c1", "name": "bash", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": log}]}),
    }
}

async fn post(proxy: &str, path: &str, body: &Value, key: &str) -> reqwest::Response {
    client()
        .post(format!("{proxy}{path}"))
        .header("x-api-key", key)
        .header("authorization", format!("Bearer {key}"))
        .header("x-mock-retrieve", "1")
        .json(body)
        .send()
        .await
        .expect("send")
}

fn both_rounds(path: &str) -> Value {
    let mut total = usage(path, 1);
    headroom_proxy::retrieval::usage::add(&mut total, &usage(path, 2));
    total
}

/// Wait (bounded) until `/stats` has counted `n` requests.
async fn wait_for_requests(proxy: &str, n: u64) -> Value {
    for _ in 0..200 {
        let stats = get_json(&format!("{proxy}/stats")).await;
        if stats["requests"]["total"].as_u64() >= Some(n) {
            return stats;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the proxy never counted {n} requests");
}

/// Lines of the request log, once it has `n`.
async fn log_lines(path: &Path, n: usize) -> Vec<Value> {
    for _ in 0..200 {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let lines: Vec<Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
        if lines.len() >= n {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the request log never reached {n} lines");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_api_is_accounted_with_its_retrieval_rounds_summed() {
    let mock = start_mock().await;
    let dir = temp_dir("record");
    let proxy = proxy_in(&mock.url, &dir).await;
    let log = log_output();
    let paths = ["/v1/messages", "/v1/chat/completions", "/v1/responses"];
    for path in paths {
        for stream in [false, true] {
            let r = post(&proxy.url, path, &request(path, stream, &log), "sk-test-a").await;
            assert_eq!(r.status(), 200);
            assert!(r.headers().contains_key("x-headroom-request-id"));
            let text = r.text().await.expect("body");
            if !stream {
                // What the client holds: every round's usage, in all three APIs.
                let body: Value = serde_json::from_str(&text).expect("json");
                assert_eq!(body["usage"], both_rounds(path), "{path} json");
            }
        }
    }
    let lines = log_lines(&dir.join("requests.jsonl"), 6).await;
    assert_eq!(lines.len(), 6);
    for line in &lines {
        let path = line["path"].as_str().expect("path");
        let expected = Usage::from_value(&both_rounds(path)).expect("usage");
        let got: Usage = serde_json::from_value(line["usage"].clone()).expect("usage in the record");
        assert_eq!(got, expected, "{line}");
        assert_eq!(line["retrieval_rounds"], 1, "{line}");
        assert_eq!(line["status"], 200);
        assert!(line["tokens_saved"].as_u64().unwrap_or(0) > 0, "{line}");
        assert!(line["transforms"].as_array().is_some_and(|t| !t.is_empty()), "{line}");
        let (overhead, latency) =
            (line["overhead_ms"].as_f64().unwrap_or(-1.0), line["latency_ms"].as_f64().unwrap_or(0.0));
        assert!(overhead >= 0.0 && overhead <= latency, "{line}");
        assert!(line["ttfb_ms"].as_f64().is_some_and(|t| t <= latency), "{line}");
        assert!(line["request_id"].as_str().is_some_and(|id| id.starts_with("hr-")));
        assert!(line["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert!(line.get("messages").is_none(), "no content without --log-full-messages");
    }
    let streamed: Vec<bool> = lines.iter().map(|l| l["streaming"].as_bool().unwrap_or(false)).collect();
    assert_eq!(streamed.iter().filter(|s| **s).count(), 3);

    let stats = wait_for_requests(&proxy.url, 6).await;
    assert_eq!(stats["requests"]["by_provider"]["anthropic"], 2);
    assert_eq!(stats["requests"]["by_provider"]["openai"], 4);
    assert_eq!(stats["requests"]["by_model"]["gpt-4o"], 2);
    assert_eq!(stats["retrieval"]["rounds"], 6);
    assert!(stats["tokens"]["saved"].as_u64().unwrap_or(0) > 0);
    assert!(stats["tokens"]["by_transform"].as_object().is_some_and(|t| !t.is_empty()));
    // Provider-reported cache writes by TTL: two Anthropic requests of two rounds each
    // (5m: 40 + 80, 1h: 60 + 120).
    let cache = &stats["prefix_cache"];
    assert_eq!(cache["observed_ttl_buckets"]["5m"]["tokens"], 240, "{cache}");
    assert_eq!(cache["observed_ttl_buckets"]["1h"]["tokens"], 360, "{cache}");
    assert_eq!(cache["observed_ttl_mix"]["1h"], 0.6);
    let bill = &stats["bill"]["total"];
    assert!(bill["summary"].as_str().is_some_and(|s| s.starts_with("billed input tokens ")), "{bill}");
    assert!(
        bill["billed_input_tokens_without_headroom"].as_f64() > bill["billed_input_tokens"].as_f64(),
        "{bill}"
    );
    assert!(
        stats["bill"]["sessions"].as_array().is_some_and(|s| s.len() == 3),
        "one session per API: {}",
        stats["bill"]
    );
    for key in ["total", "overhead", "ttfb", "compression"] {
        assert!(stats["latency_ms"][key]["p99"].is_number(), "{key}: {}", stats["latency_ms"]);
    }
    assert_eq!(stats["persistent_savings"]["lifetime"]["requests"], 6);
    assert_eq!(stats["savings_history"].as_array().map(Vec::len), Some(6));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_requests_from_several_keys_are_all_counted() {
    let mock = start_mock().await;
    let dir = temp_dir("concurrent");
    let proxy = proxy_in(&mock.url, &dir).await;
    let log = log_output();
    let mut tasks = Vec::new();
    for i in 0..24 {
        let (url, log) = (proxy.url.clone(), log.clone());
        tasks.push(tokio::spawn(async move {
            let path = ["/v1/messages", "/v1/chat/completions", "/v1/responses"][i % 3];
            let r = post(&url, path, &request(path, i % 2 == 0, &log), &format!("sk-key-{}", i % 4)).await;
            assert_eq!(r.status(), 200);
            r.bytes().await.expect("body");
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let stats = wait_for_requests(&proxy.url, 24).await;
    assert_eq!(stats["requests"]["total"], 24);
    assert_eq!(stats["retrieval"]["rounds"], 24);
    assert_eq!(log_lines(&dir.join("requests.jsonl"), 24).await.len(), 24);
    let scopes: std::collections::HashSet<String> = log_lines(&dir.join("requests.jsonl"), 24)
        .await
        .iter()
        .filter_map(|l| l["key_scope"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(scopes.len(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_query_parameters_get_a_clear_400() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let bad = [
        ("/stats?foo=1", "unknown query parameter `foo`"),
        ("/stats?sessions=lots", "`sessions` must be an integer"),
        ("/stats?sessions=501", "`sessions` must be an integer"),
        ("/stats-history?history_mode=everything", "`history_mode` must be one of compact, full"),
        ("/stats-history?format=xml", "`format` must be one of json, csv"),
        ("/stats-history?format=csv&series=yearly", "`series` must be one of history, hourly"),
        ("/stats-history?format=csv&format=json", "given more than once"),
    ];
    for (path, message) in bad {
        let r = client().get(format!("{}{path}", proxy.url)).send().await.expect("get");
        assert_eq!(r.status(), 400, "{path}");
        let body: Value = r.json().await.expect("json");
        let text = body["error"]["message"].as_str().unwrap_or_default();
        assert!(text.contains(message), "{path}: {text}");
    }
    for ok in ["/stats?sessions=0", "/stats-history?history_mode=full", "/stats-history?series=weekly"] {
        let r = client().get(format!("{}{ok}", proxy.url)).send().await.expect("get");
        assert_eq!(r.status(), 200, "{ok}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn history_survives_a_restart_and_serves_rollups_and_csv() {
    let mock = start_mock().await;
    let dir = temp_dir("restart");
    let log = log_output();
    {
        let proxy = proxy_in(&mock.url, &dir).await;
        for path in ["/v1/messages", "/v1/chat/completions", "/v1/responses"] {
            post(&proxy.url, path, &request(path, false, &log), "sk-a").await.bytes().await.expect("body");
        }
        wait_for_requests(&proxy.url, 3).await;
        // The periodic write (every 50 ms here).
        let file = dir.join("proxy_savings.json");
        for _ in 0..100 {
            let saved: Value = std::fs::read(&file)
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or(Value::Null);
            if saved["lifetime"]["requests"] == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
    // A second proxy on the same file: the lifetime totals and the history are back.
    let proxy = proxy_in(&mock.url, &dir).await;
    let history = get_json(&format!("{}/stats-history", proxy.url)).await;
    assert_eq!(history["lifetime"]["requests"], 3, "{history}");
    assert!(history["lifetime"]["tokens_saved"].as_u64().unwrap_or(0) > 0);
    assert!(history["history_summary"]["stored_points"].as_u64() >= Some(1), "{history}");
    assert!(history["history"].as_array().is_some_and(|h| !h.is_empty()));
    for period in ["hourly", "daily", "weekly", "monthly"] {
        let buckets = history["series"][period].as_array().expect("rollup");
        let requests: u64 = buckets.iter().filter_map(|b| b["requests"].as_u64()).sum();
        assert_eq!(requests, 3, "{period}");
        assert!(buckets[0]["period_start"].as_str().is_some_and(|t| t.ends_with('Z')));
    }
    let r = client()
        .get(format!("{}/stats-history?format=csv&series=daily", proxy.url))
        .send()
        .await
        .expect("csv");
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(r.headers()["content-disposition"], "attachment; filename=\"headroom-daily.csv\"");
    let csv = r.text().await.expect("csv");
    assert!(csv.starts_with("period_start,requests,tokens_saved,"), "{csv}");
    assert!(csv.lines().nth(1).is_some_and(|l| l.split(',').nth(1) == Some("3")), "{csv}");
    let stats = get_json(&format!("{}/stats", proxy.url)).await;
    assert_eq!(stats["persistent_savings"]["lifetime"]["requests"], 3);
    let health = get_json(&format!("{}/health", proxy.url)).await;
    assert_eq!(health["checks"]["savings_history"]["status"], "healthy", "{health}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_history_file_is_set_aside_and_reported() {
    let mock = start_mock().await;
    let dir = temp_dir("corrupt");
    std::fs::write(dir.join("proxy_savings.json"), b"{\"lifetime\": {\"requests\": 3, tor").expect("write");
    let proxy = proxy_in(&mock.url, &dir).await;
    let health = get_json(&format!("{}/health", proxy.url)).await;
    let check = &health["checks"]["savings_history"];
    assert_eq!(check["status"], "degraded", "{health}");
    assert!(check["error"].as_str().is_some_and(|e| e.contains("moved to")), "{check}");
    let aside: Vec<_> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().contains(".corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1);
    // Requests are served and counted afresh.
    let r = post(&proxy.url, "/v1/messages", &request("/v1/messages", false, "short"), "sk-a").await;
    assert_eq!(r.status(), 200);
    let stats = wait_for_requests(&proxy.url, 1).await;
    assert_eq!(stats["persistent_savings"]["lifetime"]["requests"], 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_valid_prometheus_text() {
    let mock = start_mock().await;
    // Plugins: redact-secrets, and the faulty fixture, which errs on every block here (the
    // log asks it to) and is quarantined after three failures.
    let plugins = temp_dir("plugins");
    for (id, from) in
        [("redact-secrets", "target/plugins/redact-secrets"), ("faulty", "target/plugin-fixtures/faulty")]
    {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(from);
        assert!(from.join("plugin.wasm").is_file(), "{} is missing: run `just plugins`", from.display());
        std::fs::create_dir_all(plugins.join(id)).expect("plugin dir");
        for f in std::fs::read_dir(&from).expect("built plugin").filter_map(Result::ok) {
            std::fs::copy(f.path(), plugins.join(id).join(f.file_name())).expect("copy");
        }
    }
    let mut cfg = config(&mock.url);
    cfg.plugins_dir = Some(plugins.clone());
    let proxy = start_proxy(cfg).await;
    let log = format!("{}\nFAULT:error\n", log_output());
    for path in ["/v1/messages", "/v1/chat/completions", "/v1/responses"] {
        post(&proxy.url, path, &request(path, true, &log), "sk-a").await.bytes().await.expect("body");
    }
    // An upstream error is counted by kind.
    let r = client()
        .post(format!("{}/v1/messages", proxy.url))
        .header("x-mock-status", "429")
        .json(&request("/v1/messages", false, "short"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 429);
    wait_for_requests(&proxy.url, 4).await;
    let r = client()
        .get(format!("{}/metrics", proxy.url))
        .header("accept", "application/openmetrics-text;version=1.0.0,text/plain;q=0.5")
        .send()
        .await
        .expect("metrics");
    assert!(r.headers()["content-type"].to_str().unwrap_or_default().contains("openmetrics-text"));
    assert!(r.text().await.expect("text").ends_with("# EOF\n"));
    let r = client().get(format!("{}/metrics", proxy.url)).send().await.expect("metrics");
    assert_eq!(r.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    let text = r.text().await.expect("text");
    for name in [
        "headroom_requests_total{provider=\"anthropic\",model=\"claude-sonnet-4-5\",status=\"200\"} 1",
        "headroom_requests_total{provider=\"anthropic\",model=\"claude-sonnet-4-5\",status=\"429\"} 1",
        "headroom_errors_total{kind=\"rate_limited\"} 1",
        "headroom_retrieval_rounds_total{provider=\"openai\"} 2",
        "headroom_cache_write_tokens_total{provider=\"anthropic\",ttl=\"1h\"} 180",
        "headroom_request_duration_seconds_bucket{",
        "headroom_time_to_first_byte_seconds_bucket{",
        "headroom_overhead_seconds_count{provider=\"openai\"} 2",
        "headroom_compression_ratio_bucket{",
        "headroom_in_flight_requests 0",
        "headroom_originals_stored ",
        "headroom_tokens_saved_total{",
        "headroom_billed_input_tokens_without_headroom_total ",
        "headroom_plugin_calls_total{plugin=\"redact-secrets\"} ",
        "headroom_plugin_rewrites_total{plugin=\"redact-secrets\"} 0",
        "headroom_plugin_failures_total{plugin=\"faulty\"} 3",
        "headroom_plugin_rejected_total{plugin=\"faulty\"} 0",
        "headroom_plugin_quarantined{plugin=\"faulty\"} 1",
        "headroom_plugin_quarantined{plugin=\"redact-secrets\"} 0",
        "headroom_plugin_loads 1",
    ] {
        assert!(text.contains(name), "missing {name} in\n{text}");
    }
    assert!(!text.contains("sk-a"));
    let file = std::env::temp_dir().join(format!("headroom-metrics-{}.txt", std::process::id()));
    std::fs::write(&file, &text).expect("write");
    let out = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).expect("open"))
        .output()
        .expect("promtool not found: tests/all.sh installs the Debian package `prometheus`");
    let _ = std::fs::remove_file(&file);
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "promtool check metrics failed:\n{report}");
    assert!(report.trim().is_empty(), "promtool found problems:\n{report}");
    let _ = std::fs::remove_dir_all(&plugins);
}

/// A request too small for any block is forwarded without waiting on the engine: it is
/// accounted like any other, and only the compressible request shows an engine call.
#[tokio::test]
async fn a_request_nothing_can_touch_never_calls_the_engine() {
    let mock = start_mock().await;
    let dir = temp_dir("untouched");
    let proxy = proxy_in(&mock.url, &dir).await;
    let tiny = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]});
    post(&proxy.url, "/v1/chat/completions", &tiny, "sk-a").await.bytes().await.expect("body");
    let path = "/v1/chat/completions";
    post(&proxy.url, path, &request(path, false, &log_output()), "sk-a").await.bytes().await.expect("body");
    wait_for_requests(&proxy.url, 2).await;
    let text = get_text(&format!("{}/metrics", proxy.url)).await;
    assert!(text.contains(r#"headroom_requests_total{provider="openai""#), "{text}");
    let calls = text
        .lines()
        .find(|l| l.starts_with("headroom_compression_duration_seconds_count"))
        .unwrap_or_else(|| panic!("no compression histogram: {text}"));
    assert!(calls.ends_with(" 1"), "{calls}");
    let _ = std::fs::remove_dir_all(&dir);
}
