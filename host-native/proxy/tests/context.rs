//! Context-window management through the proxy: a request over its model's window reaches
//! the upstream smaller, valid and carrying a marker whose key retrieves what was dropped;
//! each flag changes which messages go (or whether any do), and `--no-code-aware` leaves
//! source code whole.

mod support;

use headroom_proxy::context_args::Strategy;
use serde_json::{Value, json};
use support::{config, start_mock, start_proxy};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

/// Text a person typed (never rewritten), about `n` thousand tokens of distinct words.
fn typed(tag: &str, n: usize) -> String {
    (0..n * 250).map(|j| format!("{tag}{j} ")).collect()
}

/// Send `body` to `path` as tenant `sk-ctx`; returns what the upstream received.
async fn send(proxy: &support::Proxy, mock: &support::Mock, path: &str, body: &Value) -> Value {
    let before = mock.hits().len();
    let r = client()
        .post(format!("{}{path}", proxy.url))
        .header("authorization", "Bearer sk-ctx")
        .header("x-api-key", "sk-ctx")
        .json(body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    let hits = mock.hits();
    assert_eq!(hits.len(), before + 1);
    serde_json::from_slice(&hits[before].body).expect("the upstream got valid JSON")
}

/// The `[... N messages elided (messages RANGES); ...]` marker in `sent`, and its key.
fn message_marker(sent: &Value) -> Option<(String, String)> {
    let text = sent.to_string().replace("\\\"", "\"");
    let at = text.find("messages elided (messages ")?;
    let start = text[..at].rfind("[... ")?;
    let rest = &text[start..];
    let end = rest.find(" ...]")? + 5;
    let marker = rest[..end].to_owned();
    let key = marker.split("headroom_retrieve(\"").nth(1)?.split('"').next()?.to_owned();
    Some((marker, key))
}

async fn retrieve(proxy: &support::Proxy, key: &str) -> Value {
    let r = client()
        .get(format!("{}/v1/retrieve/{key}", proxy.url))
        .header("authorization", "Bearer sk-ctx")
        .header("x-api-key", "sk-ctx")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    serde_json::from_str(v["original"].as_str().expect("original")).expect("dropped messages as a JSON array")
}

/// A long conversation typed by a person, over gpt-4's 8,192-token window.
fn long_chat() -> Value {
    let mut messages = vec![json!({"role": "system", "content": "You are helpful."})];
    for k in 0..6 {
        messages.push(json!({"role": "user", "content": typed(&format!("q{k}w"), 2)}));
        messages.push(json!({"role": "assistant", "content": format!("Answer {k}.")}));
    }
    messages.push(json!({"role": "user", "content": "And now the last question?"}));
    json!({"model": "gpt-4", "max_tokens": 500, "messages": messages})
}

#[tokio::test(flavor = "multi_thread")]
async fn over_window_requests_arrive_smaller_valid_marked_and_retrievable() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;

    let chat = long_chat();
    let sent = send(&proxy, &mock, "/v1/chat/completions", &chat).await;
    let input = chat["messages"].as_array().expect("messages");
    let out = sent["messages"].as_array().expect("messages");
    assert!(out.len() < input.len());
    assert_eq!(out[0], input[0], "the system message stays");
    assert_eq!(out.last(), input.last(), "the latest turn stays");
    let (marker, key) = message_marker(&sent).expect("a marker");
    let dropped = retrieve(&proxy, &key).await;
    let dropped = dropped.as_array().expect("array");
    assert!(marker.starts_with(&format!("[... {} messages elided", dropped.len())), "{marker}");
    for m in dropped {
        assert!(input.contains(m), "a dropped message is an original");
        assert!(!out.contains(m), "and is no longer sent");
    }

    // Anthropic: the result still opens with the user and alternates.
    let mut messages = Vec::new();
    for k in 0..8 {
        messages.push(json!({"role": "user", "content": typed(&format!("u{k}x"), 18)}));
        messages
            .push(json!({"role": "assistant", "content": [{"type": "text", "text": format!("Noted {k}.")}]}));
    }
    messages.push(json!({"role": "user", "content": "Summarise."}));
    let anthropic = json!({"model": "claude-2.0", "max_tokens": 1000, "messages": messages});
    let sent = send(&proxy, &mock, "/v1/messages", &anthropic).await;
    let out = sent["messages"].as_array().expect("messages");
    assert!(out.len() < 17);
    assert_eq!(out[0]["role"], "user");
    for w in out.windows(2) {
        assert_ne!(w[0]["role"], w[1]["role"], "roles alternate");
    }
    let (_, key) = message_marker(&sent).expect("a marker");
    assert!(!retrieve(&proxy, &key).await.as_array().expect("array").is_empty());

    // Requests that fit are forwarded as they came.
    let small = json!({"model": "gpt-4", "messages": [{"role": "user", "content": "hi"}]});
    assert_eq!(send(&proxy, &mock, "/v1/chat/completions", &small).await, small);
}

/// A task, a failing test run (naming the file the latest step reads), an unrelated
/// listing, and the latest step: 1-based positions 3-4, 5-6 and 7-8 after system and task.
fn agent_chat() -> Value {
    let traceback: String = (0..150)
        .map(|i| {
            format!("  File \"src/parser.py\", line {}, in parse_header\n    check(field_{i})\n", 40 + i)
        })
        .collect();
    let traceback =
        format!("Traceback (most recent call last):\n{traceback}ValueError: bad header\n1 failed");
    let listing: String = (0..330).map(|i| format!("docs/manual/page_{i}.md 4096 bytes\n")).collect();
    let mut messages = vec![
        json!({"role": "system", "content": "You are a coding agent."}),
        json!({"role": "user", "content": "Fix the failing test in src/parser.py: parse_header rejects valid headers."}),
    ];
    for (k, (cmd, out)) in [
        ("pytest tests/test_parser.py", traceback),
        ("ls -R docs", listing),
        ("sed -n 30,60p src/parser.py", "def parse_header(line):\n    return line.split(':')".to_owned()),
    ]
    .into_iter()
    .enumerate()
    {
        let args = json!({"command": cmd}).to_string();
        messages.push(json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": format!("c{k}"), "type": "function", "function": {"name": "bash", "arguments": args}}]}));
        messages.push(json!({"role": "tool", "tool_call_id": format!("c{k}"), "content": out}));
    }
    json!({"model": "gpt-4", "max_tokens": 2500, "messages": messages})
}

/// The ranges of the message marker the upstream sees for [`agent_chat`], with block
/// compression out of the way (the outputs are judged whole) and the strategy given.
async fn dropped_ranges(strategy: Strategy) -> String {
    let mock = start_mock().await;
    let mut cfg = config(&mock.url);
    cfg.min_tokens = Some(u32::MAX);
    // Offloading would make it fit (every stale output goes at once over the window).
    cfg.context.compress_first = false;
    cfg.context.strategy = strategy;
    let proxy = start_proxy(cfg).await;
    let sent = send(&proxy, &mock, "/v1/chat/completions", &agent_chat()).await;
    let (marker, _) = message_marker(&sent).expect("a marker");
    let at = marker.find("(messages ").expect("ranges") + 10;
    marker[at..at + marker[at..].find(')').expect("close")].to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn scoring_flags_choose_which_messages_go() {
    // Default: the unrelated listing goes; the failure the latest step follows up stays.
    assert_eq!(dropped_ranges(Strategy::Scored).await, "5-6");
    // --no-intelligent-scoring: by position, the oldest step goes (the task stays).
    assert_eq!(dropped_ranges(Strategy::Position).await, "3-4");
    // --no-intelligent-context: a rolling window, oldest first, the task included.
    assert_eq!(dropped_ranges(Strategy::Rolling).await, "2-4");
}

#[tokio::test(flavor = "multi_thread")]
async fn compress_first_fits_by_offloading_before_dropping() {
    let log: String = (0..900)
        .map(|i| format!("step {i}: processed record {} in {} ms\n", i * 7919 % 1000, i % 13))
        .collect();
    let mut messages = vec![json!({"role": "user", "content": "Process the records."})];
    for k in 0..6 {
        let out = if k == 0 { log.clone() } else { format!("ok {k}") };
        messages.push(json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": format!("c{k}"), "type": "function", "function": {"name": "bash", "arguments": "{}"}}]}));
        messages.push(json!({"role": "tool", "tool_call_id": format!("c{k}"), "content": out}));
    }
    let body = json!({"model": "gpt-4", "max_tokens": 1000, "messages": messages});
    let mock = start_mock().await;
    let mut cfg = config(&mock.url);
    cfg.min_tokens = Some(u32::MAX);

    let proxy = start_proxy(cfg.clone()).await;
    let sent = send(&proxy, &mock, "/v1/chat/completions", &body).await;
    assert_eq!(sent["messages"].as_array().map(Vec::len), Some(13), "nothing dropped");
    assert!(message_marker(&sent).is_none());
    assert!(sent["messages"][2]["content"].as_str().is_some_and(|t| t.contains("lines elided")), "offloaded");

    cfg.context.compress_first = false;
    let proxy = start_proxy(cfg).await;
    let sent = send(&proxy, &mock, "/v1/chat/completions", &body).await;
    assert!(message_marker(&sent).is_some(), "--no-compress-first drops messages");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_code_aware_leaves_source_code_whole() {
    let source = include_str!("../../../core/engine/src/transforms/code/testdata/cache_rs.txt");
    let body = json!({"model": "gpt-4o", "messages": [
        {"role": "user", "content": "Show me the cache."},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": "{\"command\":\"cat src/cache.rs\"}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": source}
    ]});
    let mock = start_mock().await;
    let mut cfg = config(&mock.url);
    let proxy = start_proxy(cfg.clone()).await;
    let sent = send(&proxy, &mock, "/v1/chat/completions", &body).await;
    let outlined = sent["messages"][2]["content"].as_str().expect("text");
    assert!(outlined.len() < source.len(), "code is outlined by default");

    cfg.context.code_aware = false;
    let proxy = start_proxy(cfg).await;
    let sent = send(&proxy, &mock, "/v1/chat/completions", &body).await;
    assert_eq!(sent["messages"][2]["content"], source, "--no-code-aware forwards it whole");
}

/// A Claude conversation of about 230 thousand tokens: over Claude's 200k window, well
/// within the 1M window of Anthropic's context beta.
fn long_claude_chat() -> Value {
    let mut messages = Vec::new();
    for k in 0..4 {
        messages.push(json!({"role": "user", "content": typed(&format!("p{k}x"), 57)}));
        messages.push(json!({"role": "assistant", "content": format!("Noted {k}.")}));
    }
    messages.push(json!({"role": "user", "content": "Summarise."}));
    json!({"model": "claude-sonnet-4-5", "max_tokens": 1000, "messages": messages})
}

#[tokio::test(flavor = "multi_thread")]
async fn the_1m_context_beta_and_context_limit_widen_the_window() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let body = long_claude_chat();
    let sent = send(&proxy, &mock, "/v1/messages", &body).await;
    assert!(message_marker(&sent).is_some(), "over 200k without the beta: messages dropped");

    let r = client()
        .post(format!("{}/v1/messages", proxy.url))
        .header("x-api-key", "sk-ctx")
        .header("anthropic-beta", "context-1m-2025-08-07")
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let sent: Value = serde_json::from_slice(&mock.hits()[1].body).expect("json");
    assert_eq!(sent["messages"], body["messages"], "within the 1M window: untouched");

    let mut limited = config(&mock.url);
    limited.context.limit = Some(2_000);
    let proxy = start_proxy(limited).await;
    let small = json!({"model": "some-unknown-model", "messages": [
        {"role": "user", "content": typed("a", 6)}, {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "last"}]});
    let sent = send(&proxy, &mock, "/v1/chat/completions", &small).await;
    assert!(
        sent.to_string().contains("elided (message 1); dropped to fit the model's context window"),
        "--context-limit applies to models the table does not know: {sent}"
    );
}

/// `--offload-batch-tokens`: token mode waits for a batch that pays by default; 0 offloads a
/// stale output at once.
#[tokio::test(flavor = "multi_thread")]
async fn offload_batch_tokens_decides_when_token_mode_offloads() {
    let log: String = (0..400)
        .map(|i| format!("2026-12-04 10:{:02}:{:02} INFO worker-{} handled job {i}\n", i / 60, i % 60, i % 7))
        .collect();
    let mut messages = vec![json!({"role": "user", "content": "Check the worker log."})];
    for k in 0..4 {
        let out = if k == 0 { log.clone() } else { format!("ok {k}") };
        messages.push(json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": format!("c{k}"), "type": "function", "function": {"name": "bash", "arguments": "{}"}}]}));
        messages.push(json!({"role": "tool", "tool_call_id": format!("c{k}"), "content": out}));
    }
    let body = json!({"model": "gpt-4o", "messages": messages});
    let mock = start_mock().await;
    let mut cfg = config(&mock.url);
    cfg.mode = headroom_proxy::config::ModeArg::Token;
    let offloaded = |sent: &Value| {
        sent["messages"][2]["content"].as_str().is_some_and(|t| t.contains("output of an earlier step"))
    };

    let sent = send(&start_proxy(cfg.clone()).await, &mock, "/v1/chat/completions", &body).await;
    assert!(!offloaded(&sent), "a four-turn conversation does not pay for a batch yet");

    cfg.offload_batch_tokens = Some(0);
    let sent = send(&start_proxy(cfg).await, &mock, "/v1/chat/completions", &body).await;
    assert!(offloaded(&sent), "0 offloads the stale log at once");
}
