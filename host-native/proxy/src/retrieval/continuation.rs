//! The next request of a retrieval round: the body just sent, plus the assistant's turn and
//! the answers to its `headroom_retrieve` calls, appended (the rest stays byte for byte, so
//! the continuation reads the prompt cache the first request wrote).

use serde_json::{Value, json};

use super::json::{EditError, append_to_array, member_items, member_range, set_member};
use super::turn::{Call, Turn, chat_message};

/// `body` continued with `turn` and one answer per call (`answers[i]` answers `calls[i]`).
pub fn next_body(body: &str, turn: &Turn, calls: &[Call], answers: &[String]) -> Result<String, EditError> {
    match turn {
        Turn::Anthropic(blocks) => {
            let results: Vec<Value> = calls
                .iter()
                .zip(answers)
                .map(|(c, a)| json!({"type": "tool_result", "tool_use_id": c.id, "content": a}))
                .collect();
            let assistant = json!({"role": "assistant", "content": blocks});
            let user = json!({"role": "user", "content": results});
            append_to_array(body, "messages", &[assistant.to_string(), user.to_string()])
        }
        Turn::Chat { content, tool_calls } => {
            let mut items = vec![chat_message(content, tool_calls).to_string()];
            items.extend(
                calls
                    .iter()
                    .zip(answers)
                    .map(|(c, a)| json!({"role": "tool", "tool_call_id": c.id, "content": a}).to_string()),
            );
            append_to_array(body, "messages", &items)
        }
        Turn::Responses(output) => {
            let mut items: Vec<String> = output.iter().map(Value::to_string).collect();
            items.extend(calls.iter().zip(answers).map(|(c, a)| {
                json!({"type": "function_call_output", "call_id": c.id, "output": a}).to_string()
            }));
            if member_items(body, "input").is_some() {
                return append_to_array(body, "input", &items);
            }
            // A plain-string input becomes the equivalent one-message list.
            let range = member_range(body, "input")?.ok_or(EditError::Member("input"))?;
            let text: Value = serde_json::from_str(&body[range]).map_err(|_| EditError::Member("input"))?;
            let first = json!({"role": "user", "content": text}).to_string();
            set_member(body, "input", &format!("[{first},{}]", items.join(",")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> Vec<Call> {
        vec![Call { id: "id1".into(), key: "h:1".into() }]
    }

    #[test]
    fn appends_turn_and_results_in_each_dialect() {
        let body = r#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}"#;
        let turn = Turn::Anthropic(vec![
            json!({"type": "tool_use", "id": "id1", "name": "headroom_retrieve", "input": {"hash": "h:1"}}),
        ]);
        let out = next_body(body, &turn, &call(), &["orig".into()]).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["messages"][1]["content"][0]["id"], "id1");
        assert_eq!(v["messages"][2]["content"][0]["tool_use_id"], "id1");
        assert_eq!(v["messages"][2]["content"][0]["content"], "orig");
        assert!(out.starts_with(r#"{"model":"m","messages":[{"role":"user","content":"hi"},"#));

        let turn = Turn::Chat { content: None, tool_calls: vec![json!({"id": "id1"})] };
        let v: Value =
            serde_json::from_str(&next_body(body, &turn, &call(), &["o".into()]).unwrap()).unwrap();
        assert_eq!(v["messages"][2]["role"], "tool");
        assert_eq!(v["messages"][2]["tool_call_id"], "id1");

        let turn = Turn::Responses(vec![json!({"type": "function_call", "call_id": "id1"})]);
        let out = next_body(r#"{"model":"m","input":"hello"}"#, &turn, &call(), &["o".into()]).unwrap();
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["input"][0]["content"], "hello");
        assert_eq!(v["input"][2]["type"], "function_call_output");
    }
}
