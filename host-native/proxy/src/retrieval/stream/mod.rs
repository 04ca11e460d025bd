//! Retrieval inside a stream. The upstream's events go to the client as they arrive, except
//! the proxy's own tool calls (withheld) and, when a round ends on those calls alone, its
//! closing events (held). The proxy then answers the calls, sends the continuation, and
//! splices the continuation's events into the same client stream: block, item and sequence
//! numbers continue where the client's view left off, so SDKs accumulate one message.

mod anthropic;
mod chat;
mod responses;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use headroom_runtime::wit::Dialect;

use super::continuation::next_body;
use super::sse::{self, Event};
use super::turn::{Call, Turn};
use super::{Exchange, MAX_ROUNDS};
use crate::upstream;
use crate::upstream::guard::Bounded;
use crate::upstream::watch::{Fault, Watch};

/// A dialect's splicing rules.
trait Splice: Send {
    /// Handle one upstream event, pushing what the client should see to `out`.
    fn event(&mut self, event: &Event, out: &mut Vec<Bytes>);
    /// After the upstream ended: the turn and calls to continue with, when the round ended on
    /// the proxy's calls alone. Resets the per-round state.
    fn take_pending(&mut self) -> Option<(Turn, Vec<Call>)>;
    /// The closing events held back, for when the proxy does not continue after all.
    fn release_held(&mut self) -> Vec<Bytes>;
    /// Forget the held closing events: the round is being continued.
    fn discard_held(&mut self);
}

/// The client's response: the first upstream response's headers, and a body fed by a task
/// that splices rounds together. Dropping the body (client gone) ends the task, which drops
/// the upstream request.
pub fn relay(exchange: Exchange, body: String, first: reqwest::Response) -> Response {
    let head = upstream::relay_headers(&first);
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(32);
    let splice: Box<dyn Splice> = match exchange.dialect {
        Dialect::AnthropicMessages => Box::new(anthropic::Anthropic::default()),
        Dialect::OpenaiChat => Box::new(chat::Chat::default()),
        Dialect::OpenaiResponses => Box::new(responses::Responses::default()),
    };
    // A client that goes away ends the splicing at once, whatever it is waiting on (the
    // continuation's upstream request included).
    let gone = tx.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = drive(exchange, body, first, splice, tx) => {}
            () = gone.closed() => {}
        }
    });
    let stream =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) });
    head.body(Body::from_stream(stream)).unwrap_or_else(|_| Response::new(Body::empty()))
}

type Sender = tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>;

async fn drive(
    exchange: Exchange,
    mut body: String,
    first: reqwest::Response,
    mut splice: Box<dyn Splice>,
    tx: Sender,
) {
    let idle = exchange.state.config.stream_idle_timeout;
    // Follows what the client received, to end its stream in the provider's format.
    let mut watch = Watch::new(exchange.dialect);
    let mut upstream_response = first;
    for round in 0..=MAX_ROUNDS {
        let mut parser = sse::Parser::default();
        let mut chunks = Bounded::new(upstream_response, idle);
        let mut out = Vec::new();
        while let Some(chunk) = chunks.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(fault) => {
                    // Dropped first: the upstream connection closes before the client hears.
                    drop(chunks);
                    return fail(&tx, &mut watch, &fault).await;
                }
            };
            for event in parser.push(&chunk) {
                splice.event(&event, &mut out);
            }
            if !send_all(&tx, &mut watch, &mut out).await {
                return;
            }
        }
        if let Some(event) = parser.finish() {
            splice.event(&event, &mut out);
        }
        let pending = splice.take_pending();
        let Some((turn, calls)) = pending.filter(|_| round < MAX_ROUNDS) else {
            out.extend(splice.release_held());
            if send_all(&tx, &mut watch, &mut out).await && !watch.finished() {
                fail(&tx, &mut watch, &Fault::EndedEarly).await;
            }
            return;
        };
        // Continuing: the held closing events belong to a round the client never sees end.
        splice.discard_held();
        let answers: Vec<String> = calls.iter().map(|c| exchange.answer(&c.key)).collect();
        let next = match next_body(&body, &turn, &calls, &answers) {
            Ok(next) => next,
            Err(e) => return fail(&tx, &mut watch, &continuation(&e.to_string())).await,
        };
        body = next;
        upstream_response = match exchange.send(body.clone()).await {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => {
                let status = r.status();
                let detail = match Bounded::new(r, idle).next().await {
                    Some(Ok(first)) => String::from_utf8_lossy(&first).into_owned(),
                    _ => String::new(),
                };
                let why = continuation(&format!("continuation failed with {status}: {detail}"));
                return fail(&tx, &mut watch, &why).await;
            }
            Err(e) => return fail(&tx, &mut watch, &continuation(&e.to_string())).await,
        };
    }
}

fn continuation(detail: &str) -> Fault {
    Fault::Proxy(format!("retrieval continuation failed: {detail}"))
}

async fn send_all(tx: &Sender, watch: &mut Watch, out: &mut Vec<Bytes>) -> bool {
    for bytes in out.drain(..) {
        watch.observe(&bytes);
        if tx.send(Ok(bytes)).await.is_err() {
            return false;
        }
    }
    true
}

/// End the client's stream with an error event in the provider's format (the status line
/// went out long ago), unless it already reached its final event.
async fn fail(tx: &Sender, watch: &mut Watch, fault: &Fault) {
    if !watch.finished() {
        let _ = tx.send(Ok(watch.error_event(fault))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Odd but possible upstream events pass through every splicer untouched, never a panic.
    #[test]
    fn odd_events_are_relayed_as_they_are() {
        let odd = [
            "data: [DONE]\n\n",
            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\n",
            "data: 5\n\n",
            "data: [1,2]\n\n",
            "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":7}\n\n",
            "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":null}\n\n",
            "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":null}\n\n",
            ": comment\n\n",
        ];
        let splices: [Box<dyn Splice>; 3] = [
            Box::new(anthropic::Anthropic::default()),
            Box::new(chat::Chat::default()),
            Box::new(responses::Responses::default()),
        ];
        for mut splice in splices {
            let mut parser = sse::Parser::default();
            let mut out = Vec::new();
            for event in odd.iter().flat_map(|e| parser.push(e.as_bytes())) {
                splice.event(&event, &mut out);
            }
            let relayed: Vec<u8> = out.concat();
            assert_eq!(relayed, odd.concat().into_bytes());
            assert!(splice.take_pending().is_none());
        }
    }
}
