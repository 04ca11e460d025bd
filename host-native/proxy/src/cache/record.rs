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
use futures_util::Stream;

use super::{Key, ResponseCache};

struct Recorder {
    inner: axum::body::BodyDataStream,
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
        // Dropped before its end: the client went away mid-answer; nothing is stored.
        self.finish(false);
    }
}

impl Stream for Recorder {
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let next = Pin::new(&mut this.inner).poll_next(cx);
        match &next {
            Poll::Ready(Some(Ok(chunk))) => {
                if !this.over {
                    this.size += chunk.len();
                    if this.size > this.cache.config.max_entry_bytes() {
                        this.over = true;
                        this.chunks = Vec::new();
                    } else {
                        this.chunks.push(chunk.clone());
                    }
                }
            }
            Poll::Ready(Some(Err(_))) => this.finish(false),
            Poll::Ready(None) => this.finish(true),
            Poll::Pending => {}
        }
        next
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
        inner: body.into_data_stream(),
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
    Response::from_parts(parts, Body::from_stream(recorder))
}
