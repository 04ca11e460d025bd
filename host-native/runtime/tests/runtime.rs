//! The runtime on the real component: warm instances, deadlines, limits.

use std::path::PathBuf;
use std::time::Duration;

use headroom_runtime::{Limits, Runtime, RuntimeConfig, RuntimeError, default_options, wit};

fn component() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/wasm/headroom-core.wasm")
}

fn body() -> Vec<u8> {
    body_of(400)
}

fn body_of(lines: usize) -> Vec<u8> {
    let log: String =
        (0..lines).map(|i| format!("2026-01-01T00:00:{:02} INFO request {i} served\n", i % 60)).collect();
    serde_json::to_vec(&serde_json::json!({"model": "m", "messages": [
        {"role": "user", "content": "run it"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": log}
    ]}))
    .expect("json")
}

#[test]
fn repeated_calls_on_warm_instances_give_identical_results_within_a_deadline() {
    let config = RuntimeConfig {
        limits: Limits { deadline: Some(Duration::from_secs(5)), ..Limits::default() },
        ..RuntimeConfig::default()
    };
    let rt = Runtime::from_file(&component(), &config).expect("load");
    let body = body();
    let first = rt
        .compress_request(wit::Dialect::OpenaiChat, &body, &default_options())
        .expect("no trap")
        .expect("ok");
    assert!(first.body.is_some(), "the log is compressed");
    for _ in 0..5 {
        let again = rt
            .compress_request(wit::Dialect::OpenaiChat, &body, &default_options())
            .expect("no trap")
            .expect("ok");
        assert_eq!(again.body, first.body);
    }
}

#[test]
fn a_call_past_its_deadline_is_interrupted() {
    let config = RuntimeConfig {
        limits: Limits { deadline: Some(Duration::from_nanos(1)), ..Limits::default() },
        ..RuntimeConfig::default()
    };
    let rt = Runtime::from_file(&component(), &config).expect("load");
    // Far more work than one 5 ms epoch tick.
    let big = body_of(200_000);
    let r = rt.compress_request(wit::Dialect::OpenaiChat, &big, &default_options());
    assert!(matches!(r, Err(RuntimeError::Timeout)), "{r:?}");
}

#[test]
fn a_conversation_through_its_lane_gives_the_stateless_bytes_and_reuses_its_turns() {
    let rt = Runtime::from_file(&component(), &RuntimeConfig::default()).expect("load");
    let turn = |n: usize| {
        let messages: Vec<serde_json::Value> = (0..n)
            .flat_map(|i| {
                let log: String = (0..300).map(|j| format!("2024-01-01 INFO worker {i} step {j} ok\n")).collect();
                [
                    serde_json::json!({"role": "user", "content": format!("run step {i}")}),
                    serde_json::json!({"role": "assistant", "content": null, "tool_calls": [{"id": format!("c{i}"), "type": "function", "function": {"name": "bash", "arguments": "{}"}}]}),
                    serde_json::json!({"role": "tool", "tool_call_id": format!("c{i}"), "content": log}),
                ]
            })
            .collect();
        serde_json::to_vec(&serde_json::json!({"model": "gpt-4o", "messages": messages})).expect("json")
    };
    let mut reused = 0;
    for n in 1..6 {
        let body = turn(n);
        let stateless = rt
            .compress_request(wit::Dialect::OpenaiChat, &body, &default_options())
            .expect("no trap")
            .expect("ok");
        let (with, reuse) = rt
            .compress_request_in(
                "tenant",
                "conversation",
                wit::Dialect::OpenaiChat,
                &body,
                &default_options(),
            )
            .expect("no trap")
            .expect("ok");
        assert_eq!(with.body, stateless.body, "turn {n}");
        let keys =
            |o: &[wit::Offload]| o.iter().map(|o| (o.key.clone(), o.original.clone())).collect::<Vec<_>>();
        assert_eq!(keys(&with.offloads), keys(&stateless.offloads), "turn {n}");
        reused += reuse.segments;
    }
    assert!(reused > 0);
    let m = rt.memories();
    assert_eq!((m.hits, m.misses, m.conversations), (4, 1, 1));
}
