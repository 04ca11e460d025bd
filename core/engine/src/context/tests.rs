//! Context management in the three dialects, on one crafted agent conversation: a task, a
//! failing test run (traceback naming the file the latest step reads), an unrelated listing,
//! and the latest step.

use serde_json::{Value, json};

use crate::marker::{Marker, Unit};
use crate::options::{ContextStrategy, Options};
use crate::request::Dialect;
use crate::{RequestOutcome, compress_request};

const DIALECTS: [Dialect; 3] = [Dialect::AnthropicMessages, Dialect::OpenAiChat, Dialect::OpenAiResponses];

/// Four bytes a token: crude, but never more tokens than bytes, like a real BPE.
fn count(s: &str) -> u32 {
    (s.len() / 4) as u32
}

const TASK: &str = "Fix the failing test in src/parser.py: parse_header rejects valid headers.";

fn steps() -> Vec<(&'static str, String)> {
    let traceback: String = (0..30)
        .map(|i| {
            format!("  File \"src/parser.py\", line {}, in parse_header\n    check(field_{i})\n", 40 + i)
        })
        .collect();
    let traceback =
        format!("Traceback (most recent call last):\n{traceback}ValueError: bad header\n1 failed");
    let listing: String = (0..60).map(|i| format!("docs/manual/page_{i}.md 4096 bytes\n")).collect();
    vec![
        ("pytest tests/test_parser.py", traceback),
        ("ls -R docs", listing),
        ("sed -n 30,60p src/parser.py", "def parse_header(line):\n    return line.split(':')".into()),
    ]
}

fn body(d: Dialect) -> String {
    let mut items: Vec<Value> = Vec::new();
    let mut top = json!({"model": "gpt-4o", "max_tokens": 50});
    match d {
        Dialect::AnthropicMessages => {
            top["model"] = json!("claude-sonnet-4-5");
            top["system"] = json!("You are a coding agent.");
            items.push(json!({"role": "user", "content": TASK}));
            for (k, (cmd, out)) in steps().into_iter().enumerate() {
                items.push(json!({"role": "assistant", "content": [
                    {"type": "text", "text": format!("Running {cmd}")},
                    {"type": "tool_use", "id": format!("t{k}"), "name": "bash", "input": {"command": cmd}}]}));
                items.push(json!({"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": format!("t{k}"), "content": out}]}));
            }
        }
        Dialect::OpenAiChat => {
            items.push(json!({"role": "system", "content": "You are a coding agent."}));
            items.push(json!({"role": "user", "content": TASK}));
            for (k, (cmd, out)) in steps().into_iter().enumerate() {
                let args = json!({"command": cmd}).to_string();
                items.push(json!({"role": "assistant", "content": null, "tool_calls": [
                    {"id": format!("c{k}"), "type": "function", "function": {"name": "bash", "arguments": args}}]}));
                items.push(json!({"role": "tool", "tool_call_id": format!("c{k}"), "content": out}));
            }
        }
        Dialect::OpenAiResponses => {
            top = json!({"model": "gpt-5", "max_output_tokens": 50});
            items.push(json!({"role": "system", "content": "You are a coding agent."}));
            items.push(json!({"role": "user", "content": TASK}));
            for (k, (cmd, out)) in steps().into_iter().enumerate() {
                let args = json!({"command": cmd}).to_string();
                items.push(json!({"type": "reasoning", "id": format!("rs{k}"), "summary": [], "encrypted_content": "gAAAAB"}));
                items.push(json!({"type": "function_call", "call_id": format!("c{k}"), "name": "shell", "arguments": args}));
                items
                    .push(json!({"type": "function_call_output", "call_id": format!("c{k}"), "output": out}));
            }
        }
    }
    let field = if d == Dialect::OpenAiResponses { "input" } else { "messages" };
    top[field] = Value::Array(items);
    top.to_string()
}

fn run(d: Dialect, body: &str, opts: &Options) -> RequestOutcome {
    compress_request(d, body.as_bytes(), opts, &count).expect("compresses")
}

/// Tokens of the request as forwarded without context management (and, as in [`opts`],
/// without block compression).
fn tokens(d: Dialect, body: &str) -> u32 {
    let off = Options { context_strategy: ContextStrategy::Off, ..opts(ContextStrategy::Off, 0) };
    let out = run(d, body, &off);
    let sent = String::from_utf8(out.body.unwrap_or_else(|| body.as_bytes().to_vec())).expect("utf8");
    let m = super::fit::Measured::of(d, &sent, &count).expect("parses").expect("has messages");
    m.tally.total()
}

/// Block compression is kept out of the way (every block is below `min_tokens`), so these
/// tests see the context rules alone.
fn opts(strategy: ContextStrategy, limit: u32) -> Options {
    Options {
        context_limit: Some(limit),
        context_strategy: strategy,
        compress_first: false,
        min_tokens: u32::MAX,
        ..Options::default()
    }
}

fn list(d: Dialect, body: &[u8]) -> Vec<Value> {
    let v: Value = serde_json::from_slice(body).expect("valid JSON");
    let field = if d == Dialect::OpenAiResponses { "input" } else { "messages" };
    v[field].as_array().cloned().expect("list")
}

/// Positions (0-based, in the request as sent) of the dropped messages, read from the
/// marker; checks the key resolves to exactly those originals.
fn dropped(d: Dialect, body: &str, out: &RequestOutcome) -> Vec<usize> {
    let sent = String::from_utf8(out.body.clone().expect("changed")).expect("utf8");
    let markers = Marker::find_all(&sent.replace("\\\"", "\""));
    let m = markers.iter().find(|m| m.unit == Unit::Messages).expect("a message marker");
    let report = out.context.as_ref().expect("a context report");
    assert_eq!(report.key.as_deref(), Some(m.key.as_str()));
    let positions: Vec<usize> = m.ranges.iter().flat_map(|&(a, b)| a - 1..b).collect();
    assert_eq!(report.messages_dropped as usize, positions.len());
    let stored = out.offloads.iter().find(|o| o.key == m.key).expect("offloaded under the marker's key");
    assert_eq!(stored.key, crate::offload::key_for(&stored.original));
    let originals: Vec<Value> = serde_json::from_str(&stored.original).expect("a JSON array");
    let input = list(d, body.as_bytes());
    assert_eq!(originals, positions.iter().map(|&i| input[i].clone()).collect::<Vec<_>>());
    positions
}

/// The rules each dialect's provider enforces on the list.
fn assert_valid(d: Dialect, body: &[u8]) {
    let items = list(d, body);
    match d {
        Dialect::AnthropicMessages => {
            assert_eq!(items[0]["role"], "user", "the first turn is the user's");
            for w in items.windows(2) {
                assert_ne!(w[0]["role"], w[1]["role"], "roles alternate: {items:?}");
            }
            for (i, m) in items.iter().enumerate() {
                for b in m["content"].as_array().into_iter().flatten() {
                    if b["type"] == "tool_result" {
                        let id = &b["tool_use_id"];
                        let prev = &items[i - 1]["content"];
                        assert!(
                            prev.as_array().is_some_and(|p| p.iter().any(|c| c["id"] == *id)),
                            "orphan {id}"
                        );
                    }
                    if b["type"] == "tool_use" && i + 1 < items.len() {
                        let next = items[i + 1]["content"].as_array().cloned().unwrap_or_default();
                        assert!(next.iter().any(|c| c["tool_use_id"] == b["id"]), "unanswered {}", b["id"]);
                    }
                }
            }
        }
        Dialect::OpenAiChat => {
            for (i, m) in items.iter().enumerate() {
                if m["role"] == "tool" {
                    let id = &m["tool_call_id"];
                    let caller = items[..i].iter().rev().find(|p| p["role"] != "tool").expect("a caller");
                    let calls = caller["tool_calls"].as_array().cloned().unwrap_or_default();
                    assert!(calls.iter().any(|c| c["id"] == *id), "orphan {id}");
                }
                for c in m["tool_calls"].as_array().into_iter().flatten() {
                    assert!(items[i + 1..].iter().any(|t| t["tool_call_id"] == c["id"]), "unanswered");
                }
            }
        }
        Dialect::OpenAiResponses => {
            for (i, m) in items.iter().enumerate() {
                let id = &m["call_id"];
                match m["type"].as_str() {
                    Some("function_call_output") => {
                        assert!(
                            items[..i].iter().any(|p| p["type"] == "function_call" && p["call_id"] == *id)
                        )
                    }
                    Some("function_call") => assert!(
                        items[i + 1..]
                            .iter()
                            .any(|p| p["type"] == "function_call_output" && p["call_id"] == *id)
                    ),
                    Some("reasoning") => {
                        assert_eq!(items[i + 1]["type"], "function_call", "reasoning kept alone")
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Message positions (0-based) of each step's call and result, and the task.
fn layout(d: Dialect) -> (usize, [Vec<usize>; 3]) {
    match d {
        Dialect::AnthropicMessages => (0, [vec![1, 2], vec![3, 4], vec![5, 6]]),
        Dialect::OpenAiChat => (1, [vec![2, 3], vec![4, 5], vec![6, 7]]),
        Dialect::OpenAiResponses => (1, [vec![2, 3, 4], vec![5, 6, 7], vec![8, 9, 10]]),
    }
}

#[test]
fn under_the_window_requests_are_untouched() {
    for d in DIALECTS {
        let b = body(d);
        let plain = run(d, &b, &Options { context_strategy: ContextStrategy::Off, ..Options::default() });
        for limit in [None, Some(tokens(d, &b) + 50)] {
            let o = Options { context_limit: limit, ..Options::default() };
            assert_eq!(run(d, &b, &o), plain, "{d:?}");
        }
        assert!(plain.context.is_none());
    }
}

#[test]
fn unknown_models_are_not_managed_without_a_limit() {
    let b = body(Dialect::OpenAiChat).replace("gpt-4o", "my-local-model");
    let tiny = Options { context_limit: None, ..Options::default() };
    assert!(run(Dialect::OpenAiChat, &b, &tiny).context.is_none());
    let limited = Options { context_limit: Some(10), ..tiny };
    assert!(run(Dialect::OpenAiChat, &b, &limited).context.is_some());
}

#[test]
fn the_outcome_says_what_the_engine_knows_of_the_model() {
    let model = |d: Dialect, body: &str, strategy| {
        let o = Options { context_strategy: strategy, ..Options::default() };
        run(d, body, &o).model.map(|m| (m.name, m.window))
    };
    for strategy in [ContextStrategy::Scored, ContextStrategy::Off] {
        let b = body(Dialect::AnthropicMessages).replace("claude-sonnet-4-5", "claude-fable-5");
        assert_eq!(
            model(Dialect::AnthropicMessages, &b, strategy),
            Some(("claude-fable-5".into(), Some(200_000)))
        );
        let b = body(Dialect::OpenAiChat).replace("gpt-4o", "my-local-model");
        assert_eq!(model(Dialect::OpenAiChat, &b, strategy), Some(("my-local-model".into(), None)));
        let b = body(Dialect::OpenAiResponses).replace(r#""model":"gpt-5","#, "");
        assert_eq!(model(Dialect::OpenAiResponses, &b, strategy), None, "no model field");
    }
}

#[test]
fn a_family_window_manages_a_model_the_table_does_not_list() {
    // Over 200,000 tokens of the crude count: the table lists no `claude-opus-9`.
    let b = body(Dialect::AnthropicMessages).replace("claude-sonnet-4-5", "claude-opus-9");
    let b = b.replace(TASK, &"word ".repeat(170_000));
    let out = run(Dialect::AnthropicMessages, &b, &Options { compress_first: false, ..Options::default() });
    assert_eq!(out.context.expect("over the family's window").window, 200_000);
}

#[test]
fn scored_drops_the_unrelated_step_and_keeps_the_failure() {
    for d in DIALECTS {
        let b = body(d);
        let out = run(d, &b, &opts(ContextStrategy::Scored, tokens(d, &b) - 150));
        let (_, steps) = layout(d);
        assert_eq!(dropped(d, &b, &out), steps[1], "{d:?}");
        assert_valid(d, out.body.as_deref().expect("body"));
        let report = out.context.expect("report");
        assert!(report.tokens_after <= tokens(d, &b) - 150 - 50, "{report:?}");
        assert!(!report.compressed_deeper);
    }
}

#[test]
fn position_drops_the_oldest_step_but_keeps_the_task() {
    for d in DIALECTS {
        let b = body(d);
        let out = run(d, &b, &opts(ContextStrategy::Position, tokens(d, &b) - 150));
        let (_, steps) = layout(d);
        assert_eq!(dropped(d, &b, &out), steps[0], "{d:?}");
        assert_valid(d, out.body.as_deref().expect("body"));
    }
}

#[test]
fn rolling_drops_the_oldest_first() {
    for d in DIALECTS {
        let b = body(d);
        let out = run(d, &b, &opts(ContextStrategy::Rolling, tokens(d, &b) - 150));
        let (task, steps) = layout(d);
        let mut expected = vec![task];
        expected.extend(&steps[0]);
        assert_eq!(dropped(d, &b, &out), expected, "{d:?}");
        assert_valid(d, out.body.as_deref().expect("body"));
    }
}

#[test]
fn system_and_latest_turn_are_never_dropped() {
    for d in DIALECTS {
        for strategy in [ContextStrategy::Scored, ContextStrategy::Position, ContextStrategy::Rolling] {
            let b = body(d);
            let out = run(d, &b, &opts(strategy, 1));
            let (task, steps) = layout(d);
            let mut all = vec![task];
            all.extend(steps[0].iter().chain(&steps[1]));
            assert_eq!(dropped(d, &b, &out), all, "{d:?} {strategy:?}");
            let sent = out.body.as_deref().expect("body");
            assert_valid(d, sent);
            let items = list(d, sent);
            let input = list(d, b.as_bytes());
            for i in &steps[2] {
                assert!(items.contains(&input[*i]), "latest turn kept");
            }
            if d != Dialect::AnthropicMessages {
                assert_eq!(items[0], input[0], "system kept first");
            } else {
                let v: Value = serde_json::from_slice(sent).expect("json");
                assert_eq!(v["system"], "You are a coding agent.");
            }
        }
    }
}

#[test]
fn anthropic_marker_joins_the_user_turn_before_the_drop() {
    let d = Dialect::AnthropicMessages;
    let b = body(d);
    let out = run(d, &b, &opts(ContextStrategy::Scored, tokens(d, &b) - 150));
    let items = list(d, out.body.as_deref().expect("body"));
    // Step 1's tool result turn now also carries the marker, after its tool_result.
    let joined = items[2]["content"].as_array().expect("blocks");
    assert_eq!(joined[0]["type"], "tool_result");
    assert!(
        joined[1]["text"].as_str().is_some_and(|t| t.starts_with("[... 2 messages elided (messages 4-5)"))
    );
    assert_eq!(items.len(), 5);
}

#[test]
fn compress_first_avoids_dropping_when_deeper_compression_fits() {
    let d = Dialect::OpenAiChat;
    // Six steps: the first output is old enough for token mode to offload it.
    let log: String = (0..200)
        .map(|i| format!("step {i}: processed record {} in {} ms\n", i * 7919 % 1000, i % 13))
        .collect();
    let mut messages = vec![json!({"role": "user", "content": TASK})];
    for k in 0..6 {
        let out = if k == 0 { log.clone() } else { format!("ok {k}") };
        messages.push(json!({"role": "assistant", "content": null, "tool_calls": [
            {"id": format!("c{k}"), "type": "function", "function": {"name": "bash", "arguments": "{}"}}]}));
        messages.push(json!({"role": "tool", "tool_call_id": format!("c{k}"), "content": out}));
    }
    let b = json!({"model": "gpt-4o", "messages": messages}).to_string();
    let plain = Options { context_strategy: ContextStrategy::Off, ..Options::default() };
    let sent = run(d, &b, &plain).body.unwrap_or_else(|| b.clone().into_bytes());
    let sent = String::from_utf8(sent).expect("utf8");
    let limit =
        super::fit::Measured::of(d, &sent, &count).expect("parses").expect("list").tally.total() - 200;
    let first = run(d, &b, &Options { context_limit: Some(limit), ..Options::default() });
    let report = first.context.clone().expect("report");
    assert!(report.compressed_deeper);
    assert_eq!(report.messages_dropped, 0, "{report:?}");
    assert!(report.tokens_after <= limit);
    assert!(first.offloads.iter().any(|o| o.original == log), "the offloaded output is retrievable");

    let dropping = Options { context_limit: Some(limit), compress_first: false, ..Options::default() };
    let report = run(d, &b, &dropping).context.expect("report");
    assert!(!report.compressed_deeper);
    assert!(report.messages_dropped > 0);
}

#[test]
fn output_budget_counts_against_the_window() {
    let d = Dialect::OpenAiChat;
    let b = body(d);
    let fits = tokens(d, &b) + 20;
    // `max_tokens: 50` takes the request over a window it would otherwise fit.
    let out = run(d, &b, &opts(ContextStrategy::Scored, fits));
    let report = out.context.expect("managed");
    assert_eq!(report.output_budget, 50);
    assert!(report.tokens_after + 50 <= fits);
}

/// Whatever `untouched` says yes to, the engine forwards as it is; it says no to anything a
/// block or the window could change.
#[test]
fn untouched_bodies_are_the_ones_the_engine_leaves_alone() {
    let small = [
        (Dialect::OpenAiChat, r#"{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}"#),
        (Dialect::AnthropicMessages, r#"{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[]}"#),
        (Dialect::OpenAiResponses, r#"{"model":"m","input":"hello"}"#),
        (Dialect::OpenAiChat, r#"{"messages":[{"role":"tool","tool_call_id":"c","content":"x"}]}"#),
    ];
    for (dialect, body) in small {
        for limit in [None, Some(1_000)] {
            assert!(super::untouched(body.as_bytes(), 300, limit), "{body}");
            let opts = Options { context_limit: limit, ..Options::default() };
            let out = compress_request(dialect, body.as_bytes(), &opts, &count).expect("compresses");
            assert!(out.body.is_none() && out.context.is_none(), "{body}");
        }
        // A window smaller than the body, an output budget that leaves no room, a lower gate.
        assert!(!super::untouched(body.as_bytes(), 300, Some(10)), "{body}");
        assert!(!super::untouched(body.as_bytes(), 10, None), "{body}");
    }
    let no_room = r#"{"model":"claude-sonnet-4-5","max_tokens":199990,"messages":[]}"#;
    assert!(!super::untouched(no_room.as_bytes(), 300, Some(200_000)));
    assert!(!super::untouched(b"{not json", 300, None));
    assert!(!super::untouched(b"{\"model\":\"\xff\"}", 300, None), "not UTF-8");
    let large = format!(r#"{{"messages":[{{"role":"user","content":"{}"}}]}}"#, "x".repeat(200));
    assert!(!super::untouched(large.as_bytes(), 300, None));
}
