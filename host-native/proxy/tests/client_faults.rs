//! Clients that misbehave: many connections that send nothing, and a reader slower than the
//! upstream. Neither may cost other clients their answers. (A client leaving mid-stream is
//! `cancel.rs`.)

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::faulty::{self, Behaviour, Script};
use support::{config, start_mock, start_proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client")
}

/// The median time of `n` ordinary chat requests, each of which must succeed.
async fn median_latency(url: &str, n: usize) -> Duration {
    let client = client();
    let mut times = Vec::new();
    for _ in 0..n {
        let started = Instant::now();
        let r = client
            .post(format!("{url}/v1/chat/completions"))
            .json(&json!({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200);
        r.text().await.expect("body");
        times.push(started.elapsed());
    }
    times.sort();
    times[n / 2]
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_idle_connections_do_not_slow_other_requests() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let before = median_latency(&proxy.url, 21).await;
    // Half send nothing at all, half stop in the middle of a request head.
    let mut idle = Vec::new();
    for i in 0..200 {
        let mut tcp = TcpStream::connect(proxy.addr).await.expect("connect");
        if i % 2 == 1 {
            tcp.write_all(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n").await.expect("write");
        }
        idle.push(tcp);
    }
    let during = median_latency(&proxy.url, 21).await;
    // Latency is a benchmark's business; this only catches a proxy that serialises behind
    // idle connections (seconds, not milliseconds).
    assert!(
        during < before * 10 + Duration::from_millis(50),
        "median {before:?} before, {during:?} with 200 idle"
    );
    drop(idle);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_reader_gets_every_byte_while_others_are_served() {
    // A 4 MB event stream, read at about 1 MB/s by one client.
    let delta = "x".repeat(4000);
    let mut stream = String::new();
    for _ in 0..1000 {
        let chunk = json!({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o",
            "choices": [{"index": 0, "delta": {"content": delta}, "finish_reason": null}]});
        stream.push_str(&format!("data: {chunk}\n\n"));
    }
    stream.push_str("data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n");
    let script = Script { events: Vec::new(), json: "{}".into() };
    let upstream = faulty::start(Behaviour::Split(stream.clone().into_bytes()), script).await;
    let mut cfg = config(&upstream.url);
    cfg.stream_idle_timeout = Duration::from_secs(5);
    let proxy = start_proxy(cfg).await;

    let body = r#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let mut slow = TcpStream::connect(proxy.addr).await.expect("connect");
    let head = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         connection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    slow.write_all(head.as_bytes()).await.expect("write");
    let reader = tokio::spawn(async move {
        let mut got = Vec::new();
        let mut buf = vec![0u8; 16 << 10];
        loop {
            let n = slow.read(&mut buf).await.expect("read");
            if n == 0 {
                return got;
            }
            got.extend_from_slice(&buf[..n]);
            tokio::time::sleep(Duration::from_millis(15)).await;
        }
    });
    // Meanwhile another upstream serves ordinary requests through another proxy sharing
    // nothing but the process: they must not wait for the slow reader.
    let mock = start_mock().await;
    let other = start_proxy(config(&mock.url)).await;
    let during = median_latency(&other.url, 11).await;
    assert!(during < Duration::from_secs(1), "{during:?}");
    let got =
        tokio::time::timeout(Duration::from_secs(60), reader).await.expect("slow reader done").expect("join");
    let text = String::from_utf8_lossy(&got);
    let body_at = text.find("\r\n\r\n").expect("head") + 4;
    let dechunked = dechunk(&got[body_at..]);
    assert_eq!(dechunked.len(), stream.len());
    assert!(dechunked == stream.as_bytes(), "the slow reader's stream changed");
}

/// The body of a chunked HTTP/1.1 response.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n").expect("chunk size line");
        let size = usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).expect("ascii").trim(), 16)
            .expect("hex size");
        raw = &raw[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}
