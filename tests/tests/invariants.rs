//! One test per invariant of the design (shared/DESIGN.md), on real agent traffic.

use headroom_core::marker::{Marker, Unit};
use headroom_core::offload::key_for;
use headroom_core::{Dialect, Mode, Options, Status};
use headroom_tests::{
    component_request, corpus_conversation, count, native_request, openai_body, raw_messages,
};

const TRAJ: &str = "pytest-dev__pytest-7571.traj.json";

fn steps(conv: &[(String, String)]) -> Vec<usize> {
    (2..conv.len()).filter(|&k| conv[k].0 == "user" && conv[k].1.starts_with("<returncode>")).collect()
}

#[test]
fn i1_byte_faithful_passthrough() {
    // Odd number formats, key order and unknown fields must survive, also when a block changes.
    let conv = corpus_conversation(TRAJ);
    let k = steps(&conv).into_iter().find(|&k| conv[k].1.len() > 3000).expect("a big output");
    let messages: Vec<serde_json::Value> =
        conv[..=k].iter().map(|(r, c)| serde_json::json!({"role": r, "content": c})).collect();
    let prefix =
        r#"{"zeta":1.50,"model":"gpt-4o","temperature":1e0,"x_unknown":{"b":1,"a":[1.0,2]},"messages":"#;
    let body = format!("{prefix}{}{}", serde_json::to_string(&messages).expect("json"), r#","n":1}"#);
    let out = native_request(Dialect::OpenAiChat, body.as_bytes(), &Options::default());
    assert_ne!(out, body.as_bytes(), "the big output should have been compressed");
    let out = String::from_utf8(out).expect("utf8");
    assert!(out.starts_with(prefix));
    assert!(out.ends_with(r#","n":1}"#));
    let (before, after) = (raw_messages(body.as_bytes()), raw_messages(out.as_bytes()));
    assert_eq!(before.len(), after.len());
    let changed: Vec<usize> = (0..before.len()).filter(|&i| before[i] != after[i]).collect();
    assert!(changed.iter().all(|&i| conv[i].0 == "user" && conv[i].1.starts_with("<returncode>")));

    // Nothing to compress: no new body at all.
    let small = openai_body(&conv[..3]);
    let outcome = headroom_core::compress_request(Dialect::OpenAiChat, &small, &Options::default(), &count)
        .expect("valid");
    assert!(outcome.body.is_none());
}

#[test]
fn i2_cache_safety_history_is_append_only() {
    let conv = corpus_conversation(TRAJ);
    let opts = Options { mode: Mode::Cache, ..Options::default() };
    let mut previous: Option<Vec<String>> = None;
    for k in steps(&conv) {
        let sent = raw_messages(&native_request(Dialect::OpenAiChat, &openai_body(&conv[..=k]), &opts));
        if let Some(prev) = &previous {
            assert_eq!(&sent[..prev.len()], &prev[..], "step {k} rewrote history the provider already saw");
        }
        previous = Some(sent);
    }
}

#[test]
fn i2_token_mode_rewrites_history_only_when_the_offload_boundary_moves() {
    let conv = corpus_conversation(TRAJ);
    // Small batches, so a short conversation moves its boundary a few times.
    let opts = Options { mode: Mode::Token, offload_batch_tokens: 2_000, ..Options::default() };
    let turns = |k: usize| conv[..=k].iter().filter(|(role, _)| role == "assistant").count() as u32;
    let (mut kept, mut moved) = (0, 0);
    let mut previous: Option<Vec<String>> = None;
    for k in steps(&conv) {
        let body = openai_body(&conv[..=k]);
        let sent = raw_messages(&native_request(Dialect::OpenAiChat, &body, &opts));
        let segments = headroom_core::request::segments(
            Dialect::OpenAiChat,
            std::str::from_utf8(&body).expect("utf-8"),
            &opts,
        )
        .expect("valid");
        let blocks = segments.iter().map(|s| match s {
            headroom_core::request::Segment::Block(c) => (c.turns - c.age, c.raw.get().len(), true),
            headroom_core::request::Segment::Seen { age, text, .. } => {
                (turns(k).saturating_sub(*age), text.len(), false)
            }
        });
        let plan = headroom_core::batch::Boundaries::plan(
            blocks,
            turns(k),
            opts.offload_after_turns,
            opts.offload_batch_tokens,
        );
        if let Some(prev) = &previous {
            let prev_turns = turns(k) - 1;
            if plan.at(prev_turns) == plan.at(turns(k)) {
                assert_eq!(
                    &sent[..prev.len()],
                    &prev[..],
                    "step {k} changed history between offload batches"
                );
                kept += 1;
            } else {
                moved += 1;
            }
        }
        previous = Some(sent);
    }
    assert!(moved > 0 && kept >= 2 * moved, "kept {kept}, moved {moved}");
}

#[test]
fn i3_determinism_across_runs_and_hosts() {
    let conv = corpus_conversation(TRAJ);
    for mode in [Mode::Cache, Mode::Token] {
        let opts = Options { mode, ..Options::default() };
        for k in steps(&conv).into_iter().step_by(5) {
            let body = openai_body(&conv[..=k]);
            let a = native_request(Dialect::OpenAiChat, &body, &opts);
            let b = native_request(Dialect::OpenAiChat, &body, &opts);
            let c = component_request(Dialect::OpenAiChat, &body, &opts);
            assert_eq!(a, b, "native run differs at step {k}");
            assert_eq!(a, c, "component differs from native at step {k}");
        }
    }
}

#[test]
fn i4_never_worse_in_real_tokens() {
    let conv = corpus_conversation(TRAJ);
    for mode in [Mode::Cache, Mode::Token] {
        let opts = Options { mode, ..Options::default() };
        let k = *steps(&conv).last().expect("steps");
        let body = openai_body(&conv[..=k]);
        let outcome =
            headroom_core::compress_request(Dialect::OpenAiChat, &body, &opts, &count).expect("valid");
        for b in &outcome.report {
            if let Status::Compressed(_) = b.status {
                assert!(b.tokens_after < b.tokens_before, "{b:?}");
            } else {
                assert_eq!(b.tokens_after, b.tokens_before);
            }
        }
    }
}

#[test]
fn i5_structure_roles_pairing_and_signed_blocks_kept() {
    let big: String = (0..400)
        .map(|i| format!("src/mod_{}.py:{}:    value = compute_{}(x)\n", i / 60, i * 3 + 1, i))
        .collect();
    let body = serde_json::json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [
            {"role": "user", "content": "Find the callers."},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "search first", "signature": "EqQBCgIYAhIM1gbcDa9G"},
                {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va3pzix"},
                {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "grep -rn compute_ src"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": big, "cache_control": {"type": "ephemeral"}}
            ]}
        ]
    });
    let body = serde_json::to_vec(&body).expect("json");
    let out = native_request(Dialect::AnthropicMessages, &body, &Options::default());
    assert!(out.len() < body.len(), "the grep output should shrink");
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_slice(&body).expect("json"),
        serde_json::from_slice(&out).expect("still valid JSON"),
    );
    for i in 0..3 {
        assert_eq!(a["messages"][i]["role"], b["messages"][i]["role"]);
    }
    assert_eq!(a["messages"][1], b["messages"][1], "assistant turn (signed thinking, tool_use) untouched");
    let (ra, rb) = (&a["messages"][2]["content"][0], &b["messages"][2]["content"][0]);
    assert_eq!(ra["tool_use_id"], rb["tool_use_id"]);
    assert_eq!(ra["cache_control"], rb["cache_control"]);
    assert_eq!(ra["type"], rb["type"]);
}

#[test]
fn i6_markers_exact_and_originals_retrievable() {
    let conv = corpus_conversation(TRAJ);
    let opts = Options { mode: Mode::Token, ..Options::default() };
    let k = *steps(&conv).last().expect("steps");
    let outcome =
        headroom_core::compress_request(Dialect::OpenAiChat, &openai_body(&conv[..=k]), &opts, &count)
            .expect("valid");
    let sent = String::from_utf8(outcome.body.expect("compressed")).expect("utf8");
    let markers = Marker::find_all(&sent.replace("\\n", "\n").replace("\\\"", "\""));
    assert!(!markers.is_empty(), "token mode offloads old outputs");
    for m in &markers {
        let off =
            outcome.offloads.iter().find(|o| o.key == m.key).expect("every marker's original is offloaded");
        assert_eq!(key_for(&off.original), off.key, "keys are content addresses");
        let total = match m.unit {
            Unit::Lines => off.original.trim_end_matches('\n').split('\n').count(),
            Unit::Items => usize::MAX,
            Unit::Messages => {
                serde_json::from_str::<Vec<serde_json::Value>>(&off.original).map_or(0, |v| v.len())
            }
        };
        assert_eq!(m.count, m.ranges.iter().map(|(a, b)| b + 1 - a).sum::<usize>());
        assert!(m.ranges.iter().all(|&(a, b)| a >= 1 && a <= b && b <= total), "{m:?} beyond {total} lines");
    }
}

#[test]
fn i7_text_a_person_typed_is_never_rewritten() {
    let prose: String =
        (0..300).map(|i| format!("Please also check case {i} of the parser, it fails.\n")).collect();
    let conv = vec![("user".to_owned(), prose)];
    let body = openai_body(&conv);
    for mode in [Mode::Cache, Mode::Token] {
        let out = native_request(Dialect::OpenAiChat, &body, &Options { mode, ..Options::default() });
        assert_eq!(out, body);
    }
}

#[test]
fn i8_malformed_requests_are_typed_errors_not_panics() {
    for (dialect, body) in [
        (Dialect::OpenAiChat, &b"{"[..]),
        (Dialect::OpenAiChat, br#"{"messages": 3}"#),
        (Dialect::AnthropicMessages, br#"[1,2]"#),
        (Dialect::OpenAiResponses, br#"{"model":"x"}"#),
        (Dialect::AnthropicMessages, b"\xff\xfe"),
    ] {
        let r = headroom_core::compress_request(dialect, body, &Options::default(), &count);
        assert!(matches!(r, Err(headroom_core::CompressError::MalformedRequest(_))), "{r:?}");
    }
    let r = headroom_tests::runtime()
        .compress_request(
            headroom_tests::wit_dialect(Dialect::OpenAiChat),
            b"{",
            &headroom_runtime::default_options(),
        )
        .expect("no trap");
    assert!(matches!(r, Err(headroom_runtime::wit::CompressError::MalformedRequest(_))));
}

#[test]
fn lossless_option_keeps_every_transform_lossless() {
    let conv = corpus_conversation(TRAJ);
    let opts = Options { mode: Mode::Token, lossy: false, ..Options::default() };
    let k = *steps(&conv).last().expect("steps");
    let outcome =
        headroom_core::compress_request(Dialect::OpenAiChat, &openai_body(&conv[..=k]), &opts, &count)
            .expect("valid");
    assert!(outcome.offloads.is_empty());
    if let Some(body) = outcome.body {
        assert!(Marker::find_all(&String::from_utf8(body).expect("utf8")).is_empty());
    }
}
