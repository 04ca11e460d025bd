//! The upstream's body under the stream idle bound: every chunk must arrive within it, and a
//! body that stalls, is cut or is not what the API promises ends in a way the client
//! understands. Whatever ends early drops the upstream response, which closes its connection
//! at once (an unfinished body never goes back to the pool).

use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;
use headroom_runtime::wit::Dialect;
use http_body_util::BodyExt;

use super::Answer;
use super::watch::{Fault, Watch};
use crate::accounting::usage::{Checked, check_answer};
use crate::errors::ProxyError;

/// The most of a non-streaming answer the proxy holds to check it: far above any model's
/// output, so only a runaway upstream reaches it.
pub const MAX_ANSWER_BYTES: usize = 256 << 20;

/// The body's chunks, each within `idle` of the one before.
pub struct Bounded {
    body: hyper::body::Incoming,
    idle: Duration,
}

impl Bounded {
    /// Take `upstream`'s body.
    pub fn new(upstream: Answer, idle: Duration) -> Self {
        Self { body: upstream.into_body(), idle }
    }

    /// The next chunk, `None` at the end, or why the body ends early. Trailers (which no
    /// provider sends on these APIs) are skipped.
    pub async fn next(&mut self) -> Option<Result<Bytes, Fault>> {
        loop {
            return match tokio::time::timeout(self.idle, self.body.frame()).await {
                Err(_) => Some(Err(Fault::Idle(self.idle.as_secs()))),
                Ok(None) => None,
                Ok(Some(Ok(frame))) => match frame.into_data() {
                    Ok(chunk) => Some(Ok(chunk)),
                    Err(_) => continue,
                },
                Ok(Some(Err(e))) => Some(Err(Fault::Cut(error_chain(&e)))),
            };
        }
    }
}

/// An error with its causes: the client's own message rarely says what happened.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A non-streaming success on an LLM route, whole and checked: a body that stalls is a 504,
/// one that is cut or is not JSON a 502 (the client's SDK would fail to parse it anyway).
/// The answer, checked, goes to the accounting too: its usage is read there.
pub async fn read_json(upstream: Answer, idle: Duration) -> Result<(Bytes, Checked), ProxyError> {
    let status = upstream.status();
    let mut body = Bounded::new(upstream, idle);
    let mut bytes = Gather::default();
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => {
                if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(ProxyError::UpstreamFault(format!(
                        "the {status} answer is larger than {MAX_ANSWER_BYTES} bytes"
                    )));
                }
                bytes.push(chunk);
            }
            Err(Fault::Idle(secs)) => {
                return Err(ProxyError::Timeout(format!(
                    "the {status} answer's body stalled: nothing for {secs} s (stream idle timeout)"
                )));
            }
            Err(fault) => {
                let what = match fault {
                    Fault::Cut(e) => e,
                    other => format!("{other:?}"),
                };
                return Err(ProxyError::UpstreamFault(format!(
                    "the {status} answer's body was cut after {} bytes: {what}",
                    bytes.len()
                )));
            }
        }
    }
    let bytes = bytes.into_bytes();
    match check_answer(&bytes) {
        Ok(checked) => Ok((bytes, checked)),
        Err(e) => Err(ProxyError::UpstreamFault(format!(
            "the {status} answer is not JSON ({e}; {} bytes)",
            bytes.len()
        ))),
    }
}

/// A body's chunks gathered into one: a body that comes as one chunk (most answers of known
/// length) is kept as it came, without a copy; the chunks of any other are joined.
#[derive(Debug, Default)]
pub struct Gather {
    first: Option<Bytes>,
    joined: Vec<u8>,
}

impl Gather {
    /// Add the next chunk.
    pub fn push(&mut self, chunk: Bytes) {
        if self.first.is_none() && self.joined.is_empty() {
            self.first = Some(chunk);
            return;
        }
        if let Some(first) = self.first.take() {
            self.joined.reserve(first.len() + chunk.len());
            self.joined.extend_from_slice(&first);
        }
        self.joined.extend_from_slice(&chunk);
    }

    /// Bytes so far.
    pub fn len(&self) -> usize {
        self.first.as_ref().map_or(self.joined.len(), Bytes::len)
    }

    /// Nothing gathered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes so far.
    pub fn as_slice(&self) -> &[u8] {
        self.first.as_deref().unwrap_or(&self.joined)
    }

    /// The whole body.
    pub fn into_bytes(self) -> Bytes {
        self.first.unwrap_or_else(|| Bytes::from(self.joined))
    }

    /// Drop what was gathered.
    pub fn clear(&mut self) {
        self.first = None;
        self.joined = Vec::new();
    }
}

/// A successful event stream on an LLM route, relayed byte for byte; one that stalls, is cut
/// or ends before its final event gets the provider's error event, then a clean end.
pub fn relay_events(upstream: Answer, dialect: Dialect, idle: Duration) -> Body {
    let state = (Some(Bounded::new(upstream, idle)), Watch::new(dialect));
    let stream = futures_util::stream::unfold(state, |(body, mut watch)| async move {
        let mut body = body?;
        let fault = match body.next().await {
            Some(Ok(chunk)) => {
                watch.observe(&chunk);
                return Some((Ok::<_, std::io::Error>(chunk), (Some(body), watch)));
            }
            Some(Err(fault)) => fault,
            None => Fault::EndedEarly,
        };
        // The upstream is done or given up on: its connection closes here, not when the
        // client has read the error event.
        drop(body);
        if watch.finished() {
            return None;
        }
        Some((Ok(watch.error_event(&fault)), (None, watch)))
    });
    Body::from_stream(stream)
}

/// Any other body (errors, passthrough routes) relayed byte for byte. There is no format to
/// speak, so a stall past the idle bound ends it as a cut upstream would: a transport error.
pub fn relay_raw(upstream: Answer, idle: Duration) -> Body {
    let stream = futures_util::stream::unfold(Some(Bounded::new(upstream, idle)), |body| async move {
        let mut body = body?;
        match body.next().await {
            Some(Ok(chunk)) => Some((Ok(chunk), Some(body))),
            Some(Err(fault)) => Some((Err(std::io::Error::other(format!("{fault:?}"))), None)),
            None => None,
        }
    });
    Body::from_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::Gather;
    use bytes::Bytes;

    #[test]
    fn one_chunk_is_kept_as_it_came_and_several_are_joined() {
        let whole = Bytes::from_static(b"{\"usage\":{}}");
        let mut one = Gather::default();
        one.push(whole.clone());
        assert_eq!((one.len(), one.as_slice()), (whole.len(), &whole[..]));
        assert_eq!(one.into_bytes().as_ptr(), whole.as_ptr(), "not copied");

        let mut several = Gather::default();
        for part in [&b""[..], b"{\"a\":", b"", b"1}"] {
            several.push(Bytes::copy_from_slice(part));
        }
        assert_eq!(several.as_slice(), b"{\"a\":1}");
        assert_eq!(several.len(), 7);
        several.clear();
        assert!(several.is_empty());
        several.push(Bytes::from_static(b"x"));
        assert_eq!(several.into_bytes(), Bytes::from_static(b"x"));
    }
}
