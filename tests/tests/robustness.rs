//! No input makes the engine panic: arbitrary text (unicode, odd line structure, truncated real
//! outputs) through every transform, with and without a kind hint, and arbitrary bytes as
//! request bodies of every dialect.

use std::sync::OnceLock;

use headroom_core::{ContentKind, Dialect, Options};
use headroom_tests::{corpus_outputs, count};
use proptest::prelude::*;

const KINDS: [ContentKind; 9] = [
    ContentKind::Json,
    ContentKind::Log,
    ContentKind::Search,
    ContentKind::Diff,
    ContentKind::Code,
    ContentKind::StackTrace,
    ContentKind::TestOutput,
    ContentKind::Listing,
    ContentKind::Prose,
];

fn pool() -> &'static [String] {
    static POOL: OnceLock<Vec<String>> = OnceLock::new();
    POOL.get_or_init(|| corpus_outputs(1500))
}

/// Lines mixing structure the detectors look for with multi-byte characters.
fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zé漢🙂_./:0-9 -]{0,40}",
        Just("Traceback (most recent call last):".to_owned()),
        Just("  File \"a.py\", line 3, in f".to_owned()),
        Just("@@ -1,3 +1,4 @@".to_owned()),
        Just("diff --git a/x b/x".to_owned()),
        Just("src/a.rs:12:fn main() {".to_owned()),
        Just("2026-01-01T00:00:00Z ERROR boom".to_owned()),
        Just("def f(x):".to_owned()),
        Just("    return x".to_owned()),
        Just("{\"a\": [1, 2, {\"b\": \"é\"}]}".to_owned()),
        Just("drwxr-xr-x  2 root root 4096 Oct 24  2024 src".to_owned()),
        Just("PASSED tests/test_a.py::test_b".to_owned()),
        Just("[... 3 lines elided (lines 1-3), retrieve: headroom_retrieve(\"h:0\") ...]".to_owned()),
    ]
}

fn text() -> impl Strategy<Value = String> {
    let synthetic = prop::collection::vec(line(), 0..400).prop_map(|l| l.join("\n"));
    let n = pool().len();
    let truncated = (0..n, 0usize..20_000).prop_map(|(i, cut)| {
        let s = &pool()[i];
        let mut at = cut.min(s.len());
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s[..at].to_owned()
    });
    prop_oneof![synthetic, truncated]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn every_transform_survives_any_text(text in text(), kind in 0usize..10, min_tokens in 1u32..400, query in "[a-z_ ]{0,30}") {
        let opts = Options { min_tokens, query: Some(query), ..Options::default() };
        let hint = KINDS.get(kind).cloned();
        let out = headroom_core::compress_content(&text, hint, &opts, &count);
        if let Some(t) = &out.text {
            prop_assert!(out.tokens_after < out.tokens_before);
            prop_assert!(!t.is_empty());
        }
    }

    #[test]
    fn any_bytes_as_a_request_are_an_error_or_a_result(body in prop::collection::vec(any::<u8>(), 0..300), d in 0usize..3) {
        let dialect = [Dialect::AnthropicMessages, Dialect::OpenAiChat, Dialect::OpenAiResponses][d];
        let _ = headroom_core::compress_request(dialect, &body, &Options::default(), &count);
    }
}

#[test]
fn odd_but_valid_requests_pass_through_unchanged() {
    let long = "x ".repeat(2000);
    let cases: Vec<(Dialect, serde_json::Value)> = vec![
        (
            Dialect::OpenAiChat,
            serde_json::json!({"messages": [{"role": "user", "content": null}, {"role": "tool"}, {"role": 7}, {"role": "assistant", "tool_calls": [{"id": 1}, null]}]}),
        ),
        (
            Dialect::OpenAiChat,
            serde_json::json!({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:,"}}, {"type": "text"}, {"type": "text", "text": 3}]}]}),
        ),
        (
            Dialect::AnthropicMessages,
            serde_json::json!({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x", "content": [{"type": "image", "source": {}}, {"type": "text", "text": long}]}]}], "system": [{"type": "text", "text": "s"}, 4]}),
        ),
        (
            Dialect::AnthropicMessages,
            serde_json::json!({"messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "input": {"a": [1, 2]}}, {"type": "thinking", "thinking": long, "signature": "s"}]}]}),
        ),
        (
            Dialect::OpenAiResponses,
            serde_json::json!({"input": [{"type": "reasoning", "encrypted_content": long}, {"type": "function_call_output", "call_id": "none", "output": [{"type": "input_image"}]}, {"type": "mystery", "x": 1}]}),
        ),
        (Dialect::OpenAiResponses, serde_json::json!({"input": "just a string"})),
    ];
    for (dialect, body) in cases {
        let bytes = serde_json::to_vec(&body).expect("json");
        let outcome = headroom_core::compress_request(dialect, &bytes, &Options::default(), &count)
            .unwrap_or_else(|e| panic!("{dialect:?} {body}: {e}"));
        assert!(outcome.body.is_none(), "{dialect:?}: nothing here is a compressible tool output");
    }
}
