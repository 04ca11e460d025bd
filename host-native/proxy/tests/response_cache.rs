//! The response cache against the mock upstream: identical requests answered once upstream,
//! JSON replayed byte for byte and streams replayed event for event; partial streams, errors
//! and opted-out requests never stored; nothing shared across keys.

mod support;

use std::time::Duration;

use headroom_proxy::cache::CacheConfig;
use serde_json::{Value, json};
use support::binary::{get_json, get_text};
use support::{config, start_mock, start_proxy};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

fn cached(upstream: &str) -> headroom_proxy::ProxyConfig {
    let cache = CacheConfig { enabled: true, ttl: Duration::from_secs(60), max_bytes: 8 << 20 };
    headroom_proxy::ProxyConfig { cache, ..config(upstream) }
}

fn messages(stream: bool) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 16, "stream": stream,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "What is 2+2?",
            "cache_control": {"type": "ephemeral"}}]}]})
}

async fn send(
    c: &reqwest::Client,
    url: &str,
    path: &str,
    key: &str,
    body: &Value,
    extra: &[(&str, &str)],
) -> Result<(u16, reqwest::header::HeaderMap, String), reqwest::Error> {
    let mut r =
        c.post(format!("{url}{path}")).header("x-api-key", key).header("anthropic-version", "2023-06-01");
    for (k, v) in extra {
        r = r.header(*k, *v);
    }
    let resp = r.json(body).send().await?;
    let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
    Ok((status, headers, resp.text().await?))
}

fn upstream_calls(mock: &support::Mock) -> usize {
    mock.hits().iter().filter(|h| !h.path.starts_with("/__mock")).count()
}

/// Wait for the cache to hold `n` entries (a stored answer lands when its body ends).
async fn stored(c: &reqwest::Client, url: &str, n: u64) -> Value {
    for _ in 0..200 {
        let s: Value =
            c.get(format!("{url}/stats")).send().await.expect("test value").json().await.expect("test value");
        if s["response_cache"]["stores"].as_u64() >= Some(n) {
            return s["response_cache"].clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("answer not stored");
}

#[tokio::test]
async fn json_answers_are_replayed_byte_for_byte_with_one_upstream_call() {
    let mock = start_mock().await;
    let proxy = start_proxy(cached(&mock.url)).await;
    let c = client();
    let (s1, h1, first) =
        send(&c, &proxy.url, "/v1/messages", "k", &messages(false), &[]).await.expect("test value");
    assert_eq!(s1, 200);
    assert!(!h1.contains_key("x-headroom-cache"));
    stored(&c, &proxy.url, 1).await;
    // The same request with its cache_control marker moved away and its top-level members
    // reordered.
    let same = json!({"messages": [{"role": "user", "content": [{"type": "text", "text": "What is 2+2?"}]}],
        "stream": false, "max_tokens": 16, "model": "claude-sonnet-4-5"});
    let (s2, h2, second) = send(&c, &proxy.url, "/v1/messages", "k", &same, &[]).await.expect("test value");
    assert_eq!(s2, 200);
    assert_eq!(h2["x-headroom-cache"], "hit");
    assert_eq!(h2["content-type"], h1["content-type"]);
    assert_eq!(first, second, "not replayed byte for byte");
    assert_eq!(upstream_calls(&mock), 1);
    let stats: Value = get_json(&format!("{}/stats", proxy.url)).await;
    let rc = &stats["response_cache"];
    assert_eq!(
        (rc["hits"].as_u64(), rc["misses"].as_u64(), rc["entries"].as_u64()),
        (Some(1), Some(1), Some(1)),
        "{rc}"
    );
    assert!(rc["bytes"].as_u64().expect("test value") > first.len() as u64);
    let m = get_text(&format!("{}/metrics", proxy.url)).await;
    assert!(m.contains("headroom_response_cache_hits_total 1"), "{m}");
    assert!(m.contains("headroom_response_cache_misses_total 1"), "{m}");
}

#[tokio::test]
async fn streamed_answers_are_replayed_as_the_same_stream() {
    let mock = start_mock().await;
    let proxy = start_proxy(cached(&mock.url)).await;
    let c = client();
    let chat = json!({"model": "gpt-4o", "stream": true, "messages": [{"role": "user", "content": "hi"}]});
    for (n, (path, body)) in
        [("/v1/messages", messages(true)), ("/v1/chat/completions", chat)].into_iter().enumerate()
    {
        let (_, h1, first) = send(&c, &proxy.url, path, "k", &body, &[]).await.expect("test value");
        assert!(h1["content-type"].to_str().expect("test value").starts_with("text/event-stream"));
        stored(&c, &proxy.url, n as u64 + 1).await;
        let (s2, h2, second) = send(&c, &proxy.url, path, "k", &body, &[]).await.expect("test value");
        assert_eq!(s2, 200);
        assert_eq!(h2["x-headroom-cache"], "hit");
        assert!(h2["content-type"].to_str().expect("test value").starts_with("text/event-stream"));
        let events =
            |t: &str| t.split("\n\n").filter(|e| !e.is_empty()).map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(events(&first), events(&second), "{path}: SSE events differ");
        assert!(events(&second).len() >= 4, "{second}");
        assert_eq!(upstream_calls(&mock), n + 1, "{path}: the upstream was called again");
    }
}

#[tokio::test]
async fn partial_streams_errors_and_opt_outs_are_never_stored() {
    let mock = start_mock().await;
    let proxy = start_proxy(cached(&mock.url)).await;
    let c = client();
    let usage = json!({"input_tokens": 10, "output_tokens": 2}).to_string();
    // A stream the upstream drops mid-answer.
    let cut = [("x-mock-usage", usage.as_str()), ("x-mock-cut", "1")];
    for _ in 0..2 {
        let partial = send(&c, &proxy.url, "/v1/messages", "k", &messages(true), &cut).await;
        assert!(partial.is_err() || !partial.as_ref().expect("test value").2.contains("message_stop"));
    }
    assert_eq!(upstream_calls(&mock), 2, "a partial stream was served from the cache");
    // Errors.
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "error"}]});
    for _ in 0..2 {
        let (s, ..) = send(&c, &proxy.url, "/v1/chat/completions", "k", &body, &[("x-mock-status", "500")])
            .await
            .expect("test value");
        assert_eq!(s, 500);
    }
    assert_eq!(upstream_calls(&mock), 4, "an error was served from the cache");
    // Opt-outs: neither served nor stored.
    let body = json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "opt out"}]});
    for header in [("cache-control", "no-store"), ("headroom-cache", "off")] {
        for _ in 0..2 {
            let (s, h, _) = send(&c, &proxy.url, "/v1/chat/completions", "k", &body, &[header])
                .await
                .expect("test value");
            assert_eq!(s, 200);
            assert!(!h.contains_key("x-headroom-cache"));
        }
    }
    assert_eq!(upstream_calls(&mock), 8);
    let stats: Value = get_json(&format!("{}/stats", proxy.url)).await;
    let rc = &stats["response_cache"];
    assert_eq!(rc["stores"], 0, "{rc}");
    assert_eq!(rc["skipped_opt_out"], 4, "{rc}");
    assert!(rc["not_stored"].as_u64().expect("test value") >= 4, "{rc}");
}

#[tokio::test]
async fn answers_are_not_shared_across_keys() {
    let mock = start_mock().await;
    let proxy = start_proxy(cached(&mock.url)).await;
    let c = client();
    let (_, _, a) =
        send(&c, &proxy.url, "/v1/messages", "key-a", &messages(false), &[]).await.expect("test value");
    stored(&c, &proxy.url, 1).await;
    let (_, hb, _) =
        send(&c, &proxy.url, "/v1/messages", "key-b", &messages(false), &[]).await.expect("test value");
    assert!(!hb.contains_key("x-headroom-cache"), "key-b was served key-a's answer");
    assert_eq!(upstream_calls(&mock), 2);
    let (_, ha, again) =
        send(&c, &proxy.url, "/v1/messages", "key-a", &messages(false), &[]).await.expect("test value");
    assert_eq!(ha["x-headroom-cache"], "hit");
    assert_eq!(a, again);
    assert_eq!(upstream_calls(&mock), 2);
}

/// Wait for the request log to hold `n` lines.
async fn log_lines(path: &std::path::Path, n: usize) -> Vec<Value> {
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

#[tokio::test]
async fn a_cache_hit_is_a_request_in_stats_metrics_and_the_log_billed_nothing() {
    let mock = start_mock().await;
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("headroom-cache-hit-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let observe = headroom_proxy::observe_args::ObserveConfig {
        log_file: Some(dir.join("requests.jsonl")),
        log_full_messages: false,
        savings_path: Some(dir.join("proxy_savings.json")),
        savings_flush: Duration::from_millis(50),
        telemetry: Default::default(),
    };
    let proxy = start_proxy(headroom_proxy::ProxyConfig { observe, ..cached(&mock.url) }).await;
    let c = client();
    let (s1, _, _) = send(&c, &proxy.url, "/v1/messages", "k", &messages(false), &[]).await.expect("sent");
    stored(&c, &proxy.url, 1).await;
    let (s2, h2, _) = send(&c, &proxy.url, "/v1/messages", "k", &messages(false), &[]).await.expect("sent");
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(h2["x-headroom-cache"], "hit");
    assert!(h2.contains_key("x-headroom-request-id"), "a hit has a request id like any request");
    assert_eq!(upstream_calls(&mock), 1);

    let lines = log_lines(&dir.join("requests.jsonl"), 2).await;
    let (miss, hit) = (&lines[0], &lines[1]);
    assert_eq!(miss["cache_hit"], false, "{miss}");
    assert_eq!(hit["cache_hit"], true, "{hit}");
    assert_eq!(hit["status"], 200);
    assert_eq!(hit["model"], "claude-sonnet-4-5");
    assert_eq!(hit["provider"], "anthropic");
    assert!(hit["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0), "{hit}");
    assert!(miss["usage"]["uncached_input"].as_u64().is_some_and(|n| n > 0), "{miss}");
    // Nothing went upstream: billed nothing, whatever the stored answer says it cost.
    for field in ["uncached_input", "cache_read", "cache_write_5m", "cache_write_1h", "output"] {
        assert_eq!(hit["usage"][field], 0, "{field}: {hit}");
    }
    assert!(hit["bill"].is_null(), "{hit}");

    let stats: Value = get_json(&format!("{}/stats", proxy.url)).await;
    let r = &stats["requests"];
    assert_eq!((r["total"].as_u64(), r["cache_hits"].as_u64()), (Some(2), Some(1)), "{r}");
    assert_eq!(r["by_status"]["200"], 2, "{r}");
    assert_eq!(r["by_model"]["claude-sonnet-4-5"], 2, "{r}");
    let m = get_text(&format!("{}/metrics", proxy.url)).await;
    assert!(
        m.contains(
            "headroom_requests_total{provider=\"anthropic\",model=\"claude-sonnet-4-5\",status=\"200\"} 2"
        ),
        "{m}"
    );
    assert!(m.contains("headroom_request_duration_seconds_count{provider=\"anthropic\"} 2"), "{m}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_json_answer_keeps_its_length_with_the_cache_on_and_off() {
    let mock = start_mock().await;
    for (config, cache_on) in [(cached(&mock.url), true), (config(&mock.url), false)] {
        let proxy = start_proxy(config).await;
        let c = client();
        for round in 0..2 {
            let (status, headers, body) =
                send(&c, &proxy.url, "/v1/messages", "k", &messages(false), &[]).await.expect("sent");
            assert_eq!(status, 200);
            // Re-chunking an answer of known length costs a write and a packet per request.
            assert!(!headers.contains_key("transfer-encoding"), "{headers:?}");
            assert_eq!(headers["content-length"], body.len().to_string().as_str(), "{headers:?}");
            assert_eq!(headers.contains_key("x-headroom-cache"), cache_on && round == 1, "{headers:?}");
            if cache_on && round == 0 {
                stored(&c, &proxy.url, 1).await;
            }
        }
    }
}
