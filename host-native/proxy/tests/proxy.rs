//! The proxy against a mock upstream: every route, streaming, errors, compression,
//! retrieval and the design's invariants on the wire.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{compressible_chat, config, start_mock, start_proxy};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

#[tokio::test(flavor = "multi_thread")]
async fn i1_passthrough_is_byte_faithful_when_nothing_compresses() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    // Odd spacing, key order, number formats and unknown fields.
    let body = r#"{ "zeta":1.50, "model":"gpt-4o","messages":[{"role":"user","content":"hi"}] ,"x_unknown":[1e2,{"b":1,"a":2}]}"#;
    let r = client()
        .post(format!("{}/v1/chat/completions", proxy.url))
        .header("authorization", "Bearer sk-test")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers().get("x-request-id").map(|v| v.as_bytes()), Some(&b"req_mock_123"[..]));
    let hits = mock.hits();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].body.as_ref(), body.as_bytes(), "forwarded bytes differ");
    assert_eq!(hits[0].headers.get("authorization").map(|v| v.as_bytes()), Some(&b"Bearer sk-test"[..]));
}

#[tokio::test(flavor = "multi_thread")]
async fn compressible_requests_reach_the_upstream_smaller_on_every_route() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let chat = compressible_chat(false);
    let original = serde_json::to_vec(&chat).expect("json");
    let r =
        client().post(format!("{}/v1/chat/completions", proxy.url)).json(&chat).send().await.expect("send");
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.expect("json");
    assert_eq!(answer["choices"][0]["message"]["content"], "mock answer");
    let sent = &mock.hits()[0].body;
    assert!(sent.len() < original.len(), "{} !< {}", sent.len(), original.len());
    let sent: Value = serde_json::from_slice(sent).expect("upstream got valid JSON");
    assert_eq!(sent["messages"][2], chat["messages"][2], "the assistant turn is untouched");
    assert_eq!(sent["messages"][3]["tool_call_id"], "call_1");

    // The same output as an Anthropic tool_result and as a Responses function_call_output.
    let output = chat["messages"][3]["content"].clone();
    let anthropic = json!({"model": "claude-x", "max_tokens": 100, "messages": [
        {"role": "user", "content": "find it"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "bash", "input": {"command": "grep -rn compute_value_ src"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": output}]}
    ]});
    let responses = json!({"model": "gpt-5", "input": [
        {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{\"command\":\"grep -rn compute_value_ src\"}"},
        {"type": "function_call_output", "call_id": "c1", "output": output}
    ]});
    for (path, body) in [("/v1/messages", anthropic), ("/v1/responses", responses)] {
        let original = serde_json::to_vec(&body).expect("json").len();
        let r = client().post(format!("{}{path}", proxy.url)).json(&body).send().await.expect("send");
        assert_eq!(r.status(), 200, "{path}");
        let hit = mock.hits().into_iter().rev().find(|h| h.path == path).expect("forwarded");
        assert!(hit.body.len() < original, "{path}: {} !< {original}", hit.body.len());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_are_relayed_event_by_event() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    for (path, body) in [
        ("/v1/chat/completions", compressible_chat(true)),
        (
            "/v1/messages",
            json!({"model": "claude-x", "max_tokens": 10, "stream": true, "messages": [{"role": "user", "content": "hi"}]}),
        ),
    ] {
        let mut r = client()
            .post(format!("{}{path}", proxy.url))
            .header("x-mock-hold-last", "1")
            .json(&body)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers().get("content-type").map(|v| v.as_bytes()), Some(&b"text/event-stream"[..]));
        // The mock holds its last event until released: earlier events must already be here.
        let first =
            tokio::time::timeout(Duration::from_secs(3), r.chunk()).await.expect("first event in time");
        assert!(first.expect("chunk").is_some());
        mock.state.release.notify_one();
        let mut rest = Vec::new();
        while let Some(chunk) = r.chunk().await.expect("chunk") {
            rest.extend_from_slice(&chunk);
        }
        let tail = String::from_utf8(rest).expect("utf8");
        assert!(tail.contains("[DONE]") || tail.contains("message_stop"), "{path}: {tail}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_failures_arrive_in_the_provider_format() {
    // Connection refused: 502, in each provider's shape.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let dead = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let proxy = start_proxy(config(&dead)).await;
    let r = client()
        .post(format!("{}/v1/messages", proxy.url))
        .json(&json!({"messages": []}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 502);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["type"], "error");
    assert_eq!(v["error"]["type"], "api_error");
    let r = client()
        .post(format!("{}/v1/chat/completions", proxy.url))
        .json(&json!({"messages": []}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 502);
    let v: Value = r.json().await.expect("json");
    assert!(v["error"]["message"].as_str().expect("message").contains("upstream unreachable"));

    // Timeout: 504. Upstream 4xx: passed through as it is.
    let mock = start_mock().await;
    let mut cfg = config(&mock.url);
    cfg.upstream_timeout = Duration::from_millis(300);
    let proxy = start_proxy(cfg).await;
    let r = client()
        .post(format!("{}/v1/chat/completions", proxy.url))
        .header("x-mock-delay-ms", "2000")
        .json(&json!({"messages": []}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 504);
    let r = client()
        .post(format!("{}/v1/chat/completions", proxy.url))
        .header("x-mock-status", "429")
        .json(&json!({"messages": []}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers().get("retry-after").map(|v| v.as_bytes()), Some(&b"7"[..]));
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["message"], "mock says no");
}

#[tokio::test(flavor = "multi_thread")]
async fn other_paths_are_forwarded_untouched_and_bodies_are_limited() {
    let mock = start_mock().await;
    let mut cfg = config(&mock.url);
    cfg.max_body_bytes = 1000;
    let proxy = start_proxy(cfg).await;
    let r = client().get(format!("{}/v1/models?limit=5", proxy.url)).send().await.expect("send");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["data"][0]["id"], "gpt-mock");
    let hit = &mock.hits()[0];
    assert_eq!((hit.method.as_str(), hit.path.as_str()), ("GET", "/v1/models"));
    let r = client()
        .post(format!("{}/v1/messages/count_tokens", proxy.url))
        .header("anthropic-version", "2023-06-01")
        .header("anthropic-beta", "tools-2024")
        .body("{\"messages\":[]}")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let hit = mock.hits().pop().expect("hit");
    assert_eq!(hit.headers.get("anthropic-beta").map(|v| v.as_bytes()), Some(&b"tools-2024"[..]));
    assert_eq!(hit.body.as_ref(), b"{\"messages\":[]}");

    let big = "x".repeat(5000);
    let r = client().post(format!("{}/v1/messages", proxy.url)).body(big.clone()).send().await.expect("send");
    assert_eq!(r.status(), 413);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    // Passthrough routes stream their bodies, within the same limit: declared or counted.
    let r = client().post(format!("{}/v1/files", proxy.url)).body(big.clone()).send().await.expect("send");
    assert_eq!(r.status(), 413);
    let chunks = futures_util::stream::iter((0..5).map(|_| Ok::<_, std::io::Error>(vec![b'y'; 1000])));
    let r = client()
        .post(format!("{}/v1/files", proxy.url))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 413);
    let small = "z".repeat(900);
    let r = client().post(format!("{}/v1/files", proxy.url)).body(small.clone()).send().await.expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(mock.hits().pop().expect("hit").body.as_ref(), small.as_bytes());
}

#[tokio::test(flavor = "multi_thread")]
async fn compress_endpoint_validates_bypasses_and_stores_originals_per_tenant() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let chat = compressible_chat(false);
    let body = json!({"model": "gpt-4o", "messages": chat["messages"], "mode": "token"});
    let r = client()
        .post(format!("{}/v1/compress", proxy.url))
        .header("authorization", "Bearer tenant-a")
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    let (before, after) = (v["tokens_before"].as_u64().expect("n"), v["tokens_after"].as_u64().expect("n"));
    assert!(after < before, "{v}");
    assert_eq!(v["tokens_saved"].as_u64(), Some(before - after));
    assert!(v["transforms_applied"].as_array().is_some_and(|t| !t.is_empty()));
    assert_eq!(v["messages"].as_array().map(Vec::len), Some(4));
    assert!(mock.hits().is_empty(), "no model was called");

    for (payload, field) in [
        (json!({"model": "m"}), "messages"),
        (json!({"messages": [], "model": 3}), "model"),
        (json!({"messages": 3, "model": "m"}), "messages"),
        (json!({"messages": [1]}), "messages[0]"),
        (json!({"messages": [], "format": "gemini"}), "format"),
        (json!({"messages": [], "mode": "fast"}), "mode"),
        (json!([]), "JSON object"),
    ] {
        let r =
            client().post(format!("{}/v1/compress", proxy.url)).json(&payload).send().await.expect("send");
        assert_eq!(r.status(), 400);
        let v: Value = r.json().await.expect("json");
        assert!(v["error"]["message"].as_str().expect("msg").contains(field), "{v}");
    }
    let r = client()
        .post(format!("{}/v1/compress", proxy.url))
        .header("x-headroom-bypass", "true")
        .json(&body)
        .send()
        .await
        .expect("send");
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["messages"], chat["messages"]);
    assert_eq!(v["tokens_saved"], 0);

    // Lossy compression through the proxy route stores the original for that tenant only.
    let big_log: String = (0..300)
        .map(|i| format!("2026-01-01T00:00:{:02} INFO request {i} served in {}ms\n", i % 60, i % 17))
        .collect();
    let chat = json!({"model": "gpt-4o", "messages": [
        {"role": "user", "content": "check the log"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": big_log}
    ]});
    let r = client()
        .post(format!("{}/v1/chat/completions", proxy.url))
        .header("authorization", "Bearer tenant-a")
        .json(&chat)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let sent: Value = serde_json::from_slice(&mock.hits().pop().expect("hit").body).expect("json");
    let text = sent["messages"][2]["content"].as_str().expect("text").to_owned();
    let key = text
        .split("headroom_retrieve(\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a marker")
        .to_owned();
    let get = |auth: &'static str| {
        let url = format!("{}/v1/retrieve/{key}", proxy.url);
        async move { client().get(url).header("authorization", auth).send().await.expect("send") }
    };
    let r = get("Bearer tenant-a").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["original"].as_str(), Some(big_log.as_str()));
    assert_eq!(get("Bearer tenant-b").await.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn compress_endpoint_requires_the_configured_key() {
    let mock = start_mock().await;
    let mut cfg = config(&mock.url);
    cfg.api_key = Some("secret".into());
    let proxy = start_proxy(cfg).await;
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let url = format!("{}/v1/compress", proxy.url);
    assert_eq!(client().post(&url).json(&body).send().await.expect("send").status(), 401);
    assert_eq!(
        client().post(&url).bearer_auth("wrong").json(&body).send().await.expect("send").status(),
        401
    );
    assert_eq!(
        client().post(&url).bearer_auth("secret").json(&body).send().await.expect("send").status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn health_endpoints_report_readiness_and_config() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    for path in ["/livez", "/readyz", "/health"] {
        let r = client().get(format!("{}{path}", proxy.url)).send().await.expect("send");
        assert_eq!(r.status(), 200, "{path}");
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["service"], "headroom-proxy");
        assert_eq!(v["status"], "healthy");
        assert!(v["uptime_seconds"].as_f64().is_some());
    }
    let v: Value =
        client().get(format!("{}/health", proxy.url)).send().await.expect("send").json().await.expect("json");
    assert_eq!(v["config"]["mode"], "cache");
    assert_eq!(v["checks"]["engine"]["ready"], true);

    // Not ready until the component is loaded.
    let mut cfg = config(&mock.url);
    cfg.component = "/nonexistent/headroom-core.wasm".into();
    let state = headroom_proxy::AppState::new(cfg).expect("state");
    state.load_component();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(headroom_proxy::app::serve(listener, state, std::future::pending()));
    let r = client().get(format!("{url}/readyz")).send().await.expect("send");
    assert_eq!(r.status(), 503);
    // Without an engine, requests still go through, untouched.
    let body = serde_json::to_vec(&compressible_chat(false)).expect("json");
    let r =
        client().post(format!("{url}/v1/chat/completions")).body(body.clone()).send().await.expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(mock.hits().pop().expect("hit").body.as_ref(), &body[..]);
}

#[tokio::test(flavor = "multi_thread")]
async fn sequential_requests_on_one_connection_add_no_nagle_delay() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let c = reqwest::Client::builder().pool_max_idle_per_host(1).build().expect("client");
    let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
    let _ = c.post(format!("{}/v1/chat/completions", proxy.url)).json(&body).send().await.expect("warm");
    let start = Instant::now();
    for _ in 0..20 {
        let r = c.post(format!("{}/v1/chat/completions", proxy.url)).json(&body).send().await.expect("send");
        assert_eq!(r.status(), 200);
        let _ = r.bytes().await.expect("body");
    }
    // 20 requests with a 40 ms delayed-ACK stall each would take 800 ms or more.
    assert!(start.elapsed() < Duration::from_millis(400), "{:?}", start.elapsed());
}
