use serde_json::{Value, json};

use super::*;

fn count_bytes(s: &str) -> u32 {
    u32::try_from(s.len() / 4).unwrap_or(u32::MAX)
}

fn log_text() -> String {
    (0..400).map(|i| format!("2024-01-01 INFO worker {} finished job {i}\n", i % 3)).collect()
}

fn run(dialect: Option<Dialect>, system: Option<&str>, messages: &Value) -> MessagesOutcome {
    let text = messages.to_string();
    let list = MessageList { dialect, model: Some("gpt-4o"), system, messages: &text };
    compress_messages(&list, &Options::default(), &count_bytes).expect("compresses")
}

#[test]
fn responses_input_with_output_items_is_sniffed_compressed_and_counted() {
    let messages = json!([
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "run the job"}]},
        {"type": "function_call", "call_id": "c1", "name": "shell", "arguments": "{\"cmd\":\"./job\"}"},
        {"type": "function_call_output", "call_id": "c1", "output": log_text()},
    ]);
    let o = run(None, None, &messages);
    assert_eq!(o.dialect, Dialect::OpenAiResponses);
    let out: Value = serde_json::from_str(o.messages.as_deref().expect("rewritten")).unwrap();
    assert_eq!(out[0], messages[0], "what is not rewritten comes back as it was");
    assert_eq!(out[1], messages[1]);
    assert_ne!(out[2]["output"], messages[2]["output"]);
    assert!(o.tokens_before > count_bytes(&log_text()).into(), "the output is counted");
    assert!(o.tokens_after < o.tokens_before);
    assert!(!o.report.is_empty());
}

#[test]
fn chat_and_anthropic_lists() {
    let chat = json!([
        {"role": "user", "content": "run the job"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "shell", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": log_text()},
    ]);
    let o = run(None, None, &chat);
    assert_eq!(o.dialect, Dialect::OpenAiChat);
    assert!(o.messages.is_some() && o.tokens_after < o.tokens_before);

    let anthropic = json!([
        {"role": "user", "content": "run the job"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "shell", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": log_text()}]},
    ]);
    let o = run(None, Some("\"be terse\""), &anthropic);
    assert_eq!(o.dialect, Dialect::AnthropicMessages);
    let out: Value = serde_json::from_str(o.messages.as_deref().expect("rewritten")).unwrap();
    assert_eq!(out.as_array().map(Vec::len), Some(3), "the list only, never the system prompt");
}

#[test]
fn an_unchanged_list_reports_equal_counts_and_no_messages() {
    let o = run(Some(Dialect::OpenAiChat), None, &json!([{"role": "user", "content": "hi there"}]));
    assert_eq!((o.messages, o.tokens_before, o.tokens_after), (None, 2, 2));
}

#[test]
fn bad_lists_are_malformed_requests() {
    let opts = Options::default();
    for (messages, system, why) in [
        ("{}", None, "must be an array"),
        ("[1]", None, "messages[0] must be an object"),
        ("[", None, "not JSON"),
        ("[]", Some("{"), "`system` is not JSON"),
    ] {
        let list = MessageList { dialect: None, model: None, system, messages };
        match compress_messages(&list, &opts, &count_bytes) {
            Err(CompressError::MalformedRequest(m)) => assert!(m.contains(why), "{m}"),
            other => panic!("{messages}: {other:?}"),
        }
    }
}

#[test]
fn the_model_is_escaped_into_the_body() {
    let list = MessageList { dialect: None, model: Some("a\"b"), system: None, messages: "[]" };
    assert_eq!(wrap(Dialect::OpenAiResponses, &list), r#"{"model":"a\"b","input":[]}"#);
}
