//! `POST /v1/messages/count_tokens` counts the body as `/v1/messages` would forward it: the
//! same compressed messages and the same tools (the retrieval tool included), with nothing
//! stored; `--no-count-tokens-compression` and the bypass header keep the passthrough.

mod support;

use serde_json::{Value, json};
use support::{Mock, Proxy, config, start_mock, start_proxy};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

/// An agent's long, repetitive log with one error: compressed lossily, behind a marker.
fn log() -> String {
    let mut lines: Vec<String> = (0..400)
        .map(|i| {
            format!(
                "2026-01-01 12:{:02}:{:02},{:03} INFO [worker-{}] processed batch {i} in {} ms",
                i / 60 % 60,
                i % 60,
                i * 7 % 1000,
                i % 4,
                i % 7 + 1
            )
        })
        .collect();
    lines
        .insert(250, "2026-01-01 12:04:10,750 ERROR [worker-2] batch 250 failed: disk quota exceeded".into());
    lines.join("\n")
}

/// A Claude Code turn: tools, system prompt, a Bash call and its output. `/v1/messages`
/// bodies carry `max_tokens` (and may stream); `count_tokens` bodies carry neither.
fn conversation() -> Value {
    json!({
        "model": "claude-sonnet-4-5",
        "system": [{"type": "text", "text": "You are Claude Code."}],
        "tools": [{"name": "Bash", "description": "Run a command", "input_schema": {"type": "object",
            "properties": {"command": {"type": "string"}}, "required": ["command"]}}],
        "messages": [
            {"role": "user", "content": "Why did the batch job fail?"},
            {"role": "assistant", "content": [
                {"type": "text", "text": "Let me read the log."},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "cat job.log"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": log()}]}
        ]
    })
}

fn messages_body() -> Value {
    let mut body = conversation();
    body["max_tokens"] = json!(32_000);
    body["stream"] = json!(false);
    body
}

/// POST `body` to `path` and return what the upstream received (its raw bytes).
async fn send(proxy: &Proxy, mock: &Mock, path: &str, body: &[u8], headers: &[(&str, &str)]) -> bytes::Bytes {
    let before = mock.hits().len();
    let mut request = client()
        .post(format!("{}{path}", proxy.url))
        .header("x-api-key", "sk-count")
        .header("anthropic-version", "2023-06-01")
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let r = request.send().await.expect("send");
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let v: Value = r.json().await.expect("the upstream's answer, relayed");
    let hits = mock.hits();
    assert!(hits.len() > before, "forwarded");
    let hit = hits.last().expect("hit");
    assert_eq!(hit.path, path.split('?').next().expect("path"));
    if path.contains("count_tokens") {
        assert_eq!(v["echo"], "/v1/messages/count_tokens");
    }
    hit.body.clone()
}

async fn health(proxy: &Proxy) -> Value {
    client().get(format!("{}/health", proxy.url)).send().await.expect("send").json().await.expect("json")
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("valid JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn count_tokens_counts_the_body_messages_would_forward() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let counting = serde_json::to_vec(&conversation()).expect("json");

    // Counted first, as Claude Code does before a turn: nothing is stored for it.
    let counted = json_of(&send(&proxy, &mock, "/v1/messages/count_tokens?beta=true", &counting, &[]).await);
    assert_eq!(proxy.state.ccr.len(), 0, "a count is not a turn: no originals stored");
    let stats = health(&proxy).await["stats"].clone();
    assert_eq!(
        (stats["count_tokens_rewritten"].as_u64(), stats["requests_compressed"].as_u64()),
        (Some(1), Some(0))
    );

    let sent = json_of(
        &send(
            &proxy,
            &mock,
            "/v1/messages?beta=true",
            &serde_json::to_vec(&messages_body()).expect("json"),
            &[],
        )
        .await,
    );
    assert_ne!(sent["messages"], conversation()["messages"], "the turn was compressed");
    assert!(sent.to_string().contains(r#"headroom_retrieve(\"h:"#), "with a marker");
    assert_eq!(counted["messages"], sent["messages"], "the count saw the forwarded messages");
    assert_eq!(counted["tools"], sent["tools"], "and the forwarded tools");
    assert_eq!(counted["system"], sent["system"]);
    let tools: Vec<&str> =
        sent["tools"].as_array().expect("tools").iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(tools, ["Bash", "headroom_retrieve"]);
    assert!(counted.get("max_tokens").is_none() && counted.get("stream").is_none(), "nothing added");

    // The turn stored the originals under the keys the counted body cites.
    let text = counted["messages"].to_string();
    let key = text.split(r#"headroom_retrieve(\"h:"#).nth(1).and_then(|r| r.split('\\').next()).expect("key");
    assert!(!proxy.state.ccr.is_empty());
    let r = client()
        .get(format!("{}/v1/retrieve/h:{key}", proxy.url))
        .header("x-api-key", "sk-count")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200, "{key} {}", r.text().await.unwrap_or_default());
}

/// Claude Code 2.1.197's own count, as recorded (`tests/clients/recordings/claude-code/`): the raw
/// text of a file `Read` is about to return, as a user message, with `"tools": []`, to enforce
/// `Read`'s token cap. The engine never rewrites text a person could have typed, and nothing in it
/// would bring the retrieval tool, so it is counted byte for byte.
#[tokio::test(flavor = "multi_thread")]
async fn claude_codes_recorded_count_is_counted_as_sent() {
    let recorded = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/clients/recordings/claude-code/count-tokens.json"
    ))
    .expect("the recording");
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let beta = "claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,token-counting-2024-11-01";
    let forwarded = send(
        &proxy,
        &mock,
        "/v1/messages/count_tokens?beta=true",
        &recorded,
        &[("anthropic-beta", beta), ("x-app", "cli")],
    )
    .await;
    assert_eq!(forwarded.as_ref(), recorded.as_slice());
    assert_eq!(health(&proxy).await["stats"]["count_tokens_rewritten"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_flag_and_the_bypass_header_keep_the_passthrough() {
    let mock = start_mock().await;
    let counting = serde_json::to_vec(&conversation()).expect("json");

    let mut off = config(&mock.url);
    off.count_tokens_compression = false;
    let proxy = start_proxy(off).await;
    assert_eq!(health(&proxy).await["config"]["count_tokens_compression"], false);
    let forwarded = send(&proxy, &mock, "/v1/messages/count_tokens", &counting, &[]).await;
    assert_eq!(forwarded.as_ref(), counting.as_slice(), "byte for byte");

    let proxy = start_proxy(config(&mock.url)).await;
    assert_eq!(health(&proxy).await["config"]["count_tokens_compression"], true);
    let forwarded =
        send(&proxy, &mock, "/v1/messages/count_tokens", &counting, &[("x-headroom-bypass", "true")]).await;
    assert_eq!(forwarded.as_ref(), counting.as_slice(), "bypassed: byte for byte");
    let forwarded = send(&proxy, &mock, "/v1/messages/count_tokens", &counting, &[]).await;
    assert_ne!(forwarded.as_ref(), counting.as_slice(), "compressed by default");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_rewrite_is_counted_as_the_client_sent_it() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let counting = serde_json::to_vec(&conversation()).expect("json");
    let r = client()
        .post(format!("{}/v1/messages/count_tokens", proxy.url))
        .header("x-api-key", "sk-count")
        .header("x-mock-status", "400")
        .body(counting.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 400, "the upstream's own answer to the client's body");
    let hits = mock.hits();
    assert_eq!(hits.len(), 2);
    assert_ne!(hits[0].body.as_ref(), counting.as_slice());
    assert_eq!(hits[1].body.as_ref(), counting.as_slice());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_the_engine_cannot_read_is_counted_as_sent() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    for body in [&b"{\"messages\":[]}"[..], b"{\"model\":\"claude-x\",\"messages\":3}", b"not json"] {
        let forwarded = send(&proxy, &mock, "/v1/messages/count_tokens", body, &[]).await;
        assert_eq!(forwarded.as_ref(), body);
    }
    let stats = health(&proxy).await["stats"].clone();
    assert_eq!(stats["compression_failures"], 0, "a count is not a turn");
}
