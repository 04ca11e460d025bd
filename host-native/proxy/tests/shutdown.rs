//! Graceful shutdown of the `headroom` binary: on SIGTERM a stream in flight finishes intact
//! while new connections are refused, what was buffered (request log, savings history, spend)
//! is on disk, and the process exits 0; `/readyz` answers 503 during the shutdown delay while
//! requests are still served; a stream longer than the grace is cut at the grace, and the
//! process still exits 0.

mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde_json::{Value, json};
use support::binary::{Binary, client, temp_dir};
use support::start_mock;

async fn spawn(upstream: &str, dir: &std::path::Path, extra: &[&str]) -> Binary {
    let dir = dir.to_str().expect("path");
    let log = format!("{dir}/requests.jsonl");
    let mut args =
        vec!["proxy", "--port", "0", "--anthropic-api-url", upstream, "--openai-api-url", upstream];
    // The periodic savings write is out of the way: only the shutdown's write can put the last
    // request in the file.
    args.extend(["--workspace-dir", dir, "--log-file", &log, "--savings-flush-ms", "600000"]);
    args.extend(extra);
    support::binary::start(&args, &[]).await
}

/// A priced streaming request whose last event the mock holds until released (or 5 s).
fn held_stream(url: &str) -> reqwest::RequestBuilder {
    client()
        .post(format!("{url}/v1/messages"))
        .header("x-mock-hold-last", "1")
        .header("x-mock-usage", r#"{"input_tokens": 1000, "output_tokens": 500}"#)
        .json(&json!({"model": "claude-sonnet-4-5", "max_tokens": 16, "stream": true,
            "messages": [{"role": "user", "content": "hello"}]}))
}

/// Whether a TCP connection to `addr` is refused within `limit`.
async fn refused_within(addr: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// `headroom health-check URL`'s exit code.
fn health_check(url: &str) -> Option<i32> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["health-check", url])
        .output()
        .expect("run health-check");
    out.status.code()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_a_stream_finish_refuses_new_connections_and_flushes() {
    let mock = start_mock().await;
    let dir = temp_dir("drain");
    let mut proxy = spawn(&mock.url, &dir, &[]).await;
    let response = held_stream(&proxy.url).send().await.expect("send");
    assert_eq!(response.status(), 200);
    let mut body = response.bytes_stream();
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("message_delta") {
        got.extend_from_slice(&body.next().await.expect("a chunk").expect("bytes"));
    }
    proxy.signal("TERM");
    assert!(refused_within(&proxy.addr(), Duration::from_secs(5)).await, "the listener stayed open");
    assert!(proxy.child.try_wait().expect("wait").is_none(), "exited with a stream in flight");
    mock.state.release.notify_waiters();
    while let Some(chunk) = body.next().await {
        got.extend_from_slice(&chunk.expect("the stream ended cleanly"));
    }
    let text = String::from_utf8(got).expect("utf-8");
    assert!(text.trim_end().ends_with("data: {\"type\":\"message_stop\"}"), "stream cut: {text}");
    assert_eq!(text.matches("event: ").count(), 6, "{text}");
    let status = proxy.wait_exit(Duration::from_secs(10)).expect("the proxy exited");
    assert_eq!(status.code(), Some(0), "{}", proxy.stderr());

    let log = std::fs::read_to_string(dir.join("requests.jsonl")).expect("request log");
    let line: Value = serde_json::from_str(log.lines().last().expect("a line")).expect("json");
    assert_eq!(line["path"], "/v1/messages", "{line}");
    let history: Value =
        serde_json::from_slice(&std::fs::read(dir.join("proxy_savings.json")).expect("history"))
            .expect("json");
    assert_eq!(history["lifetime"]["requests"], 1, "{history}");
    let spend: Value =
        serde_json::from_slice(&std::fs::read(dir.join("proxy_spend.json")).expect("spend")).expect("json");
    // 1000 input and 500 output tokens of Sonnet 4.5 at $3 and $15 per million.
    assert!((spend["total_usd"].as_f64().expect("total") - 0.0105).abs() < 1e-9, "{spend}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn readyz_answers_503_during_the_delay_while_requests_are_served() {
    let mock = start_mock().await;
    let dir = temp_dir("delay");
    let mut proxy = spawn(&mock.url, &dir, &["--shutdown-delay-secs", "2"]).await;
    let readyz = format!("{}/readyz", proxy.url);
    assert_eq!(health_check(&readyz), Some(0), "the container health check passes while ready");
    let signalled = Instant::now();
    proxy.signal("TERM");
    let mut draining = None;
    for _ in 0..100 {
        let r = client().get(format!("{}/readyz", proxy.url)).send().await.expect("readyz");
        if r.status() == 503 {
            draining = Some(r.json::<Value>().await.expect("json"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let draining = draining.expect("/readyz turned 503");
    assert_eq!((draining["status"].as_str(), draining["draining"].as_bool()), (Some("draining"), Some(true)));
    assert_eq!(health_check(&readyz), Some(1), "the container health check fails while draining");
    let live = client().get(format!("{}/livez", proxy.url)).send().await.expect("livez");
    assert_eq!(live.status(), 200);
    let r = client()
        .post(format!("{}/v1/chat/completions", proxy.url))
        .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .expect("served while draining");
    assert_eq!(r.status(), 200);
    assert!(signalled.elapsed() < Duration::from_millis(1800), "the checks took longer than the delay");
    assert!(refused_within(&proxy.addr(), Duration::from_secs(5)).await, "the listener stayed open");
    assert!(signalled.elapsed() >= Duration::from_millis(1900), "closed before the delay");
    let status = proxy.wait_exit(Duration::from_secs(10)).expect("the proxy exited");
    assert_eq!(status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_longer_than_the_grace_is_cut_and_the_process_exits() {
    let mock = start_mock().await;
    let dir = temp_dir("grace");
    let mut proxy = spawn(&mock.url, &dir, &["--shutdown-grace-secs", "1"]).await;
    let response = held_stream(&proxy.url).send().await.expect("send");
    let mut body = response.bytes_stream();
    let mut got = Vec::new();
    while !String::from_utf8_lossy(&got).contains("message_delta") {
        got.extend_from_slice(&body.next().await.expect("a chunk").expect("bytes"));
    }
    let signalled = Instant::now();
    proxy.signal("TERM");
    // The mock holds the last event for 5 s: the proxy must not wait that long.
    let status = proxy.wait_exit(Duration::from_secs(4)).expect("the proxy exited within the grace");
    let took = signalled.elapsed();
    assert_eq!(status.code(), Some(0), "{}", proxy.stderr());
    assert!(took >= Duration::from_millis(900), "cut before the grace: {took:?}");
    let mut ended_cleanly = true;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(c) => got.extend_from_slice(&c),
            Err(_) => {
                ended_cleanly = false;
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert!(!text.contains("message_stop"), "the held event arrived: {text}");
    assert!(!ended_cleanly, "a cut stream must not look complete to the client");
    assert!(proxy.stderr().contains("shutdown grace over"), "{}", proxy.stderr());
    let _ = std::fs::remove_dir_all(&dir);
}
