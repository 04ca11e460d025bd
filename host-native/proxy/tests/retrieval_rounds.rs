//! What the client holds after a proxy-answered retrieval: the usage of every round, and a
//! turn the provider accepts when the client resends it. The mock upstream enforces the
//! providers' documented rules (thinking signatures bound to their prefix, a thinking block
//! opening a tool-use turn, a reasoning item followed by the item it preceded), so each test
//! drives a client's next request through the proxy and checks it is accepted.

mod support;

use headroom_runtime::wit::Dialect;
use serde_json::{Value, json};
use support::retrieval::usage;
use support::{config, provider, start_mock, start_proxy};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

/// A log the engine shortens with a marker.
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

async fn post(proxy: &str, path: &str, body: &Value, client_tool: bool) -> reqwest::Response {
    let mut request = client()
        .post(format!("{proxy}{path}"))
        .header("x-api-key", "sk-a")
        .header("authorization", "Bearer sk-a")
        .header("x-mock-retrieve", "1");
    if client_tool {
        request = request.header("x-mock-client-tool", "1");
    }
    request.json(body).send().await.expect("send")
}

fn events(stream: &str) -> Vec<Value> {
    stream
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect()
}

/// An Anthropic stream accumulated as an SDK does: the message's content and final usage.
fn accumulate_anthropic(stream: &str) -> (Vec<Value>, Value) {
    let mut blocks: Vec<Value> = Vec::new();
    let mut partial: Vec<String> = Vec::new();
    let mut usage = Value::Null;
    for e in events(stream) {
        let i = e["index"].as_u64().unwrap_or(0) as usize;
        match e["type"].as_str().unwrap_or_default() {
            "message_start" => usage = e["message"]["usage"].clone(),
            "content_block_start" => {
                assert_eq!(i, blocks.len(), "indexes continue without gaps");
                blocks.push(e["content_block"].clone());
                partial.push(String::new());
            }
            "content_block_delta" => {
                let d = &e["delta"];
                let b = &mut blocks[i];
                let join = |a: &Value, more: &Value| {
                    format!("{}{}", a.as_str().unwrap_or(""), more.as_str().unwrap_or(""))
                };
                match d["type"].as_str().unwrap_or_default() {
                    "text_delta" => b["text"] = join(&b["text"], &d["text"]).into(),
                    "thinking_delta" => b["thinking"] = join(&b["thinking"], &d["thinking"]).into(),
                    "signature_delta" => b["signature"] = d["signature"].clone(),
                    "input_json_delta" => partial[i].push_str(d["partial_json"].as_str().unwrap_or("")),
                    _ => {}
                }
            }
            "content_block_stop" if !partial[i].is_empty() => {
                blocks[i]["input"] = serde_json::from_str(&partial[i]).expect("tool input");
            }
            "message_delta" => {
                for (k, v) in e["usage"].as_object().cloned().unwrap_or_default() {
                    usage[k] = v;
                }
            }
            "error" => panic!("the stream ended on an error: {e}"),
            _ => {}
        }
    }
    (blocks, usage)
}

/// Every round's usage (the mock's call round and reply round) added up.
fn both_rounds(path: &str) -> Value {
    let mut total = usage(path, 1);
    headroom_proxy::retrieval::usage::add(&mut total, &usage(path, 2));
    total
}

fn anthropic_request(stream: bool, thinking: bool, log: &str) -> Value {
    let tools = json!([{"name": "bash", "input_schema": {"type": "object"}}]);
    let mut body = json!({"model": "claude-sonnet-4-5", "max_tokens": 2000, "stream": stream, "tools": tools,
        "messages": [{"role": "user", "content": "What failed?"}]});
    let mut turn =
        vec![json!({"type": "tool_use", "id": "t1", "name": "bash", "input": {"command": "cat app.log"}})];
    if thinking {
        body["thinking"] = json!({"type": "enabled", "budget_tokens": 1024});
        // Signed as the provider signed it: over the tools it was given, ours included.
        let mut seen = body.clone();
        let ours: Value =
            serde_json::from_str(headroom_proxy::retrieval::tool::definition(Dialect::AnthropicMessages))
                .expect("tool");
        seen["tools"].as_array_mut().expect("tools").push(ours);
        turn.insert(0, provider::thinking_block(&seen, "I should read the log."));
    }
    let messages = body["messages"].as_array_mut().expect("messages");
    messages.push(json!({"role": "assistant", "content": turn}));
    messages.push(
        json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": log}]}),
    );
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rounds_usage_reaches_the_client_in_streams_and_json() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let log = log_output();
    for stream in [true, false] {
        let r = post(&proxy.url, "/v1/messages", &anthropic_request(stream, false, &log), false).await;
        let got = if stream {
            accumulate_anthropic(&r.text().await.expect("body")).1
        } else {
            r.json::<Value>().await.expect("json")["usage"].clone()
        };
        assert_eq!(got, both_rounds("/v1/messages"), "stream: {stream}");
    }

    let chat = json!({"model": "gpt-4o", "stream": true, "stream_options": {"include_usage": true}, "messages": [
        {"role": "user", "content": "What failed?"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
            "function": {"name": "bash", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": log}]});
    let text = post(&proxy.url, "/v1/chat/completions", &chat, false).await.text().await.expect("body");
    let usages: Vec<Value> =
        events(&text).into_iter().map(|e| e["usage"].clone()).filter(Value::is_object).collect();
    assert_eq!(usages, vec![both_rounds("/v1/chat/completions")], "{text}");

    let responses = json!({"model": "gpt-5", "stream": true, "store": false, "input": [
        {"role": "user", "content": "What failed?"},
        {"type": "function_call", "call_id": "c1", "name": "bash", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "c1", "output": log}]});
    let text = post(&proxy.url, "/v1/responses", &responses, false).await.text().await.expect("body");
    let done = events(&text).into_iter().find(|e| e["type"] == "response.completed").expect("completed");
    assert_eq!(done["response"]["usage"], both_rounds("/v1/responses"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thinking_turn_after_retrieval_is_accepted_when_resent() {
    // Claude Code's shape: thinking on, its own tools, the model calling one of them after the
    // proxy answered its retrieval. The client must be able to send back what it was given.
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let log = log_output();
    for stream in [true, false] {
        let first = anthropic_request(stream, true, &log);
        let before = mock.hits().len();
        let r = post(&proxy.url, "/v1/messages", &first, true).await;
        assert_eq!(r.status(), 200);
        let content = if stream {
            accumulate_anthropic(&r.text().await.expect("body")).0
        } else {
            r.json::<Value>().await.expect("json")["content"].as_array().cloned().expect("content")
        };
        let kinds: Vec<&str> = content.iter().filter_map(|b| b["type"].as_str()).collect();
        assert_eq!(kinds, ["thinking", "text", "text", "tool_use"], "stream {stream}: {content:?}");
        assert_eq!(content[3]["name"], "bash");
        assert_eq!(mock.hits().len() - before, 2, "the request and the proxy's continuation");

        // The client runs its tool and sends the turn back as it holds it.
        let mut next = first.clone();
        let messages = next["messages"].as_array_mut().expect("messages");
        messages.push(json!({"role": "assistant", "content": content}));
        messages.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_c1", "content": "a.txt"}]}));
        next["stream"] = false.into();
        let sent_at = mock.hits().len();
        let r = post(&proxy.url, "/v1/messages", &next, false).await;
        let status = r.status();
        assert_eq!(
            status,
            200,
            "stream {stream}: the resent turn was refused: {}",
            r.text().await.unwrap_or_default()
        );

        // Merging the continuation's thinking into the turn, as the proxy once did, is refused.
        let continuation: Value = serde_json::from_slice(&mock.hits()[before + 1].body).expect("json");
        let thought = provider::thinking_block(&continuation, "Now I have the original.");
        let mut forwarded: Value = serde_json::from_slice(&mock.hits()[sent_at].body).expect("json");
        let turn = forwarded["messages"][3]["content"].as_array_mut().expect("turn");
        turn.insert(2, thought);
        assert!(provider::anthropic_rejects(&forwarded).is_some(), "the mock accepts a merged thinking turn");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reasoning_turn_after_retrieval_is_accepted_when_resent() {
    // Codex's shape: a stateless Responses stream with encrypted reasoning, its own shell tool.
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let log = log_output();
    let call = json!({"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{\"command\":[\"cat\",\"app.log\"]}"});
    let first = json!({"model": "gpt-5", "stream": true, "store": false, "include": ["reasoning.encrypted_content"],
        "reasoning": {"effort": "medium", "summary": "auto"},
        "tools": [{"type": "function", "name": "shell", "parameters": {"type": "object"}}],
        "input": [{"role": "user", "content": "What failed?"}, provider::reasoning_item("rs_0", &call), call,
                  {"type": "function_call_output", "call_id": "c1", "output": log}]});
    let before = mock.hits().len();
    let text = post(&proxy.url, "/v1/responses", &first, true).await.text().await.expect("body");
    assert_eq!(mock.hits().len() - before, 2, "the request and the proxy's continuation");
    let all = events(&text);
    assert!(!all.iter().any(|e| e["type"] == "error"), "{text}");
    // Codex keeps the items of `output_item.done`; SDKs read `response.completed`.
    let done: Vec<Value> =
        all.iter().filter(|e| e["type"] == "response.output_item.done").map(|e| e["item"].clone()).collect();
    let completed = all.iter().find(|e| e["type"] == "response.completed").expect("completed");
    assert_eq!(completed["response"]["output"], Value::Array(done.clone()));
    let kinds: Vec<&str> = done.iter().filter_map(|i| i["type"].as_str()).collect();
    assert_eq!(kinds, ["reasoning", "message", "function_call"], "{done:?}");
    assert!(!text.contains("headroom_retrieve"), "{text}");
    let indexes: Vec<u64> = all
        .iter()
        .filter(|e| e["type"] == "response.output_item.added")
        .filter_map(|e| e["output_index"].as_u64())
        .collect();
    assert_eq!(indexes, [0, 1, 2]);

    let mut next = first.clone();
    let input = next["input"].as_array_mut().expect("input");
    input.extend(done.iter().cloned());
    input.push(json!({"type": "function_call_output", "call_id": "call_c1", "output": "a.txt"}));
    let sent_at = mock.hits().len();
    let r = post(&proxy.url, "/v1/responses", &next, false).await;
    let text = r.text().await.expect("body");
    assert!(!text.contains("without its required following item"), "the resent turn was refused: {text}");

    // Keeping the reasoning item that preceded the proxy's own call is refused.
    let mut forwarded: Value = serde_json::from_slice(&mock.hits()[sent_at].body).expect("json");
    let at = forwarded["input"].as_array().expect("input").len() - 4;
    let dangling =
        provider::reasoning_item("rs_resp_call", &json!({"type": "function_call", "call_id": "call_r1"}));
    forwarded["input"].as_array_mut().expect("input").insert(at, dangling);
    assert!(provider::responses_rejects(&forwarded).is_some(), "the mock accepts a dangling reasoning item");
}

#[test]
fn the_mock_refuses_what_the_providers_refuse() {
    let tools = json!([{"name": "bash", "input_schema": {"type": "object"}}]);
    let base = json!({"thinking": {"type": "enabled", "budget_tokens": 1024}, "tools": tools,
        "messages": [{"role": "user", "content": "hi"}]});
    let block = provider::thinking_block(&base, "plan");
    let with_turn = |turn: Value| {
        let mut b = base.clone();
        let m = b["messages"].as_array_mut().expect("messages");
        m.push(json!({"role": "assistant", "content": turn}));
        m.push(
            json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "x"}]}),
        );
        b
    };
    let tool_use = json!({"type": "tool_use", "id": "t", "name": "bash", "input": {}});
    assert!(provider::anthropic_rejects(&with_turn(json!([block.clone(), tool_use.clone()]))).is_none());
    // A tool-use turn that does not open with thinking.
    assert!(provider::anthropic_rejects(&with_turn(json!([tool_use.clone()]))).is_some());
    // A thinking block whose prefix changed: here, the tools.
    let mut changed = with_turn(json!([block.clone(), tool_use.clone()]));
    changed["tools"].as_array_mut().expect("tools").push(json!({"name": "more"}));
    assert!(provider::anthropic_rejects(&changed).is_some());
    // cache_control moving between turns is not a change.
    let mut marked = with_turn(json!([block, tool_use]));
    marked["tools"][0]["cache_control"] = json!({"type": "ephemeral"});
    assert!(provider::anthropic_rejects(&marked).is_none());

    let call = json!({"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{}"});
    let ok = json!({"input": [provider::reasoning_item("rs_1", &call), call]});
    assert!(provider::responses_rejects(&ok).is_none());
    let alone =
        json!({"input": [provider::reasoning_item("rs_1", &call), {"role": "user", "content": "hi"}]});
    assert!(provider::responses_rejects(&alone).is_some());
}
