//! Transparent retrieval: the proxy offers `headroom_retrieve` when it forwards markers,
//! answers the model's calls itself and continues upstream, in JSON and in streams (spliced,
//! never buffered), in all three dialects.

mod support;

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Value, json};
use support::{config, start_mock, start_proxy};

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

const PATHS: [&str; 3] = ["/v1/messages", "/v1/chat/completions", "/v1/responses"];

/// A request in `path`'s dialect whose newest message is the log.
fn request(path: &str, stream: bool, log: &str) -> Value {
    match path {
        "/v1/messages" => {
            json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": stream, "messages": [
            {"role": "user", "content": "What failed?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "bash", "input": {"command": "cat app.log"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": log}]}],
            "tools": [{"name": "bash", "input_schema": {"type": "object"}}]})
        }
        "/v1/chat/completions" => json!({"model": "gpt-4o", "stream": stream, "messages": [
            {"role": "user", "content": "What failed?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "bash", "arguments": "{\"command\":\"cat app.log\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": log}]}),
        _ => json!({"model": "gpt-4o", "stream": stream, "store": false, "input": [
            {"role": "user", "content": "What failed?"},
            {"type": "function_call", "call_id": "c1", "name": "bash", "arguments": "{\"command\":\"cat app.log\"}"},
            {"type": "function_call_output", "call_id": "c1", "output": log}]}),
    }
}

fn expected_answer(log: &str) -> String {
    format!("retrieved {} chars: {}", log.len(), log.lines().next().unwrap_or_default())
}

async fn send(proxy: &str, path: &str, key: &str, body: &Value, delay_ms: u64) -> reqwest::Response {
    client()
        .post(format!("{proxy}{path}"))
        .header("x-api-key", key)
        .header("authorization", format!("Bearer {key}"))
        .header("x-mock-retrieve", "1")
        .header("x-mock-continuation-delay-ms", delay_ms.to_string())
        .json(body)
        .send()
        .await
        .expect("send")
}

fn messages_of(body: &[u8], path: &str) -> Vec<Value> {
    let v: Value = serde_json::from_slice(body).expect("upstream got JSON");
    let list = if path == "/v1/responses" { &v["input"] } else { &v["messages"] };
    list.as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_answers_retrieval_calls_in_json_responses() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let log = log_output();
    for path in PATHS {
        let before = mock.hits().len();
        let r = send(&proxy.url, path, "sk-a", &request(path, false, &log), 0).await;
        assert_eq!(r.status(), 200, "{path}");
        let answer: Value = r.json().await.expect("json");
        let text = answer.to_string();
        assert!(text.contains(&expected_answer(&log)), "{path}: {text}");
        assert!(!text.contains("headroom_retrieve"), "{path}: the client saw the proxy's call: {text}");
        let hits = mock.hits();
        assert_eq!(hits.len() - before, 2, "{path}: one request and one continuation");
        let (first, second) = (&hits[before].body, &hits[before + 1].body);
        let tools = serde_json::from_slice::<Value>(first).expect("json")["tools"].to_string();
        assert!(tools.contains("headroom_retrieve"), "{path}: tool not offered: {tools}");
        // The continuation repeats the first request and appends the turn and the answer.
        let (m1, m2) = (messages_of(first, path), messages_of(second, path));
        assert_eq!(m2[..m1.len()], m1[..], "{path}");
        assert_eq!(m2.len(), m1.len() + 2, "{path}");
        assert!(m2.last().expect("answer").to_string().contains("ERROR worker-2 failed batch 300"), "{path}");
    }
    let anthropic: Value = send(&proxy.url, PATHS[0], "sk-a", &request(PATHS[0], false, &log), 0)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(anthropic["content"][0]["text"], "Let me look.", "earlier rounds' text is kept");
    assert_eq!(anthropic["usage"]["input_tokens"], 30, "usage of both rounds");
    assert_eq!(anthropic["stop_reason"], "end_turn");
}

/// Read a stream to its end, noting when each chunk arrived.
async fn read_timed(r: reqwest::Response, started: Instant) -> Vec<(Duration, String)> {
    let mut chunks = Vec::new();
    let mut body = r.bytes_stream();
    while let Some(c) =
        tokio::time::timeout(Duration::from_secs(20), body.next()).await.expect("stream stalled")
    {
        chunks.push((started.elapsed(), String::from_utf8_lossy(&c.expect("chunk")).into_owned()));
    }
    chunks
}

fn data_of(stream: &str) -> Vec<Value> {
    stream
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn streams_get_the_continuation_spliced_in_without_buffering() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let log = log_output();
    for path in PATHS {
        let started = Instant::now();
        let r = send(&proxy.url, path, "sk-a", &request(path, true, &log), 800).await;
        assert_eq!(r.status(), 200, "{path}");
        let chunks = read_timed(r, started).await;
        let at = |needle: &str| chunks.iter().find(|(_, c)| c.contains(needle)).map(|(t, _)| *t);
        let first = at("Let me look.");
        let last = at(&expected_answer(&log));
        let all: String = chunks.iter().map(|(_, c)| c.as_str()).collect();
        // The first round's words reach the client while the continuation is still upstream.
        if path != "/v1/responses" {
            let (first, last) = (first.expect("first round relayed"), last.expect("continuation spliced"));
            assert!(last - first >= Duration::from_millis(700), "{path}: buffered ({first:?} then {last:?})");
        } else {
            assert!(last.expect("continuation spliced") >= Duration::from_millis(800));
        }
        assert!(!all.contains("headroom_retrieve"), "{path}: the client saw the proxy's call:\n{all}");
        let events = data_of(&all);
        match path {
            "/v1/messages" => {
                let starts: Vec<u64> = events
                    .iter()
                    .filter(|e| e["type"] == "content_block_start")
                    .filter_map(|e| e["index"].as_u64())
                    .collect();
                assert_eq!(starts, vec![0, 1], "block indexes continue without gaps");
                let count = |t: &str| events.iter().filter(|e| e["type"] == t).count();
                assert_eq!((count("message_start"), count("message_stop")), (1, 1));
                let stop = events
                    .iter()
                    .filter(|e| e["type"] == "message_delta")
                    .map(|e| &e["delta"]["stop_reason"]);
                assert_eq!(stop.collect::<Vec<_>>(), vec!["end_turn"]);
            }
            "/v1/chat/completions" => {
                assert_eq!(all.matches("data: [DONE]").count(), 1);
                let finishes: Vec<&Value> = events
                    .iter()
                    .map(|e| &e["choices"][0]["finish_reason"])
                    .filter(|f| !f.is_null())
                    .collect();
                assert_eq!(finishes, vec!["stop"]);
            }
            _ => {
                let seq: Vec<u64> = events.iter().filter_map(|e| e["sequence_number"].as_u64()).collect();
                assert_eq!(seq, (0..seq.len() as u64).collect::<Vec<_>>(), "sequence numbers continue");
                let done = events.iter().find(|e| e["type"] == "response.completed").expect("completed");
                assert_eq!(done["response"]["output"].as_array().map(Vec::len), Some(1), "{done}");
                assert_eq!(events.iter().filter(|e| e["type"] == "response.created").count(), 1);
                let ids: Vec<&Value> =
                    events.iter().filter_map(|e| e.get("response")).map(|r| &r["id"]).collect();
                assert!(ids.windows(2).all(|w| w[0] == w[1]), "one response id across rounds: {ids:?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn originals_are_answered_only_to_the_key_that_sent_them() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let log = log_output();
    send(&proxy.url, PATHS[1], "sk-owner", &request(PATHS[1], false, &log), 0).await;
    // Another tenant replays the compressed history (markers, no original).
    let forwarded = messages_of(&mock.hits()[0].body, PATHS[1]);
    let replay = json!({"model": "gpt-4o", "messages": forwarded[..3]});
    let r = send(&proxy.url, PATHS[1], "sk-other", &replay, 0).await;
    let answer: Value = r.json().await.expect("json");
    let text = answer["choices"][0]["message"]["content"].as_str().unwrap_or_default().to_owned();
    assert!(
        text.contains("No original is stored"),
        "{text} {:#?}",
        mock.hits().iter().map(|h| String::from_utf8_lossy(&h.body).into_owned()).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_marker_no_tool_and_a_client_tool_of_the_same_name_wins() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let r = send(&proxy.url, PATHS[1], "sk-a", &request(PATHS[1], false, "short output"), 0).await;
    assert_eq!(r.status(), 200);
    let sent: Value = serde_json::from_slice(&mock.hits()[0].body).expect("json");
    assert!(sent.get("tools").is_none(), "no marker, no tool: {sent}");

    let mut own = request(PATHS[0], false, &log_output());
    own["tools"] = json!([{"name": "headroom_retrieve", "input_schema": {"type": "object"}}]);
    let r = send(&proxy.url, PATHS[0], "sk-a", &own, 0).await;
    let answer: Value = r.json().await.expect("json");
    assert_eq!(
        answer["content"][1]["name"],
        "headroom_retrieve",
        "the client runs its own tool: {answer} {}",
        String::from_utf8_lossy(&mock.hits()[1].body)
    );
    assert_eq!(mock.hits().len(), 2, "no continuation by the proxy");
    let sent: Value = serde_json::from_slice(&mock.hits()[1].body).expect("json");
    assert_eq!(sent["tools"].as_array().map(Vec::len), Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn no_ccr_inject_tool_leaves_markers_to_the_client() {
    let mock = start_mock().await;
    let proxy = start_proxy(headroom_proxy::ProxyConfig { retrieval_tool: false, ..config(&mock.url) }).await;
    let r = send(&proxy.url, PATHS[1], "sk-a", &request(PATHS[1], false, &log_output()), 0).await;
    let answer: Value = r.json().await.expect("json");
    assert_eq!(answer["choices"][0]["message"]["content"], "no marker in view", "the tool is not offered");
    let sent = String::from_utf8_lossy(&mock.hits()[0].body).into_owned();
    assert!(sent.contains("headroom_retrieve(\\\"h:"), "the marker is still there");
    assert!(!sent.contains("\"tools\""));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_leaving_during_a_continuation_cancels_it() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let r = send(&proxy.url, PATHS[0], "sk-a", &request(PATHS[0], true, &log_output()), 10_000).await;
    let mut body = r.bytes_stream();
    let mut seen = String::new();
    while !seen.contains("Let me look.") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), body.next()).await.expect("first round");
        seen.push_str(&String::from_utf8_lossy(&chunk.expect("open").expect("chunk")));
    }
    let continuation_sent = async {
        while mock.hits().len() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), continuation_sent).await.expect("continuation sent");
    drop(body);
    let cancelled = mock.wait_for(Duration::from_secs(2), |_, aborted| aborted >= 1).await;
    assert!(cancelled, "the continuation kept running after the client left");
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_responses_streams_are_not_offered_the_tool() {
    // With `store` on, the provider would keep a turn ending on an unanswered call under the
    // id the client continues from: the proxy leaves such streams alone.
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let mut body = request(PATHS[2], true, &log_output());
    body.as_object_mut().map(|o| o.remove("store"));
    let r = send(&proxy.url, PATHS[2], "sk-a", &body, 0).await;
    assert!(r.text().await.expect("body").contains("no marker in view"));
    let sent: Value = serde_json::from_slice(&mock.hits()[0].body).expect("json");
    assert!(sent.get("tools").is_none(), "{sent}");
}

/// One turn of a scripted Anthropic agent with tools: `outputs` are its tool results so far.
fn agent_turn(outputs: &[String]) -> Value {
    let mut messages = vec![json!({"role": "user", "content": "Look around."})];
    for (i, out) in outputs.iter().enumerate() {
        messages.push(json!({"role": "assistant", "content": [{"type": "tool_use", "id": format!("t{i}"),
            "name": "bash", "input": {"command": format!("step {i}")}}]}));
        messages
            .push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": format!("t{i}"),
            "content": out}]}));
    }
    json!({"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": messages,
        "tools": [{"name": "bash", "input_schema": {"type": "object"}}]})
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tool_comes_with_the_first_sizeable_output_and_stays() {
    // An agent whose outputs are all small pays nothing for retrieval: every request reaches
    // the provider exactly as the client sent it (the bill is the direct bill).
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let small: Vec<String> = (0..4).map(|i| format!("file{i}.txt\nREADME.md\nsrc/")).collect();
    for turn in 1..=small.len() {
        let body = agent_turn(&small[..turn]);
        send(&proxy.url, PATHS[0], "sk-a", &body, 0).await;
        let sent = mock.hits().last().expect("forwarded").body.clone();
        assert_eq!(sent, serde_json::to_vec(&body).expect("json"), "turn {turn}: forwarded as sent");
    }
    // A large output arrives at the third step: the tool is offered from that request on, with
    // the same bytes on every later turn, small outputs after it included.
    let mut outputs = small[..2].to_vec();
    outputs.push(log_output());
    outputs.push(small[2].clone());
    let before = mock.hits().len();
    for turn in 1..=outputs.len() {
        send(&proxy.url, PATHS[0], "sk-b", &agent_turn(&outputs[..turn]), 0).await;
    }
    let tools: Vec<String> = mock.hits()[before..]
        .iter()
        .filter(|h| {
            !messages_of(&h.body, PATHS[0]).last().is_some_and(|m| m.to_string().contains("toolu_r1"))
        })
        .map(|h| serde_json::from_slice::<Value>(&h.body).expect("json")["tools"].to_string())
        .collect();
    assert_eq!(tools.len(), 4, "one request per turn besides continuations");
    assert!(!tools[0].contains("headroom_retrieve") && !tools[1].contains("headroom_retrieve"), "{tools:?}");
    assert!(tools[2].contains("headroom_retrieve"), "{tools:?}");
    assert_eq!(tools[2], tools[3], "the same tool bytes on every later turn");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_that_keeps_calling_gets_a_plain_ending_after_the_last_round() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let log = log_output();
    for (path, stream) in [(PATHS[0], true), (PATHS[1], true), (PATHS[2], true), (PATHS[0], false)] {
        let before = mock.hits().len();
        let r = client()
            .post(format!("{}{path}", proxy.url))
            .header("x-api-key", "sk-a")
            .header("x-mock-retrieve", "1")
            .header("x-mock-retrieve-forever", "1")
            .json(&request(path, stream, &log))
            .send()
            .await
            .expect("send");
        let all = r.text().await.expect("body");
        assert_eq!(mock.hits().len() - before, 4, "{path}: the request and three continuations");
        assert!(!all.contains("headroom_retrieve"), "{path}: {all}");
        assert!(!all.contains("\"tool_use\"") && !all.contains("\"tool_calls\""), "{path}: {all}");
        if path == PATHS[2] {
            let events = data_of(&all);
            let done = events.iter().find(|e| e["type"] == "response.completed").expect("completed");
            let seq: Vec<u64> = events.iter().filter_map(|e| e["sequence_number"].as_u64()).collect();
            assert_eq!(seq, (0..seq.len() as u64).collect::<Vec<_>>(), "{all}");
            assert!(done["response"]["output"].as_array().is_some_and(|o| o.is_empty()), "{done}");
        }
    }
}

async fn send_with(proxy: &str, path: &str, body: &Value, header: &str) -> reqwest::Response {
    client()
        .post(format!("{proxy}{path}"))
        .header("x-api-key", "sk-a")
        .header("x-mock-retrieve", "1")
        .header(header, "1")
        .json(body)
        .send()
        .await
        .expect("send")
}

#[tokio::test(flavor = "multi_thread")]
async fn retrieval_faults_never_cost_the_request() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let log = log_output();
    // An upstream that refuses the added tool gets the request without it.
    let r = send_with(&proxy.url, PATHS[0], &request(PATHS[0], false, &log), "x-mock-reject-tool").await;
    assert_eq!(r.status(), 200);
    let hits = mock.hits();
    assert_eq!(hits.len(), 2);
    let resent: Value = serde_json::from_slice(&hits[1].body).expect("json");
    assert!(!resent["tools"].to_string().contains("headroom_retrieve"), "{}", resent["tools"]);
    // A continuation that fails leaves the client with what the model said, not an error.
    let r =
        send_with(&proxy.url, PATHS[0], &request(PATHS[0], false, &log), "x-mock-fail-continuation").await;
    assert_eq!(r.status(), 200);
    let answer: Value = r.json().await.expect("json");
    assert_eq!(answer["content"], json!([{"type": "text", "text": "Let me look."}]), "{answer}");
    assert_eq!(answer["stop_reason"], "end_turn");
}
