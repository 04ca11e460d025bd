//! Upstream faults on the three LLM routes, one test per fault per API: each asserts the
//! status the client gets, the error's shape in its provider's format, the time it took
//! against the configured bound, and that the proxy closed the upstream connection it gave up
//! on. The upstream is raw TCP (`support::faulty`), so every fault is the real thing.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::faulty::{self, Behaviour, Faulty, Script};
use support::{config, start_proxy};

/// The bounds the proxy runs with here (head, idle, connect), small so a test is quick.
const BOUND: Duration = Duration::from_secs(1);
/// What a fault may take beyond its bound.
const SLACK: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    Messages,
    Chat,
    Responses,
}

impl Api {
    fn path(self) -> &'static str {
        match self {
            Self::Messages => "/v1/messages",
            Self::Chat => "/v1/chat/completions",
            Self::Responses => "/v1/responses",
        }
    }

    fn request(self, stream: bool) -> Value {
        match self {
            Self::Messages => json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "stream": stream,
                "messages": [{"role": "user", "content": "hi"}]}),
            Self::Chat => json!({"model": "gpt-4o", "stream": stream,
                "messages": [{"role": "user", "content": "hi"}]}),
            Self::Responses => json!({"model": "gpt-4o", "stream": stream, "store": false, "input": "hi"}),
        }
    }

    /// The events a stream sends before its fault, and the JSON answer.
    fn script(self) -> Script {
        let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
        let events = match self {
            Self::Messages => vec![
                ev(
                    "message_start",
                    json!({"type": "message_start", "message": {"id": "msg_f", "type": "message",
                    "role": "assistant", "model": "claude-sonnet-4-5", "content": [], "stop_reason": null,
                    "usage": {"input_tokens": 5, "output_tokens": 1}}}),
                ),
                ev(
                    "content_block_start",
                    json!({"type": "content_block_start", "index": 0,
                    "content_block": {"type": "text", "text": ""}}),
                ),
                ev(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": "Hello"}}),
                ),
            ],
            Self::Chat => vec![
                format!(
                    "data: {}\n\n",
                    json!({"id": "chatcmpl-f", "object": "chat.completion.chunk", "created": 1,
                    "model": "gpt-4o", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                    "finish_reason": null}]})
                ),
                format!(
                    "data: {}\n\n",
                    json!({"id": "chatcmpl-f", "object": "chat.completion.chunk", "created": 1,
                    "model": "gpt-4o", "choices": [{"index": 0, "delta": {"content": "Hello"}, "finish_reason": null}]})
                ),
            ],
            Self::Responses => {
                let response = json!({"id": "resp_f", "object": "response", "created_at": 1, "status": "in_progress",
                    "model": "gpt-4o", "output": []});
                vec![
                    ev(
                        "response.created",
                        json!({"type": "response.created", "sequence_number": 0, "response": response}),
                    ),
                    ev(
                        "response.in_progress",
                        json!({"type": "response.in_progress", "sequence_number": 1,
                        "response": response}),
                    ),
                    ev(
                        "response.output_item.added",
                        json!({"type": "response.output_item.added", "sequence_number": 2,
                        "output_index": 0, "item": {"id": "msg_f", "type": "message", "status": "in_progress",
                        "role": "assistant", "content": []}}),
                    ),
                ]
            }
        };
        Script { events, json: self.answer("Hello, world").to_string() }
    }

    fn answer(self, text: &str) -> Value {
        match self {
            Self::Messages => {
                json!({"id": "msg_f", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": null,
                "usage": {"input_tokens": 5, "output_tokens": 3}})
            }
            Self::Chat => {
                json!({"id": "chatcmpl-f", "object": "chat.completion", "created": 1, "model": "gpt-4o",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}})
            }
            Self::Responses => {
                json!({"id": "resp_f", "object": "response", "created_at": 1, "status": "completed",
                "model": "gpt-4o", "output": [{"type": "message", "id": "msg_f", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}]}],
                "usage": {"input_tokens": 5, "output_tokens": 3, "total_tokens": 8}})
            }
        }
    }

    /// A whole stream carrying `text`, final event included.
    fn full_stream(self, text: &str) -> String {
        let mut events = self.script().events;
        let ev = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n");
        match self {
            Self::Messages => events.extend([
                ev("content_block_delta", json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": text}})),
                ev("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
                ev("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "end_turn",
                    "stop_sequence": null}, "usage": {"output_tokens": 9}})),
                ev("message_stop", json!({"type": "message_stop"})),
            ]),
            Self::Chat => events.extend([
                format!("data: {}\n\n", json!({"id": "chatcmpl-f", "object": "chat.completion.chunk", "created": 1,
                    "model": "gpt-4o", "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": null}]})),
                format!("data: {}\n\n", json!({"id": "chatcmpl-f", "object": "chat.completion.chunk", "created": 1,
                    "model": "gpt-4o", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})),
                "data: [DONE]\n\n".to_owned(),
            ]),
            Self::Responses => events.extend([
                ev("response.output_text.delta", json!({"type": "response.output_text.delta", "sequence_number": 3,
                    "item_id": "msg_f", "output_index": 0, "content_index": 0, "delta": text})),
                ev("response.completed", json!({"type": "response.completed", "sequence_number": 4,
                    "response": self.answer(text)})),
            ]),
        }
        events.concat()
    }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client")
}

async fn proxy_for(url: &str) -> support::Proxy {
    let mut cfg = config(url);
    cfg.upstream_timeout = BOUND;
    cfg.stream_idle_timeout = BOUND;
    cfg.connect_timeout = BOUND;
    start_proxy(cfg).await
}

/// One request through a proxy in front of `upstream`: status, headers, body, time taken.
async fn call(proxy: &support::Proxy, api: Api, stream: bool) -> (u16, http::HeaderMap, String, Duration) {
    let started = Instant::now();
    let r = client()
        .post(format!("{}{}", proxy.url, api.path()))
        .header("x-api-key", "sk-test")
        .header("authorization", "Bearer sk-test")
        .header("anthropic-version", "2023-06-01")
        .json(&api.request(stream))
        .send()
        .await
        .expect("the proxy answers");
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let body = r.text().await.expect("the body ends cleanly");
    (status, headers, body, started.elapsed())
}

/// The proxy's own error in `api`'s JSON format.
fn assert_error_json(api: Api, status: u16, body: &str) {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{api:?}: not JSON ({e}): {body}"));
    match api {
        Api::Messages => {
            assert_eq!(v["type"], "error", "{body}");
            let kind = if status == 504 { "timeout_error" } else { "api_error" };
            assert_eq!(v["error"]["type"], kind, "{body}");
            assert!(
                v["error"]["message"].as_str().is_some_and(|m| m.starts_with("headroom proxy")),
                "{body}"
            );
        }
        Api::Chat | Api::Responses => {
            assert_eq!(v["error"]["type"], "server_error", "{body}");
            assert!(
                v["error"]["message"].as_str().is_some_and(|m| m.starts_with("headroom proxy")),
                "{body}"
            );
            assert!(v["error"].get("param").is_some() && v["error"].get("code").is_some(), "{body}");
            if status == 504 {
                assert_eq!(v["error"]["code"], "timeout", "{body}");
            }
        }
    }
}

/// `body` is the upstream's events untouched, then one error event in `api`'s format.
fn assert_error_event(api: Api, body: &str) {
    let sent = api.script().events.concat();
    assert!(body.starts_with(&sent), "{api:?}: the events before the fault changed: {body}");
    let rest = &body[sent.len()..];
    let (mut name, mut data) = (None, String::new());
    for line in rest.lines() {
        if let Some(n) = line.strip_prefix("event: ") {
            name = Some(n.to_owned());
        } else if let Some(d) = line.strip_prefix("data: ") {
            data = d.to_owned();
        }
    }
    assert_eq!(rest.matches("\n\n").count(), 1, "{api:?}: one event after the fault: {rest}");
    let v: Value = serde_json::from_str(&data).unwrap_or_else(|e| panic!("{api:?}: {e}: {rest}"));
    match api {
        Api::Messages => {
            assert_eq!(name.as_deref(), Some("error"), "{rest}");
            assert_eq!(v["type"], "error", "{rest}");
            assert!(v["error"]["type"].is_string() && v["error"]["message"].is_string(), "{rest}");
        }
        Api::Chat => {
            assert_eq!(name, None, "{rest}");
            assert_eq!(v["error"]["type"], "server_error", "{rest}");
            assert!(v["error"]["message"].is_string(), "{rest}");
        }
        Api::Responses => {
            assert_eq!(name.as_deref(), Some("response.failed"), "{rest}");
            assert_eq!(v["type"], "response.failed", "{rest}");
            assert_eq!(v["sequence_number"], 3, "{rest}");
            assert_eq!(v["response"]["id"], "resp_f", "{rest}");
            assert_eq!(v["response"]["status"], "failed", "{rest}");
            assert!(v["response"]["error"]["message"].is_string(), "{rest}");
        }
    }
}

/// The proxy closed the upstream connection within `limit` of the request starting.
async fn assert_closed(upstream: &Faulty, started: Instant, limit: Duration) {
    assert!(upstream.closed_within(1, limit + SLACK).await, "the upstream connection was never closed");
    let at = upstream.closed.lock().expect("lock")[0];
    assert!(at.duration_since(started) <= limit + SLACK, "closed after {:?}", at.duration_since(started));
}

async fn refused(api: Api) {
    let proxy = proxy_for(&faulty::refusing_url().await).await;
    let (status, _, body, took) = call(&proxy, api, false).await;
    assert_eq!(status, 502, "{body}");
    assert_error_json(api, status, &body);
    assert!(took <= BOUND + SLACK, "{took:?}");
}

async fn reset_before_head(api: Api, stream: bool) {
    let upstream = faulty::start(Behaviour::Reset, api.script()).await;
    let proxy = proxy_for(&upstream.url).await;
    let (status, _, body, took) = call(&proxy, api, stream).await;
    assert_eq!(status, 502, "{body}");
    assert_error_json(api, status, &body);
    assert!(took <= BOUND + SLACK, "{took:?}");
}

async fn hang(api: Api, stream: bool) {
    let upstream = faulty::start(Behaviour::Hang, api.script()).await;
    let proxy = proxy_for(&upstream.url).await;
    let started = Instant::now();
    let (status, _, body, took) = call(&proxy, api, stream).await;
    assert_eq!(status, 504, "{body}");
    assert_error_json(api, status, &body);
    assert!(took >= BOUND && took <= BOUND + SLACK, "{took:?}");
    assert_closed(&upstream, started, BOUND).await;
}

/// A fault after a 200 head on a non-streaming request: an error status in the provider's
/// format, the upstream let go of.
async fn json_fault(api: Api, behaviour: Behaviour, status_wanted: u16, bound: Duration) {
    let resets = matches!(behaviour, Behaviour::CutReset);
    let upstream = faulty::start(behaviour, api.script()).await;
    let proxy = proxy_for(&upstream.url).await;
    let started = Instant::now();
    let (status, _, body, took) = call(&proxy, api, false).await;
    assert_eq!(status, status_wanted, "{body}");
    assert_error_json(api, status, &body);
    assert!(took >= bound && took <= bound + SLACK, "{took:?}");
    if !resets {
        assert_closed(&upstream, started, bound).await;
    }
}

/// A fault inside a stream: 200, the events so far untouched, the provider's error event, a
/// clean end, the upstream let go of.
async fn stream_fault(api: Api, behaviour: Behaviour, bound: Duration) {
    // A reset is the upstream's own close; a stream that ended in good order leaves a
    // connection the proxy may reuse.
    let resets = matches!(behaviour, Behaviour::CutReset | Behaviour::EndsEarly);
    let upstream = faulty::start(behaviour, api.script()).await;
    let proxy = proxy_for(&upstream.url).await;
    let started = Instant::now();
    let (status, headers, body, took) = call(&proxy, api, true).await;
    assert_eq!(status, 200, "{body}");
    assert!(headers["content-type"].to_str().is_ok_and(|c| c.starts_with("text/event-stream")));
    assert_error_event(api, &body);
    assert!(took >= bound && took <= bound + SLACK, "{took:?}");
    if !resets {
        assert_closed(&upstream, started, bound).await;
    }
}

/// Upstream errors pass through: status, headers and body as the upstream sent them.
async fn error_status(api: Api, code: u16) {
    let upstream = faulty::start(Behaviour::Status(code), api.script()).await;
    let proxy = proxy_for(&upstream.url).await;
    for stream in [false, true] {
        let (status, headers, body, _) = call(&proxy, api, stream).await;
        assert_eq!(status, code);
        for (name, value) in [
            ("retry-after", "7"),
            ("x-request-id", "req_faulty"),
            ("anthropic-ratelimit-requests-remaining", "0"),
            ("x-ratelimit-reset-requests", "1s"),
        ] {
            assert_eq!(headers.get(name).map(|v| v.to_str().unwrap_or_default()), Some(value), "{name}");
        }
        assert_eq!(
            body,
            r#"{"type":"error","error":{"type":"overloaded_error","message":"upstream says no"}}"#
        );
    }
}

async fn huge(api: Api) {
    const SIZE: usize = 50 << 20;
    let upstream = faulty::start(Behaviour::Huge(SIZE), api.script()).await;
    let proxy = proxy_for(&upstream.url).await;
    let (status, _, body, _) = call(&proxy, api, false).await;
    assert_eq!(status, 200);
    assert!(body.len() > SIZE, "{}", body.len());
    let v: Value = serde_json::from_str(&body).expect("the whole answer");
    assert_eq!(v["answer"], api.answer("Hello, world"));
}

/// Multi-byte characters split across TCP segments arrive whole and byte-identical, in a
/// stream and in a JSON answer.
async fn split_utf8(api: Api) {
    let text = "héllo wörld — 日本語のテキスト 🎉🧪 ∑∫ ok";
    let stream = api.full_stream(text);
    let upstream = faulty::start(Behaviour::Split(stream.clone().into_bytes()), api.script()).await;
    let proxy = proxy_for(&upstream.url).await;
    let (status, _, body, _) = call(&proxy, api, true).await;
    assert_eq!(status, 200);
    assert_eq!(body, stream, "{api:?}: the stream changed");
    let answer = api.answer(text).to_string();
    let upstream = faulty::start(Behaviour::Split(answer.clone().into_bytes()), api.script()).await;
    let proxy = proxy_for(&upstream.url).await;
    let (status, _, body, _) = call(&proxy, api, false).await;
    assert_eq!(status, 200);
    assert_eq!(body, answer, "{api:?}: the answer changed");
}

macro_rules! per_api {
    ($($name:ident => |$api:ident| $body:expr;)*) => {
        $(
            mod $name {
                use super::*;
                #[tokio::test(flavor = "multi_thread")]
                async fn messages() { let $api = Api::Messages; $body.await }
                #[tokio::test(flavor = "multi_thread")]
                async fn chat() { let $api = Api::Chat; $body.await }
                #[tokio::test(flavor = "multi_thread")]
                async fn responses() { let $api = Api::Responses; $body.await }
            }
        )*
    };
}

per_api! {
    refused_connection_is_a_502 => |api| refused(api);
    reset_before_the_head_is_a_502 => |api| reset_before_head(api, false);
    reset_before_a_stream_head_is_a_502 => |api| reset_before_head(api, true);
    silent_upstream_is_a_504_at_the_head_bound => |api| hang(api, false);
    silent_stream_upstream_is_a_504_at_the_head_bound => |api| hang(api, true);
    stalled_json_body_is_a_504_at_the_idle_bound => |api| json_fault(api, Behaviour::Stall, 504, BOUND);
    json_body_cut_by_a_reset_is_a_502 => |api| json_fault(api, Behaviour::CutReset, 502, Duration::ZERO);
    json_body_cut_short_is_a_502 => |api| json_fault(api, Behaviour::ShortRead, 502, Duration::ZERO);
    garbage_instead_of_json_is_a_502 => |api| async move {
        let upstream = faulty::start(Behaviour::Garbage, api.script()).await;
        let proxy = proxy_for(&upstream.url).await;
        let (status, _, body, _) = call(&proxy, api, false).await;
        assert_eq!(status, 502, "{body}");
        assert_error_json(api, status, &body);
    };
    stalled_stream_ends_with_an_error_event_at_the_idle_bound => |api| stream_fault(api, Behaviour::Stall, BOUND);
    stream_cut_by_a_reset_ends_with_an_error_event => |api| stream_fault(api, Behaviour::CutReset, Duration::ZERO);
    stream_ended_before_its_final_event_gets_an_error_event => |api| stream_fault(api, Behaviour::EndsEarly, Duration::ZERO);
    rate_limits_pass_through_with_their_headers => |api| error_status(api, 429);
    server_errors_pass_through_with_their_headers => |api| error_status(api, 500);
    overloaded_passes_through_with_its_headers => |api| error_status(api, 529);
    a_50_mb_answer_is_relayed_whole => |api| huge(api);
    characters_split_across_segments_arrive_whole => |api| split_utf8(api);
}

/// A request the proxy offers its retrieval tool on (a long command output in the history),
/// so the answer goes through the retrieval relay, not the plain one.
async fn call_with_tool(proxy: &support::Proxy, stream: bool) -> (u16, String, Duration) {
    let started = Instant::now();
    let r = client()
        .post(format!("{}/v1/chat/completions", proxy.url))
        .header("authorization", "Bearer sk-test")
        .json(&support::compressible_chat(stream))
        .send()
        .await
        .expect("the proxy answers");
    let status = r.status().as_u16();
    let body = r.text().await.expect("the body ends cleanly");
    (status, body, started.elapsed())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stall_inside_a_spliced_stream_ends_with_an_error_event() {
    let upstream = faulty::start(Behaviour::Stall, Api::Chat.script()).await;
    let proxy = proxy_for(&upstream.url).await;
    let started = Instant::now();
    let (status, body, took) = call_with_tool(&proxy, true).await;
    assert_eq!(status, 200, "{body}");
    assert_error_event(Api::Chat, &body);
    assert!(took >= BOUND && took <= BOUND + SLACK, "{took:?}");
    assert_closed(&upstream, started, BOUND).await;
    assert_tool_offered(&upstream);
}

/// The proxy offered its tool, so the answer took the retrieval relay.
fn assert_tool_offered(upstream: &Faulty) {
    let requests = upstream.requests.lock().expect("lock");
    assert!(requests.iter().all(|r| r.contains("\"headroom_retrieve\"")), "the tool was not offered");
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_answering_a_request_with_the_tool_is_a_502() {
    let upstream = faulty::start(Behaviour::Garbage, Api::Chat.script()).await;
    let proxy = proxy_for(&upstream.url).await;
    let (status, body, _) = call_with_tool(&proxy, false).await;
    assert_eq!(status, 502, "{body}");
    assert_error_json(Api::Chat, status, &body);
    assert_tool_offered(&upstream);
}
