//! A client that goes away cancels its upstream request: the proxy drops the provider
//! connection promptly instead of paying for an answer nobody will read.

mod support;

use std::time::Duration;

use support::{config, start_mock, start_proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long the mock's delayed answer takes: only a cancellation can end the upstream request
/// before then. (A held stream ends by itself after 5 s; it then counts as finished, never as
/// aborted, so a late cancellation cannot pass for one.)
const ANSWER_DELAY_MS: u64 = 60_000;

/// The bound a cancellation must meet. Anything well below the mock's own end proves the
/// proxy let go; it is generous because a loaded CI machine (2 cores, several builds) can
/// stall a test process for seconds.
const PROMPTLY: Duration = Duration::from_secs(10);

/// How long the request may take to reach the upstream (not what the test proves).
const ARRIVAL: Duration = Duration::from_secs(30);

/// A raw HTTP/1.1 request, so the test controls exactly when the client's socket closes.
async fn open_request(addr: std::net::SocketAddr, path: &str, body: &str, extra: &str) -> TcpStream {
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         authorization: Bearer sk-test\r\nx-api-key: sk-test\r\n{extra}content-length: {}\r\n\r\n",
        body.len()
    );
    tcp.write_all(head.as_bytes()).await.expect("write head");
    tcp.write_all(body.as_bytes()).await.expect("write body");
    tcp
}

/// Read until `needle` has arrived (or fail after 5 s).
async fn read_until(tcp: &mut TcpStream, needle: &str) -> String {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let found = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let n = tcp.read(&mut buf).await.expect("read");
            assert!(n > 0, "connection closed before {needle:?}: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&seen).contains(needle) {
                return;
            }
        }
    })
    .await;
    let seen = String::from_utf8_lossy(&seen).into_owned();
    assert!(found.is_ok(), "no {needle:?} within 5 s: {seen}");
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_leaving_mid_stream_cancels_the_upstream_stream() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    for (path, body, first_event) in [
        (
            "/v1/messages",
            r#"{"model":"claude-x","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
            "message_start",
        ),
        (
            "/v1/chat/completions",
            r#"{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}"#,
            "chat.completion.chunk",
        ),
    ] {
        let before = mock.state.aborted.load(std::sync::atomic::Ordering::SeqCst);
        let mut tcp = open_request(proxy.addr, path, body, "x-mock-hold-last: 1\r\n").await;
        let seen = read_until(&mut tcp, first_event).await;
        assert!(seen.starts_with("HTTP/1.1 200"), "{path}: {seen}");
        assert!(mock.wait_for(ARRIVAL, |in_flight, _| in_flight == 1).await, "{path}: upstream streaming");
        drop(tcp);
        assert!(
            mock.wait_for(PROMPTLY, |in_flight, aborted| in_flight == 0 && aborted == before + 1).await,
            "{path}: the upstream stream was not dropped within {PROMPTLY:?} of the client leaving"
        );
    }
    assert_still_serving(&proxy.url).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_leaving_before_the_answer_cancels_the_upstream_request() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    for path in ["/v1/messages", "/v1/chat/completions", "/v1/models-not-compressed"] {
        let before = mock.state.aborted.load(std::sync::atomic::Ordering::SeqCst);
        let hits = mock.hits().len();
        let body = r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#;
        let delay = format!("x-mock-delay-ms: {ANSWER_DELAY_MS}\r\n");
        let tcp = open_request(proxy.addr, path, body, &delay).await;
        // The whole request must have reached the upstream (its body read, the answer being
        // delayed): a client leaving while the proxy still streams the body upstream is a
        // different case, one the upstream may answer anyway.
        let arrived = tokio::time::timeout(ARRIVAL, async {
            while mock.hits().len() == hits {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(arrived.is_ok(), "{path}: the request never reached the upstream");
        assert!(mock.wait_for(ARRIVAL, |in_flight, _| in_flight == 1).await, "{path}: not in flight");
        let left = std::time::Instant::now();
        drop(tcp);
        assert!(
            mock.wait_for(PROMPTLY, |in_flight, aborted| in_flight == 0 && aborted == before + 1).await,
            "{path}: the upstream request was not dropped within {PROMPTLY:?} of the client leaving"
        );
        assert!(left.elapsed() < Duration::from_millis(ANSWER_DELAY_MS), "{path}: answered, not cancelled");
    }
    assert_still_serving(&proxy.url).await;
}

/// Cancelled connections leave nothing behind: the next request is answered.
async fn assert_still_serving(url: &str) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let r = reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .body(r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#)
        .header("content-type", "application/json")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
}
