//! A mock upstream provider (records what it receives, answers JSON or SSE) and a proxy
//! started in front of it on an ephemeral loopback port.

#![allow(dead_code, reason = "each test binary uses part of the support module")]

#[cfg(test)]
pub mod binary;
pub mod faulty;
pub mod provider;
pub mod redis;
pub mod retrieval;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use headroom_proxy::config::{ModeArg, ProxyConfig};
use headroom_proxy::{AppState, app};
use serde_json::{Value, json};
use tokio::sync::Notify;

/// One request the mock received.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
}

/// The mock's shared state.
#[derive(Default)]
pub struct MockState {
    pub hits: Mutex<Vec<Recorded>>,
    /// Requests kept in `hits` (0: all): a long-running mock (the load benchmark sends
    /// gigabytes) keeps only the latest.
    pub keep: usize,
    /// Requests received, `/__mock` ones excluded, kept or not.
    pub received: AtomicUsize,
    /// Streams wait on this before their last event, so tests can see earlier events arrive.
    pub release: Notify,
    /// Requests being answered (a streamed answer counts until its last event is sent).
    pub in_flight: AtomicUsize,
    /// Requests whose answer was dropped unfinished: the caller went away.
    pub aborted: AtomicUsize,
}

/// One request in flight; dropped before [`Flight::finish`], it counts as aborted.
struct Flight {
    state: Arc<MockState>,
    finished: bool,
}

impl Flight {
    fn start(state: &Arc<MockState>) -> Self {
        state.in_flight.fetch_add(1, Ordering::SeqCst);
        Self { state: Arc::clone(state), finished: false }
    }

    fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for Flight {
    fn drop(&mut self) {
        if !self.finished {
            self.state.aborted.fetch_add(1, Ordering::SeqCst);
        }
        self.state.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

pub struct Mock {
    pub url: String,
    pub state: Arc<MockState>,
}

impl Mock {
    pub fn hits(&self) -> Vec<Recorded> {
        self.state.hits.lock().expect("lock").clone()
    }

    /// Wait up to `limit` for `check` to hold on the in-flight and aborted counts.
    pub async fn wait_for(&self, limit: Duration, check: impl Fn(usize, usize) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let s = &self.state;
            if check(s.in_flight.load(Ordering::SeqCst), s.aborted.load(Ordering::SeqCst)) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn mock_handler(State(state): State<Arc<MockState>>, request: Request) -> Response {
    let mut flight = Some(Flight::start(&state));
    let response = answer(state, request, &mut flight).await;
    if let Some(f) = flight {
        f.finish();
    }
    response
}

/// The mock's answer; a streamed one takes `flight` along to finish it after its last event.
async fn answer(state: Arc<MockState>, request: Request, flight: &mut Option<Flight>) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let path = parts.uri.path().to_owned();
    if let Some(dir) = std::env::var_os("MOCK_RECORD_DIR")
        && !path.starts_with("/__mock")
    {
        record(std::path::Path::new(&dir), &path, &body);
    }
    if !path.starts_with("/__mock") {
        state.received.fetch_add(1, Ordering::SeqCst);
    }
    {
        let mut hits = state.hits.lock().expect("lock");
        if state.keep > 0 && hits.len() >= 2 * state.keep {
            // Trimmed in halves, so a push stays O(1) amortised.
            hits.drain(..state.keep);
        }
        hits.push(Recorded {
            method: parts.method.to_string(),
            path: path.clone(),
            headers: parts.headers.clone(),
            body: body.clone(),
        });
    }
    if let Some(status) = parts.headers.get("x-mock-status").and_then(|v| v.to_str().ok()) {
        let code = status.parse::<u16>().unwrap_or(500);
        let mut r = (
            http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(json!({"error": {"message": "mock says no", "type": "rate_limit_error"}})),
        )
            .into_response();
        r.headers_mut().insert("retry-after", "7".parse().expect("header"));
        return r;
    }
    if let Some(ms) = parts.headers.get("x-mock-delay-ms").and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
    {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if path == "/__mock/last" {
        let hits = state.hits.lock().expect("lock");
        let last = hits.iter().rev().find(|h| !h.path.starts_with("/__mock"));
        return axum::Json(json!({
            "count": state.received.load(Ordering::SeqCst),
            "path": last.map(|h| h.path.clone()),
            "body": last.map(|h| String::from_utf8_lossy(&h.body).into_owned()),
        }))
        .into_response();
    }
    let hold = parts.headers.contains_key("x-mock-hold-last");
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if parts.headers.contains_key("x-mock-retrieve") {
        return retrieval::answer(&path, &parts.headers, &value).await;
    }
    let stream = value["stream"].as_bool().unwrap_or(false);
    // `x-mock-answer-bytes: N`: a Chat answer whose text is N bytes (large-answer benchmarks).
    if let Some(n) =
        parts.headers.get("x-mock-answer-bytes").and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
    {
        return axum::Json(json!({
            "id": "chatcmpl-mock", "object": "chat.completion", "created": 1, "model": "gpt-mock",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "x".repeat(n.min(16 << 20))}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
        }))
        .into_response();
    }
    // `x-mock-usage: {json}` replaces the usage the answer reports (JSON and streams alike).
    if let Some(usage) =
        parts.headers.get("x-mock-usage").and_then(|v| serde_json::from_slice::<Value>(v.as_bytes()).ok())
    {
        let cut = parts.headers.contains_key("x-mock-cut");
        return with_usage(state, &path, stream, &usage, (cut, hold), flight);
    }
    let mut response = match (path.as_str(), stream) {
        ("/v1/messages", false) => axum::Json(json!({
            "id": "msg_mock", "type": "message", "role": "assistant", "model": "claude-mock",
            "content": [{"type": "text", "text": "mock answer"}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 10, "output_tokens": 2}
        }))
        .into_response(),
        ("/v1/messages", true) => sse(state, anthropic_events(), hold, flight.take()),
        ("/v1/chat/completions", false) => axum::Json(json!({
            "id": "chatcmpl-mock", "object": "chat.completion", "created": 1, "model": "gpt-mock",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "mock answer"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
        }))
        .into_response(),
        ("/v1/chat/completions", true) => sse(state, openai_events(), hold, flight.take()),
        ("/v1/responses", false) => axum::Json(json!({
            "id": "resp_mock", "object": "response", "created_at": 1, "status": "completed", "model": "gpt-mock",
            "output": [{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text", "text": "mock answer", "annotations": []}]}],
            "usage": {"input_tokens": 10, "output_tokens": 2, "total_tokens": 12}
        }))
        .into_response(),
        ("/v1/models", _) => axum::Json(json!({"object": "list", "data": [{"id": "gpt-mock", "object": "model"}]})).into_response(),
        _ => axum::Json(json!({"echo": path})).into_response(),
    };
    response.headers_mut().insert("x-request-id", "req_mock_123".parse().expect("header"));
    response
}

/// An answer reporting `usage`; with `cut`, a stream that fails before its last event.
fn with_usage(
    state: Arc<MockState>,
    path: &str,
    stream: bool,
    usage: &Value,
    (cut, hold): (bool, bool),
    flight: &mut Option<Flight>,
) -> Response {
    let data = |v: Value| format!("data: {v}\n\n");
    let event = |name: &str, v: Value| format!("event: {name}\ndata: {v}\n\n");
    match (path, stream) {
        ("/v1/messages", false) => axum::Json(json!({
            "id": "msg_mock", "type": "message", "role": "assistant", "model": "claude-mock",
            "content": [{"type": "text", "text": "mock answer"}],
            "stop_reason": "end_turn", "stop_sequence": null, "usage": usage
        }))
        .into_response(),
        ("/v1/messages", true) => {
            // Input counts in `message_start`, the final output count in `message_delta`.
            let mut start = usage.clone();
            start["output_tokens"] = json!(1);
            let mut events = vec![
                event("message_start", json!({"type": "message_start", "message": {"id": "msg_mock", "type": "message",
                    "role": "assistant", "model": "claude-mock", "content": [], "stop_reason": null,
                    "stop_sequence": null, "usage": start}})),
                event("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})),
                event("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "mock answer"}})),
                event("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
                event("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
                    "usage": {"output_tokens": usage["output_tokens"]}})),
                event("message_stop", json!({"type": "message_stop"})),
            ];
            if cut {
                events.truncate(3);
            }
            sse_or_cut(state, events, (cut, hold), flight.take())
        }
        ("/v1/chat/completions", false) => axum::Json(json!({
            "id": "chatcmpl-mock", "object": "chat.completion", "created": 1, "model": "gpt-mock",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "mock answer"}, "finish_reason": "stop"}],
            "usage": usage
        }))
        .into_response(),
        ("/v1/chat/completions", true) => {
            let chunk = |delta: Value, finish: Value, usage: Value| data(json!({"id": "chatcmpl-mock",
                "object": "chat.completion.chunk", "created": 1, "model": "gpt-mock",
                "choices": if usage.is_null() { json!([{"index": 0, "delta": delta, "finish_reason": finish}]) } else { json!([]) },
                "usage": usage}));
            let mut events = vec![
                chunk(json!({"role": "assistant", "content": "mock answer"}), Value::Null, Value::Null),
                chunk(json!({}), json!("stop"), Value::Null),
                chunk(Value::Null, Value::Null, usage.clone()),
                "data: [DONE]\n\n".to_owned(),
            ];
            if cut {
                events.truncate(1);
            }
            sse_or_cut(state, events, (cut, hold), flight.take())
        }
        _ => axum::Json(json!({
            "id": "resp_mock", "object": "response", "created_at": 1, "status": "completed", "model": "gpt-mock",
            "output": [{"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                        "content": [{"type": "output_text", "text": "mock answer", "annotations": []}]}],
            "usage": usage
        }))
        .into_response(),
    }
}

/// `events` as a stream; with `cut`, the stream then fails (the connection drops mid-answer);
/// with `hold`, the last event waits for the test's release (see [`sse`]).
fn sse_or_cut(
    state: Arc<MockState>,
    events: Vec<String>,
    (cut, hold): (bool, bool),
    flight: Option<Flight>,
) -> Response {
    if !cut {
        return sse(state, events, hold, flight);
    }
    let chunks = events
        .into_iter()
        .map(|e| Ok::<_, std::io::Error>(Bytes::from(e)))
        .chain(std::iter::once(Err(std::io::Error::other("upstream dropped the stream"))));
    drop(flight);
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .expect("response")
}

/// Append `{"path": .., "body": ..}` to `DIR/bodies.jsonl` (the end-to-end savings report
/// reads what the upstream received from there).
fn record(dir: &std::path::Path, path: &str, body: &[u8]) {
    use std::io::Write as _;
    let line = json!({"path": path, "body": String::from_utf8_lossy(body)});
    if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("bodies.jsonl")) {
        let _ = writeln!(f, "{line}");
    }
}

fn anthropic_events() -> Vec<String> {
    vec![
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_mock\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-mock\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\n".into(),
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n".into(),
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"mock \"}}\n\n".into(),
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"answer\"}}\n\n".into(),
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n".into(),
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":2}}\n\n".into(),
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".into(),
    ]
}

fn openai_events() -> Vec<String> {
    vec![
        "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-mock\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"mock \"},\"finish_reason\":null}]}\n\n".into(),
        "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-mock\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"answer\"},\"finish_reason\":null}]}\n\n".into(),
        "data: {\"id\":\"chatcmpl-mock\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-mock\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n".into(),
        "data: [DONE]\n\n".into(),
    ]
}

/// Send events one by one; with `hold`, wait before the last until the test releases it (or 5 s).
fn sse(state: Arc<MockState>, events: Vec<String>, hold: bool, flight: Option<Flight>) -> Response {
    let n = events.len();
    let stream = futures_util::stream::unfold(
        (0usize, events, state, flight),
        move |(i, events, state, mut flight)| async move {
            if i >= n {
                if let Some(f) = flight.take() {
                    f.finish();
                }
                return None;
            }
            if i == n - 1 && hold {
                let _ = tokio::time::timeout(Duration::from_secs(5), state.release.notified()).await;
            }
            let chunk = Ok::<_, std::io::Error>(Bytes::from(events[i].clone()));
            Some((chunk, (i + 1, events, state, flight)))
        },
    );
    Response::builder()
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
        .body(Body::from_stream(stream))
        .expect("response")
}

pub async fn start_mock() -> Mock {
    start_mock_on("127.0.0.1:0").await
}

pub async fn start_mock_on(addr: &str) -> Mock {
    start_mock_keeping(addr, 0).await
}

/// [`start_mock_on`], keeping at most about `keep` requests in `hits` (0: all).
pub async fn start_mock_keeping(addr: &str, keep: usize) -> Mock {
    let state = Arc::new(MockState { keep, ..MockState::default() });
    let app = Router::new().fallback(mock_handler).with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Mock { url: format!("http://{addr}"), state }
}

pub fn config(upstream: &str) -> ProxyConfig {
    ProxyConfig {
        host: "127.0.0.1".into(),
        port: 0,
        mode: ModeArg::Cache,
        optimize: true,
        retrieval_tool: true,
        count_tokens_compression: true,
        context: Default::default(),
        anthropic_url: upstream.into(),
        openai_url: upstream.into(),
        max_body_bytes: 100 << 20,
        min_tokens: None,
        offload_batch_tokens: None,
        compression_deadline: Duration::from_secs(5),
        memory_bytes: headroom_runtime::DEFAULT_MEMORY_BYTES,
        upstream_timeout: Duration::from_secs(30),
        stream_idle_timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(10),
        api_key: None,
        component: headroom_proxy::config::default_component_path(),
        ccr: headroom_proxy::ccr::CcrConfig::default(),
        plugins_dir: None,
        cache_dir: headroom_proxy::config::cache_dir(None),
        demo_dir: headroom_proxy::routes::demo::default_dir(),
        shutdown_grace: Duration::from_secs(30),
        shutdown_delay: Duration::ZERO,
        observe: Default::default(),
        spend: Default::default(),
        cache: Default::default(),
        shared: Default::default(),
    }
}

pub struct Proxy {
    pub url: String,
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
}

pub async fn start_proxy(config: ProxyConfig) -> Proxy {
    start_proxy_until(config, std::future::pending()).await.0
}

/// [`start_proxy`], serving until `shutdown` resolves; the task ends once the proxy has
/// drained and written out what it keeps (a clean stop).
pub async fn start_proxy_until(
    config: ProxyConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> (Proxy, tokio::task::JoinHandle<()>) {
    let state = AppState::new(config).expect("state");
    let loader = Arc::clone(&state);
    tokio::task::spawn_blocking(move || loader.load_component()).await.expect("load");
    assert!(
        state.runtime().is_some(),
        "component failed to load: {:?} (run `just component`)",
        state.load_error()
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let serving = Arc::clone(&state);
    let task = tokio::spawn(async move {
        let _ = app::serve(listener, serving, shutdown).await;
    });
    (Proxy { url: format!("http://{addr}"), addr, state }, task)
}

/// A chat request whose newest message is a long, compressible command output.
pub fn compressible_chat(stream: bool) -> Value {
    let grep: String = (0..400)
        .map(|i| {
            format!(
                "src/module_{}/file_{}.py:{}:    result = compute_value_{}(argument)\n",
                i / 40 % 5,
                i / 40,
                i * 3 + 1,
                i
            )
        })
        .collect();
    json!({
        "model": "gpt-4o",
        "stream": stream,
        "messages": [
            {"role": "system", "content": "You are a coding agent."},
            {"role": "user", "content": "Find where compute_value_17 is called."},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": "bash", "arguments": "{\"command\":\"grep -rn compute_value_ src\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": grep}
        ]
    })
}
