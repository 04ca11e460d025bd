//! Reading the answer as it goes to the client: status, first-byte time, and the provider's
//! usage from a JSON body or from the events of a stream. Chunks are passed on untouched the
//! moment they arrive; the tap only looks at them (a stream is never held back).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http_body::Body as _;
use serde_json::Value;

use super::usage::Checked;
use super::{Draft, Usage};
use crate::retrieval::{sse, usage as usage_json};
use crate::state::AppState;

/// JSON answers larger than this are relayed without their usage being read.
const MAX_JSON_BYTES: usize = 16 << 20;

/// What the tap saw of one answer.
#[derive(Debug, Default)]
pub struct Seen {
    /// Status sent to the client.
    pub status: u16,
    /// An event stream.
    pub streaming: bool,
    /// The usage the client was told (summed across retrieval rounds by the splicers).
    pub usage: Option<Usage>,
    /// The model the answer names.
    pub model: Option<String>,
    /// First body byte.
    pub first_byte_at: Option<Instant>,
    /// Last body byte (or the drop).
    pub ended_at: Option<Instant>,
    /// The body was dropped before its end (client gone) or failed.
    pub aborted: bool,
    /// A whole JSON answer checked before it was relayed: `usage` and `model` are read from
    /// it when the request is accounted.
    pub answer: Option<Checked>,
}

enum Reader {
    Sse {
        parser: sse::Parser,
        usage: Value,
        model: Option<String>,
    },
    /// The answer's chunks (shared with the client's: one that comes whole is not copied).
    Json {
        buf: crate::upstream::guard::Gather,
        over: bool,
    },
}

impl Reader {
    fn feed(&mut self, chunk: &Bytes) {
        match self {
            Self::Sse { parser, usage, model } => {
                for event in parser.push(chunk) {
                    read_event(&event.data, usage, model);
                }
            }
            Self::Json { buf, over } => {
                if !*over && buf.len() + chunk.len() <= MAX_JSON_BYTES {
                    buf.push(chunk.clone());
                } else {
                    *over = true;
                    buf.clear();
                }
            }
        }
    }

    fn finish(self, seen: &mut Seen) {
        match self {
            Self::Sse { mut parser, mut usage, mut model } => {
                if let Some(event) = parser.finish() {
                    read_event(&event.data, &mut usage, &mut model);
                }
                seen.usage = Usage::from_value(&usage);
                seen.model = model;
            }
            Self::Json { buf, over } => {
                // Scanned, not parsed into a tree: the top level walked, the usage's counts
                // read, everything else skipped. An answer without usage (an error, a
                // passthrough endpoint's) is not read.
                let buf = buf.as_slice();
                let has_usage = mentions_usage(buf);
                if !over && has_usage {
                    (seen.usage, seen.model) = super::usage::kept(super::usage::read_answer(buf));
                }
            }
        }
    }
}

/// Whether `text` holds `"usage"` (the searcher built once: building one costs more than
/// searching a short answer).
fn mentions_usage(text: &[u8]) -> bool {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"usage\""));
    FINDER.find(text).is_some()
}

/// One event's usage (Anthropic `message_start` then `message_delta` overlaying it; OpenAI
/// Chat's usage chunk; Responses' `response.completed`).
fn read_event(data: &str, usage: &mut Value, model: &mut Option<String>) {
    if !mentions_usage(data.as_bytes()) {
        return;
    }
    let Ok(event) = serde_json::from_str::<Value>(data) else { return };
    for holder in [&event, &event["message"], &event["response"]] {
        if holder["usage"].is_object() {
            usage_json::overlay(usage, &holder["usage"]);
            if model.is_none()
                && let Some(m) = holder["model"].as_str()
            {
                *model = Some(super::cap_model(m));
            }
        }
    }
}

struct Watch {
    state: Arc<AppState>,
    draft: Option<Draft>,
    seen: Seen,
    reader: Option<Reader>,
    completed: bool,
}

impl Watch {
    /// The answer's last byte went out (or it failed).
    fn ended(&mut self, completed: bool) {
        if self.seen.ended_at.is_none() {
            self.seen.ended_at = Some(Instant::now());
            self.completed = completed;
        }
    }
}

impl Drop for Watch {
    /// Hyper drops the body once the client has it all (or is gone): account the request then,
    /// after the response, never in front of its last chunk.
    fn drop(&mut self) {
        let Some(draft) = self.draft.take() else { return };
        self.state.metrics.in_flight.dec();
        if self.seen.ended_at.is_none() {
            self.seen.ended_at = Some(Instant::now());
        }
        self.seen.aborted = !self.completed;
        if let Some(reader) = self.reader.take() {
            reader.finish(&mut self.seen);
        }
        self.state.accounting.finish(draft, std::mem::take(&mut self.seen));
    }
}

/// The answer's body as hyper sends it: frames pass through untouched, and the inner body's
/// size hint too, so an answer of known length keeps its `content-length` (wrapping it in a
/// stream would re-chunk it: one more write and one more packet per request).
struct Tap {
    inner: Body,
    watch: Watch,
}

impl Tap {
    fn saw(&mut self, frame: &Option<Result<http_body::Frame<Bytes>, axum::Error>>) {
        match frame {
            Some(Ok(frame)) => {
                if let Some(chunk) = frame.data_ref() {
                    if self.watch.seen.first_byte_at.is_none() && !chunk.is_empty() {
                        self.watch.seen.first_byte_at = Some(Instant::now());
                    }
                    if let Some(reader) = &mut self.watch.reader {
                        reader.feed(chunk);
                    }
                }
                // Hyper stops polling a body that says it has ended: its last frame is its end.
                if self.inner.is_end_stream() {
                    self.watch.ended(true);
                }
            }
            Some(Err(_)) => self.watch.ended(false),
            None => self.watch.ended(true),
        }
    }
}

impl http_body::Body for Tap {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let next = Pin::new(&mut this.inner).poll_frame(cx);
        if let Poll::Ready(frame) = &next {
            this.saw(frame);
        }
        next
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        // An empty answer is never polled: it ended as it began.
        if self.inner.is_end_stream() {
            self.watch.ended(true);
        }
    }
}

/// Watch `response` go to the client and account `draft` when it ends.
pub fn observe(state: &Arc<AppState>, draft: Draft, response: Response) -> Response {
    if cfg!(feature = "bench-no-accounting") {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // The name made once: from a string, a header name is looked up among the standard ones.
    const REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-headroom-request-id");
    if let Ok(id) = http::HeaderValue::from_str(&draft.request_id) {
        parts.headers.insert(REQUEST_ID, id);
    }
    let streaming = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    // What the answer's check already read of it (a whole JSON answer relayed as it came).
    let checked = parts.extensions.remove::<Checked>();
    let mut seen = Seen { status: parts.status.as_u16(), streaming, ..Seen::default() };
    // A cache hit's usage is not read: nothing was billed for it (see `Accounting::finish`).
    let reader = if draft.cache_hit {
        None
    } else if let Some(checked) = checked.filter(|_| !streaming) {
        seen.answer = Some(checked);
        None
    } else if streaming {
        Some(Reader::Sse { parser: sse::Parser::default(), usage: Value::Null, model: None })
    } else {
        Some(Reader::Json { buf: crate::upstream::guard::Gather::default(), over: false })
    };
    state.metrics.in_flight.inc();
    let watch = Watch { state: Arc::clone(state), draft: Some(draft), seen, reader, completed: false };
    Response::from_parts(parts, Body::new(Tap { inner: body, watch }))
}
