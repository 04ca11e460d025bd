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
#[cfg(test)]
use super::tool;
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
pub fn relay(exchange: Exchange, body: Bytes, first: crate::upstream::Answer) -> Response {
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
    mut body: Bytes,
    first: crate::upstream::Answer,
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
        let answers = exchange.answers(calls.iter().map(|c| c.key.clone()).collect()).await;
        // `body` is the proxy's own JSON text: always UTF-8.
        let text = std::str::from_utf8(&body).map_err(|e| e.to_string());
        let next = match text.and_then(|t| next_body(t, &turn, &calls, &answers).map_err(|e| e.to_string())) {
            Ok(next) => Bytes::from(next),
            Err(e) => return fail(&tx, &mut watch, &continuation(&e)).await,
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

    /// A small deterministic generator (xorshift), so a failure names its seed.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            usize::try_from(self.0 % n as u64).unwrap_or(0)
        }
    }

    /// Events of every dialect, well-formed and not, the proxy's tool calls among them.
    const VOCABULARY: &[&str] = &[
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"headroom_retrieve\",\"input\":{}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":\"thinking\",\"thinking\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"hash\\\":\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hé\"}}\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":2}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{\"name\":\"headroom_retrieve\",\"arguments\":\"{\\\"ha\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":{\"name\":\"bash\",\"arguments\":\"{}\"}}]}}]}\n\n",
        "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":1}}\n\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2}}\n\n",
        "data: [DONE]\n\n",
        "event: response.created\ndata: {\"type\":\"response.created\",\"sequence_number\":0,\"response\":{\"id\":\"r\"}}\n\n",
        "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":1,\"output_index\":0,\"item\":{\"type\":\"reasoning\"}}\n\n",
        "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\",\"sequence_number\":2,\"output_index\":1,\"item\":{\"type\":\"function_call\",\"name\":\"headroom_retrieve\",\"call_id\":\"c\"}}\n\n",
        "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"sequence_number\":3,\"output_index\":1,\"item\":{\"type\":\"function_call\",\"name\":\"headroom_retrieve\",\"call_id\":\"c\",\"arguments\":\"{\\\"hash\\\":\\\"h:1\\\"}\"}}\n\n",
        "event: response.completed\ndata: {\"type\":\"response.completed\",\"sequence_number\":4,\"response\":{\"id\":\"r2\",\"usage\":{\"input_tokens\":1}}}\n\n",
        "data: {\"index\": \"x\", \"choices\": {\"0\": null}}\n\n",
        "data: {\"type\":\"content_block_delta\"\n\n",
        ": keep-alive\r\n\r\n",
        "data: \u{1F600}\n\n",
    ];

    /// Random event sequences, cut into random chunks, through every splicer and its closing
    /// calls: never a panic, the same output for the same input (determinism), and a
    /// sequence holding none of the proxy's calls relayed byte for byte.
    #[test]
    fn random_event_sequences_never_break_a_splicer() {
        for seed in 1..=3000u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let events: Vec<&str> =
                (0..rng.below(24)).map(|_| VOCABULARY[rng.below(VOCABULARY.len())]).collect();
            let bytes = events.concat().into_bytes();
            let cuts: Vec<usize> = (0..bytes.len()).map(|_| 1 + rng.below(40)).collect();
            let run = |dialect: usize, cuts: &[usize]| {
                let mut splice: Box<dyn Splice> = match dialect {
                    0 => Box::new(anthropic::Anthropic::default()),
                    1 => Box::new(chat::Chat::default()),
                    _ => Box::new(responses::Responses::default()),
                };
                let mut parser = sse::Parser::default();
                let mut out = Vec::new();
                let (mut at, mut i) = (0, 0);
                while at < bytes.len() {
                    let n = cuts[i % cuts.len()].min(bytes.len() - at);
                    for event in parser.push(&bytes[at..at + n]) {
                        splice.event(&event, &mut out);
                    }
                    at += n;
                    i += 1;
                }
                if let Some(event) = parser.finish() {
                    splice.event(&event, &mut out);
                }
                let pending = splice.take_pending().map(|(_, calls)| calls.len());
                out.extend(splice.release_held());
                (out.concat(), pending)
            };
            for dialect in 0..3 {
                let (once, pending) = run(dialect, &cuts);
                assert_eq!(
                    (once.clone(), pending),
                    run(dialect, &[usize::MAX]),
                    "seed {seed}, dialect {dialect}"
                );
                if !events.iter().any(|e| e.contains(tool::NAME)) {
                    assert_same_events(&once, &bytes, &format!("seed {seed}, dialect {dialect}"));
                }
            }
        }
    }

    /// Without the proxy's calls, the client gets every event, as sent except the
    /// numbering a splicer keeps gap-free (`index`, `output_index`, `sequence_number`) and the
    /// one response id a Responses stream speaks as.
    fn assert_same_events(out: &[u8], sent: &[u8], what: &str) {
        let parse = |b: &[u8]| {
            let mut p = sse::Parser::default();
            let mut events = p.push(b);
            events.extend(p.finish());
            events
        };
        let (out, sent) = (parse(out), parse(sent));
        assert_eq!(out.len(), sent.len(), "{what}: events lost or added");
        fn strip(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Object(fields) => {
                    for k in ["index", "output_index", "sequence_number"] {
                        fields.remove(k);
                    }
                    fields.values_mut().for_each(strip);
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(strip),
                _ => {}
            }
        }
        let renumbered = |e: &Event| {
            let mut v = serde_json::from_str::<serde_json::Value>(&e.data).ok()?;
            strip(&mut v);
            if let Some(r) = v.get_mut("response").and_then(serde_json::Value::as_object_mut) {
                r.remove("id");
            }
            Some((e.name.clone(), v))
        };
        // A Responses reasoning item waits for the item after it, so events may move; none
        // may be lost or changed.
        let key = |e: &Event| renumbered(e).map_or_else(|| format!("{:?}", e.raw), |v| format!("{v:?}"));
        let mut a: Vec<String> = out.iter().map(key).collect();
        let mut b: Vec<String> = sent.iter().map(key).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b, "{what}: events changed");
    }

    /// Tool-call arguments and bodies of any shape: parsed or refused, never a panic.
    #[test]
    fn any_tool_call_arguments_and_bodies_are_handled() {
        let mut rng = Rng(0x2545_f491_4f6c_dd1d);
        let pieces = [
            "{",
            "}",
            "\"hash\"",
            ":",
            "\"h:1\"",
            "[",
            "]",
            ",",
            "null",
            "\\u00e9",
            "\"",
            " ",
            "1e999",
            "\"tools\"",
            "headroom_retrieve(\\\"h:",
        ];
        for _ in 0..5000 {
            let text: String = (0..rng.below(16)).map(|_| pieces[rng.below(pieces.len())]).collect();
            let _ = crate::retrieval::turn::Call::from_arguments("id", &text);
            let _ = tool::has_marker(text.as_bytes());
            for dialect in [Dialect::AnthropicMessages, Dialect::OpenaiChat, Dialect::OpenaiResponses] {
                if let Ok(with_tool) = tool::inject(dialect, &text) {
                    assert!(
                        serde_json::from_str::<serde_json::Value>(&with_tool).is_ok(),
                        "{text} -> {with_tool}"
                    );
                }
                let _ = crate::retrieval::survey_of(dialect, text.as_bytes());
            }
        }
    }

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
