//! What an LLM event stream has told the client so far: whether it reached the event that
//! ends it, and what the provider's own error event must carry to end it early (the next
//! sequence number, the response it belongs to). It only reads the bytes: what the client
//! receives is untouched.

use bytes::Bytes;
use headroom_runtime::wit::Dialect;
use serde_json::{Value, json};

use crate::retrieval::sse::{self, Event, Parser};

/// Why the proxy ends a stream before the upstream did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// No byte arrived for this many seconds.
    Idle(u64),
    /// The upstream connection failed mid-body (reset, short read, bad framing).
    Cut(String),
    /// The upstream ended the body before the event that ends the stream.
    EndedEarly,
    /// Something the proxy itself did failed (a retrieval continuation).
    Proxy(String),
}

impl Fault {
    fn message(&self) -> String {
        let what = match self {
            Self::Idle(secs) => format!("the upstream sent nothing for {secs} s (stream idle timeout)"),
            Self::Cut(e) => format!("the upstream connection failed mid-stream: {e}"),
            Self::EndedEarly => "the upstream ended the stream before its final event".to_owned(),
            Self::Proxy(e) => e.clone(),
        };
        format!("headroom proxy: {what}")
    }
}

/// Follows one stream's events as the client receives them.
pub struct Watch {
    dialect: Dialect,
    parser: Parser,
    finished: bool,
    /// Responses: the sequence number the next event must carry.
    next_sequence: Option<u64>,
    /// Responses: the response `response.created` announced.
    response: Option<Value>,
}

impl Watch {
    /// A watch for a stream in `dialect`.
    pub fn new(dialect: Dialect) -> Self {
        Self { dialect, parser: Parser::default(), finished: false, next_sequence: None, response: None }
    }

    /// Bytes the client is about to receive.
    pub fn observe(&mut self, chunk: &[u8]) {
        if self.finished {
            return;
        }
        for event in self.parser.push(chunk) {
            self.event(&event);
        }
    }

    /// The stream's final event went out: nothing after it matters to the client.
    pub fn finished(&mut self) -> bool {
        if !self.finished
            && let Some(event) = self.parser.finish()
        {
            self.event(&event);
        }
        self.finished
    }

    fn event(&mut self, event: &Event) {
        let name = event.name.as_deref();
        self.finished |= match self.dialect {
            Dialect::AnthropicMessages => matches!(name, Some("message_stop" | "error")),
            Dialect::OpenaiChat => chat_ends(&event.data),
            Dialect::OpenaiResponses => {
                self.sequence(&event.data);
                if name == Some("response.created")
                    && let Ok(mut data) = serde_json::from_str::<Value>(&event.data)
                {
                    self.response = Some(data["response"].take());
                }
                matches!(
                    name,
                    Some("response.completed" | "response.failed" | "response.incomplete" | "error")
                )
            }
        };
    }

    /// Remember the sequence number an event carries (a search: events are not parsed).
    fn sequence(&mut self, data: &str) {
        const FIELD: &str = "\"sequence_number\":";
        let Some(at) = data.find(FIELD) else { return };
        let digits: String =
            data[at + FIELD.len()..].trim_start().chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse::<u64>() {
            self.next_sequence = Some(n + 1);
        }
    }

    /// The event that ends the stream in the provider's format: what its SDK raises as an
    /// API error.
    pub fn error_event(&self, fault: &Fault) -> Bytes {
        let message = fault.message();
        let timeout = matches!(fault, Fault::Idle(_));
        match self.dialect {
            Dialect::AnthropicMessages => {
                let kind = if timeout { "timeout_error" } else { "api_error" };
                let data = json!({"type": "error", "error": {"type": kind, "message": message}});
                sse::encode(Some("error"), &data.to_string())
            }
            Dialect::OpenaiChat => {
                let code = if timeout { json!("timeout") } else { Value::Null };
                let data = json!({"error": {"message": message, "type": "server_error", "param": null, "code": code}});
                sse::encode(None, &data.to_string())
            }
            Dialect::OpenaiResponses => {
                let sequence = self.next_sequence.unwrap_or(0);
                let error = json!({"code": "server_error", "message": message});
                match self.response.clone().filter(Value::is_object) {
                    // The response the client follows fails, as the API reports a failure.
                    Some(mut response) => {
                        response["status"] = "failed".into();
                        response["error"] = error;
                        let data = json!({"type": "response.failed", "sequence_number": sequence, "response": response});
                        sse::encode(Some("response.failed"), &data.to_string())
                    }
                    None => {
                        let data = json!({"type": "error", "code": "server_error", "message": message,
                            "param": null, "sequence_number": sequence});
                        sse::encode(Some("error"), &data.to_string())
                    }
                }
            }
        }
    }
}

/// A Chat Completions event that ends the stream: `[DONE]`, an error, or a chunk with a
/// finish reason (compatible servers that never send `[DONE]` still end there).
fn chat_ends(data: &str) -> bool {
    let data = data.trim();
    if data == "[DONE]" {
        return true;
    }
    if !(data.contains("finish_reason") || data.contains("\"error\"")) {
        return false;
    }
    let Ok(chunk) = serde_json::from_str::<Value>(data) else { return false };
    chunk["error"].is_object()
        || chunk["choices"].as_array().is_some_and(|c| c.iter().any(|c| c["finish_reason"].is_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_events_are_recognised_per_dialect() {
        let cases = [
            (Dialect::AnthropicMessages, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"),
            (Dialect::OpenaiChat, "data: [DONE]\n\n"),
            (
                Dialect::OpenaiChat,
                "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
            ),
            (
                Dialect::OpenaiResponses,
                "event: response.completed\ndata: {\"type\":\"response.completed\"}\n\n",
            ),
        ];
        for (dialect, last) in cases {
            let mut w = Watch::new(dialect);
            w.observe(b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},\"finish_reason\":null}]}\n\n");
            assert!(!w.finished(), "{dialect:?}");
            let (a, b) = last.split_at(last.len() / 2);
            w.observe(a.as_bytes());
            w.observe(b.as_bytes());
            assert!(w.finished(), "{dialect:?}: {last}");
        }
    }

    #[test]
    fn responses_errors_continue_the_sequence_and_fail_the_response() {
        let mut w = Watch::new(Dialect::OpenaiResponses);
        let created = "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\
                       \"response\":{\"id\":\"resp_1\",\"status\":\"in_progress\"}}\n\n";
        w.observe(created.as_bytes());
        w.observe(b"event: response.in_progress\ndata: {\"type\":\"response.in_progress\",\"sequence_number\":1}\n\n");
        let event = w.error_event(&Fault::Idle(5));
        let parsed = Parser::default().push(&event).pop().expect("one event");
        assert_eq!(parsed.name.as_deref(), Some("response.failed"));
        let data: Value = serde_json::from_str(&parsed.data).expect("json");
        assert_eq!(data["sequence_number"], 2);
        assert_eq!(data["response"]["id"], "resp_1");
        assert_eq!(data["response"]["status"], "failed");
        assert!(data["response"]["error"]["message"].as_str().is_some_and(|m| m.contains("idle")));
    }
}
