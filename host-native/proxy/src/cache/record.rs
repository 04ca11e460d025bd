//! Recording an answer for the cache as it is relayed: chunks are passed on untouched the
//! moment they arrive and copied aside; the copy is stored only when the answer ended
//! complete (see the module documentation of [`super`]).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use http_body::Body as _;

use super::{Key, ResponseCache};

struct Recorder {
    inner: Body,
    cache: Arc<ResponseCache>,
    key: Key,
    chunks: Vec<Bytes>,
    size: usize,
    over: bool,
    stream: bool,
    content_type: Option<http::HeaderValue>,
    sends: Arc<AtomicU32>,
    done: bool,
}

/// A stream is complete when its final event was relayed: Anthropic's `message_stop`, Chat's
/// `[DONE]`, Responses' `response.completed`.
fn stream_complete(chunks: &[Bytes]) -> bool {
    let mut tail = Vec::new();
    for c in chunks.iter().rev() {
        tail.splice(0..0, c.iter().copied());
        if tail.len() >= 512 {
            break;
        }
    }
    let has = |n: &[u8]| memchr::memmem::find(&tail, n).is_some();
    has(b"message_stop") || has(b"[DONE]") || has(b"response.completed")
}

impl Recorder {
    fn finish(&mut self, ended_cleanly: bool) {
        if self.done {
            return;
        }
        self.done = true;
        let retrieval = self.sends.load(Ordering::Relaxed) > 1;
        let complete = !self.stream || stream_complete(&self.chunks);
        if ended_cleanly && !self.over && !retrieval && complete {
            let chunks = std::mem::take(&mut self.chunks);
            self.cache.insert(self.key, chunks, self.content_type.take());
        } else {
            self.cache.counters.not_stored.inc();
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        // Dropped before its end: the client went away mid-answer; nothing is stored. An
        // empty answer is never polled: it ended as it began.
        let ended = self.inner.is_end_stream();
        self.finish(ended);
    }
}

/// Passes the inner body's frames and its size hint through: an answer of known length keeps
/// its `content-length` (a stream wrapper would re-chunk it).
impl http_body::Body for Recorder {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        let next = Pin::new(&mut this.inner).poll_frame(cx);
        match &next {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(chunk) = frame.data_ref()
                    && !this.over
                {
                    this.size += chunk.len();
                    if this.size > this.cache.config.max_entry_bytes() {
                        this.over = true;
                        this.chunks = Vec::new();
                    } else {
                        this.chunks.push(chunk.clone());
                    }
                }
                // Hyper stops polling a body that says it has ended: its last frame is its end.
                if this.inner.is_end_stream() {
                    this.finish(true);
                }
            }
            Poll::Ready(Some(Err(_))) => this.finish(false),
            Poll::Ready(None) => this.finish(true),
            Poll::Pending => {}
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

/// `response`, recorded for `key` as it goes out when it is a success. `sends` counts the
/// upstream sends of the request (more than one: a retrieval round, not stored).
pub fn tee(
    cache: &Arc<ResponseCache>,
    key: Option<Key>,
    sends: Arc<AtomicU32>,
    response: Response,
) -> Response {
    let Some(key) = key else { return response };
    if response.status() != http::StatusCode::OK {
        cache.counters.not_stored.inc();
        return response;
    }
    let (parts, body) = response.into_parts();
    let content_type = parts.headers.get(http::header::CONTENT_TYPE).cloned();
    let stream = content_type
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let recorder = Recorder {
        inner: body,
        cache: Arc::clone(cache),
        key,
        chunks: Vec::new(),
        size: 0,
        over: false,
        stream,
        content_type,
        sends,
        done: false,
    };
    Response::from_parts(parts, Body::new(recorder))
}
