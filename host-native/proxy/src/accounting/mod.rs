//! Accounting: one [`Record`] per request on the LLM routes, built while the request is
//! prepared and completed as the response passes through ([`tap`]), then handed to every
//! consumer at once ([`Accounting::finish`]): `/stats` and the savings history, `/metrics`,
//! the request log. Later consumers (costs, budgets, rate limits, a shared store) take the
//! same record through [`Sink`].

pub mod bill;
pub mod session;
pub mod tap;
pub mod usage;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use headroom_runtime::wit::{self, Dialect};

use crate::ccr::Tenant;
use crate::provider::Provider;

pub use bill::Bill;
pub use usage::Usage;

/// Longest model name kept (client-chosen text: bounded before it reaches a label or a log).
pub const MAX_MODEL_CHARS: usize = 64;

/// Tokens one transform removed from one request.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct TransformTokens {
    /// The transform's name, as the engine reports it.
    pub name: String,
    /// Blocks it rewrote.
    pub blocks: u32,
    /// Their tokens before.
    pub tokens_before: u64,
    /// Their tokens after.
    pub tokens_after: u64,
    /// Its share of the engine call, milliseconds: the call's wall time split by the tokens
    /// each transform rewrote out of all the tokens the engine read (the engine has no clock).
    pub ms: f64,
}

/// What compression did to one request.
#[derive(Debug, Clone, Default)]
pub struct Compression {
    /// Tokens (o200k) of the blocks the engine looked at, as received.
    pub tokens_before: u64,
    /// The same blocks as forwarded.
    pub tokens_after: u64,
    /// Per transform that rewrote something.
    pub transforms: Vec<TransformTokens>,
    /// Wall time of the engine call.
    pub elapsed: Duration,
    /// The engine failed or ran out of time: the original was forwarded.
    pub failed: bool,
    /// The engine was called at all.
    pub ran: bool,
    /// The body changed.
    pub rewrote: bool,
    /// The request's model, as the engine read it.
    pub model: Option<String>,
}

impl Compression {
    /// Read the engine's report.
    pub fn from_report(report: &[wit::BlockReport], elapsed: Duration) -> Self {
        let mut c = Self { elapsed, ran: true, ..Self::default() };
        for block in report {
            c.tokens_before += u64::from(block.tokens_before);
            c.tokens_after += u64::from(block.tokens_after);
            if let wit::BlockStatus::Compressed(name) = &block.status {
                let entry = match c.transforms.iter().position(|t| &t.name == name) {
                    Some(i) => &mut c.transforms[i],
                    None => {
                        c.transforms
                            .push(TransformTokens { name: name.clone(), ..TransformTokens::default() });
                        let last = c.transforms.len() - 1;
                        &mut c.transforms[last]
                    }
                };
                entry.blocks += 1;
                entry.tokens_before += u64::from(block.tokens_before);
                entry.tokens_after += u64::from(block.tokens_after);
            }
        }
        if c.tokens_before > 0 {
            let per_token = elapsed.as_secs_f64() * 1000.0 / c.tokens_before as f64;
            for t in &mut c.transforms {
                t.ms = t.tokens_before as f64 * per_token;
            }
        }
        c
    }

    /// Tokens removed.
    pub fn saved(&self) -> u64 {
        self.tokens_before.saturating_sub(self.tokens_after)
    }
}

/// The completed record of one request.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Record {
    /// The proxy's id for the request (also sent as `x-headroom-request-id`).
    pub request_id: RequestId,
    /// When it arrived, Unix milliseconds.
    pub at_ms: u64,
    /// `anthropic` or `openai`.
    pub provider: &'static str,
    /// The route: `/v1/messages`, `/v1/chat/completions` or `/v1/responses`.
    pub path: &'static str,
    /// The model the client asked for (at most [`MAX_MODEL_CHARS`]).
    pub model: String,
    /// Hashed key scope (never the key).
    pub key_scope: String,
    /// The conversation's short id, when the body has one.
    pub session: Option<String>,
    /// HTTP status the client got.
    pub status: u16,
    /// The answer was an event stream.
    pub streaming: bool,
    /// The client asked for the request to go untouched.
    pub bypass: bool,
    /// Tokens of the blocks the engine looked at, as received.
    pub tokens_before: u64,
    /// The same, as forwarded.
    pub tokens_after: u64,
    /// `tokens_before - tokens_after`.
    pub tokens_saved: u64,
    /// Per transform.
    pub transforms: Vec<TransformTokens>,
    /// Compression failed or timed out (the original went).
    pub compression_failed: bool,
    /// Engine time, milliseconds.
    pub compression_ms: f64,
    /// Time from arrival until the request was ready to go upstream, milliseconds.
    pub overhead_ms: f64,
    /// Time from arrival to the first byte of the answer's body, milliseconds.
    pub ttfb_ms: Option<f64>,
    /// Time from arrival to the last byte, milliseconds.
    pub latency_ms: f64,
    /// Continuations the proxy sent to answer its retrieval tool.
    pub retrieval_rounds: u32,
    /// The provider's usage, summed over the rounds (what the client was told).
    pub usage: Option<Usage>,
    /// The bill in input-token equivalents, with the counterfactual without Headroom.
    pub bill: Option<Bill>,
    /// A cache break this request showed: `proxy` (history the proxy rewrote) or `provider`.
    pub cache_break: Option<&'static str>,
    /// Why the request failed, when it did (`upstream_4xx`, `timeout`, ...).
    pub error_kind: Option<&'static str>,
    /// The client dropped the answer before its end.
    pub client_aborted: bool,
    /// Answered from the response cache: nothing went upstream, so the usage is zero (the
    /// client is billed nothing for it) and there is no bill to compare.
    pub cache_hit: bool,
    /// The client's body (for `--log-full-messages` only; never serialised as it is).
    #[serde(skip)]
    pub request_body: Bytes,
    /// `request_body` was validated as a JSON object when it arrived (never serialised).
    #[serde(skip)]
    pub body_valid: bool,
}

/// Something that consumes every record (called once per request, off the request's path).
pub trait Sink: Send + Sync {
    /// Take one record.
    fn record(&self, record: &Record);
}

/// A request being accounted, from arrival until its answer ends.
pub struct Draft {
    /// Provider.
    pub provider: Provider,
    /// Dialect.
    pub dialect: Dialect,
    /// Arrival.
    pub started: Instant,
    /// Arrival, wall clock.
    pub at_ms: u64,
    /// The request id.
    pub request_id: RequestId,
    /// Key scope.
    pub tenant: Tenant,
    /// What the client sent.
    pub original: Bytes,
    /// What went upstream (first round) when it is not the original itself (`None`: the
    /// original, or nothing sent yet).
    pub forwarded: Option<Bytes>,
    /// Compression.
    pub compression: Compression,
    /// Ready to send upstream.
    pub prepared_at: Option<Instant>,
    /// Bypass header.
    pub bypass: bool,
    /// Upstream sends made for this request through the retrieval exchange.
    pub sends: Arc<std::sync::atomic::AtomicU32>,
    /// Set when the proxy answered with its own error.
    pub error_kind: Option<&'static str>,
    /// Answered from the response cache.
    pub cache_hit: bool,
    /// The conversation (the ledger's session), when the body has one.
    pub session: Option<crate::ledger::Session>,
    /// `original` was validated as a JSON object when it arrived.
    pub valid: bool,
    /// The model the body names (capped).
    pub model: Option<String>,
    /// Hashes of the original's prefixes (empty when it has no message list).
    pub prefixes: Vec<[u8; 32]>,
}

impl Draft {
    /// A request on an LLM route has arrived (its body read).
    pub fn new(
        provider: Provider,
        dialect: Dialect,
        started: Instant,
        tenant: Tenant,
        original: Bytes,
    ) -> Self {
        let at_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        Self {
            provider,
            dialect,
            started,
            at_ms,
            request_id: next_request_id(),
            tenant,
            original,
            forwarded: None,
            compression: Compression::default(),
            prepared_at: None,
            bypass: false,
            sends: Arc::default(),
            error_kind: None,
            cache_hit: false,
            session: None,
            valid: false,
            model: None,
            prefixes: Vec::new(),
        }
    }

    /// What was read of the body when it arrived.
    pub fn read(&mut self, facts: &crate::facts::Facts) {
        self.session = facts.session.as_ref().map(|(s, _)| s.clone());
        self.valid = facts.valid;
        self.model = facts.model.clone();
        self.prefixes = facts.hashes.prefixes.clone();
    }

    /// Copy the small bodies it holds into their own buffers, before it waits in the queue (see
    /// [`unpinned`]).
    fn unpin(&mut self) {
        self.original = unpinned(&self.original);
        self.forwarded = self.forwarded.as_ref().map(unpinned);
    }

    /// The body is ready to go upstream.
    pub fn prepared(&mut self, forwarded: &Bytes, compression: Compression) {
        self.prepared_at = Some(Instant::now());
        let same = forwarded.as_ptr() == self.original.as_ptr() && forwarded.len() == self.original.len();
        self.forwarded = (!same).then(|| forwarded.clone());
        self.compression = compression;
    }
}

/// Bodies up to this size are copied before they are queued ([`unpinned`]).
const UNPIN_MAX: usize = 64 << 10;

/// `b` in a buffer of its own when it shares one and is small (up to [`UNPIN_MAX`]), else `b`
/// itself. A body that came in one read is a slice of the connection's read buffer (hyper's,
/// 8 KB and more), and holds all of it: queued for the batch's 10 ms, a few hundred requests'
/// buffers stay held, hyper allocates fresh ones for every read, and the batch frees buffers
/// shared with the connections' threads. Copied, the connection reuses its buffer at once
/// (measured: the accounting thread's CPU per request fell by about a sixth). A body nothing
/// else holds (gathered from several reads, or built by the proxy) is in its own buffer
/// already; a large shared one is most of the buffer it was read into: copying either would
/// only cost.
pub fn unpinned(b: &Bytes) -> Bytes {
    if b.is_empty() || b.len() > UNPIN_MAX || b.is_unique() {
        return b.clone();
    }
    Bytes::copy_from_slice(b)
}

/// A request id: `hr-`, 8 hex digits of a per-process prefix, `-`, a counter in hex (28
/// characters at most), kept inline.
pub type RequestId = arrayvec::ArrayString<32>;

/// Unique within the process and across restarts (a time-derived prefix and a counter).
fn next_request_id() -> RequestId {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::OnceLock<arrayvec::ArrayString<8>> = std::sync::OnceLock::new();
    let prefix = PREFIX.get_or_init(|| {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let mut h = blake3::Hasher::new();
        h.update(&nanos.to_le_bytes());
        h.update(&std::process::id().to_le_bytes());
        arrayvec::ArrayString::from(&h.finalize().to_hex()[..8]).unwrap_or_default()
    });
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // 3 + 8 + 1 + 16 characters at most: within the capacity.
    let mut id = RequestId::new();
    id.push_str("hr-");
    id.push_str(prefix);
    id.push('-');
    id.push_str(crate::hex::u64_digits(n, &mut [0; 16]));
    id
}

/// A model name cut to [`MAX_MODEL_CHARS`] and stripped of control characters.
pub fn cap_model(m: &str) -> String {
    // Nearly every name is short and clean: copied whole, not a character at a time.
    if m.len() <= MAX_MODEL_CHARS && !m.chars().any(char::is_control) {
        return m.to_owned();
    }
    m.chars().filter(|c| !c.is_control()).take(MAX_MODEL_CHARS).collect()
}

/// The path of a dialect's route.
pub fn path_of(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::AnthropicMessages => "/v1/messages",
        Dialect::OpenaiChat => "/v1/chat/completions",
        Dialect::OpenaiResponses => "/v1/responses",
    }
}

/// The consumers of records, and the per-session state the bill needs.
///
/// Requests are accounted in batches, not one by one as their answers end: [`Self::finish`]
/// queues the request, and a thread of its own accounts what is queued a few milliseconds
/// later, together. One request at a time, the consumers' code and data (the session map,
/// `/stats`' and `/metrics`' tables, spend, the two log lines' formatting) were cold in the
/// cache every time (the network stack, the client and the upstream ran in between), and cost
/// several times their instructions; in a batch they stay warm. Whatever reads what the
/// consumers hold settles the queue first ([`Self::settle`]): `/stats`, `/stats-history`,
/// `/metrics`, budget checks and the final write at shutdown see every request that ended.
pub struct Accounting {
    sinks: Vec<Arc<dyn Sink>>,
    /// Per-conversation cache state for the bill.
    pub sessions: session::Sessions,
    /// Requests whose answers ended, not accounted yet.
    pending: Mutex<Pending>,
    /// Held while a batch is accounted, so that batches are accounted in the order they were
    /// taken (a session's turns are billed in order); the spare list a batch is swapped into.
    settling: Mutex<Vec<(Draft, tap::Seen)>>,
    /// The thread that accounts batches (none: each request is accounted as it ends).
    settler: OnceLock<std::thread::Thread>,
}

#[derive(Default)]
struct Pending {
    items: Vec<(Draft, tap::Seen)>,
    /// The bodies they hold.
    bytes: usize,
}

/// How long the thread waits after the first request of a batch, for the batch to fill.
const BATCH_WAIT: Duration = Duration::from_millis(10);
/// Past this many queued requests, or bytes of bodies, the request that ends accounts the
/// queue itself (the thread has fallen behind: memory stays bounded).
const MAX_PENDING: usize = 1024;
const MAX_PENDING_BYTES: usize = 32 << 20;

impl Accounting {
    /// With these consumers, keeping at most `memo_bytes` of forwarded bodies for the bill's
    /// next read of each conversation (0: none).
    pub fn new(sinks: Vec<Arc<dyn Sink>>, memo_bytes: usize) -> Self {
        Self {
            sinks,
            sessions: session::Sessions::new(memo_bytes),
            pending: Mutex::default(),
            settling: Mutex::default(),
            settler: OnceLock::new(),
        }
    }

    /// Start the thread that accounts requests in batches, in the runtime of the caller
    /// (consumers start background writes on it: the shared store's). Until it runs (or
    /// should it fail to start, or the caller be outside a runtime), each request is accounted
    /// as it ends.
    pub fn start_settler(self: &Arc<Self>) -> std::io::Result<()> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return Ok(()) };
        let weak = Arc::downgrade(self);
        let thread = std::thread::Builder::new().name("headroom-accounting".into()).spawn(move || {
            let _in_runtime = runtime.enter();
            loop {
                std::thread::park();
                std::thread::sleep(BATCH_WAIT);
                // Every handle gone: the last requests were accounted in `Drop`.
                let Some(accounting) = weak.upgrade() else { return };
                let settled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| accounting.settle()));
                if settled.is_err() {
                    tracing::error!("accounting a batch of requests panicked; the next batch goes on");
                }
            }
        })?;
        let _ = self.settler.set(thread.thread().clone());
        Ok(())
    }

    /// A request's answer ended (or the client left): queue it to be accounted with the batch.
    pub fn finish(&self, mut draft: Draft, mut seen: tap::Seen) {
        draft.unpin();
        seen.answer = seen.answer.map(usage::Checked::unpinned);
        let bytes = draft.original.len()
            + draft.forwarded.as_ref().map_or(0, Bytes::len)
            + seen.answer.as_ref().map_or(0, usage::Checked::size);
        let (first, full) = {
            let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            p.items.push((draft, seen));
            p.bytes += bytes;
            (p.items.len() == 1, p.items.len() >= MAX_PENDING || p.bytes >= MAX_PENDING_BYTES)
        };
        match self.settler.get() {
            Some(_) if full => self.settle(),
            Some(thread) if first => thread.unpark(),
            Some(_) => {}
            None => self.settle(),
        }
    }

    /// Account every queued request now, in order (before reading what the consumers hold).
    pub fn settle(&self) {
        let mut batch = self.settling.lock().unwrap_or_else(PoisonError::into_inner);
        {
            let mut p = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            if p.items.is_empty() {
                return;
            }
            std::mem::swap(&mut p.items, &mut *batch);
            p.bytes = 0;
        }
        for (draft, seen) in batch.drain(..) {
            self.account(draft, seen);
        }
    }

    /// Complete a record from what the tap saw and hand it to every consumer. The record
    /// takes what it needs out of the draft rather than copying it: the draft's buffers were
    /// allocated by the request's thread, and each one copied here was one more allocation
    /// and free.
    fn account(&self, mut draft: Draft, mut seen: tap::Seen) {
        if let Some(answer) = seen.answer.take() {
            (seen.usage, seen.model) = answer.read();
        }
        let model = match draft.compression.model.as_deref() {
            Some(m) => cap_model(m),
            None => draft.model.take().or(seen.model).unwrap_or_else(|| "unknown".into()),
        };
        let end = seen.ended_at.unwrap_or_else(Instant::now);
        // The session's state and the bill, from the draft before the record takes its parts.
        let (usage, retrieval_rounds, session, bill, cache_break) = if draft.cache_hit {
            // Nothing was sent: the provider billed nothing, and the answer's own usage (what
            // it cost when it was stored) is not this request's.
            (Some(Usage::default()), 0, draft.session.as_ref().map(crate::ledger::Session::id), None, None)
        } else {
            let rounds = draft.sends.load(Ordering::Relaxed).saturating_sub(1);
            match seen.usage.filter(|_| (200..300).contains(&seen.status)) {
                Some(usage) => {
                    let outcome = self.sessions.observe(&draft, &model, &usage, end);
                    (seen.usage, rounds, outcome.session, Some(outcome.bill), outcome.cache_break)
                }
                None => {
                    (seen.usage, rounds, draft.session.as_ref().map(crate::ledger::Session::id), None, None)
                }
            }
        };
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let overhead = draft.prepared_at.map_or(Duration::ZERO, |p| p.duration_since(draft.started));
        let record = Record {
            request_id: draft.request_id,
            at_ms: draft.at_ms,
            provider: draft.provider.name(),
            path: path_of(draft.dialect),
            model,
            key_scope: draft.tenant.as_str().to_owned(),
            session,
            status: seen.status,
            streaming: seen.streaming,
            bypass: draft.bypass,
            tokens_before: draft.compression.tokens_before,
            tokens_after: draft.compression.tokens_after,
            tokens_saved: draft.compression.saved(),
            transforms: std::mem::take(&mut draft.compression.transforms),
            compression_failed: draft.compression.failed,
            compression_ms: ms(draft.compression.elapsed),
            overhead_ms: ms(overhead),
            ttfb_ms: seen.first_byte_at.map(|t| ms(t.duration_since(draft.started))),
            latency_ms: ms(end.duration_since(draft.started)),
            retrieval_rounds,
            usage,
            bill,
            cache_break,
            error_kind: draft.error_kind.or_else(|| error_kind(seen.status)),
            client_aborted: seen.aborted,
            cache_hit: draft.cache_hit,
            request_body: std::mem::take(&mut draft.original),
            body_valid: draft.valid,
        };
        for sink in &self.sinks {
            sink.record(&record);
        }
        // The documented fields only (the request log has the rest), times to the microsecond:
        // a line per request is a good part of what logging at `info` costs.
        let micros = |ms: f64| (ms * 1000.0).round() / 1000.0;
        tracing::info!(
            request_id = %record.request_id,
            provider = record.provider,
            model = %record.model,
            path = record.path,
            status = record.status,
            tokens_saved = record.tokens_saved,
            latency_ms = micros(record.latency_ms),
            overhead_ms = micros(record.overhead_ms),
            retrieval_rounds = record.retrieval_rounds,
            error = record.error_kind.unwrap_or(""),
            "request"
        );
    }
}

impl Drop for Accounting {
    /// The requests still queued are accounted (their consumers are still here); the thread
    /// wakes and, finding no accounting, ends.
    fn drop(&mut self) {
        self.settle();
        if let Some(thread) = self.settler.get() {
            thread.unpark();
        }
    }
}

/// The error kind of an upstream status.
fn error_kind(status: u16) -> Option<&'static str> {
    match status {
        0..=399 => None,
        429 => Some("rate_limited"),
        401 | 403 => Some("upstream_auth"),
        400..=499 => Some("upstream_4xx"),
        529 => Some("overloaded"),
        _ => Some("upstream_5xx"),
    }
}

/// A request answered from the response cache: accounted as any other, marked as a hit.
pub fn respond_cached(
    state: &Arc<crate::state::AppState>,
    mut draft: Draft,
    hit: axum::response::Response,
) -> axum::response::Response {
    draft.cache_hit = true;
    draft.prepared_at = Some(Instant::now());
    tap::observe(state, draft, hit)
}

/// The client's response for `draft`: the answer (or the proxy's own error in the provider's
/// format), watched on its way out.
pub fn respond(
    state: &Arc<crate::state::AppState>,
    mut draft: Draft,
    sent: Result<axum::response::Response, crate::errors::ProxyError>,
) -> axum::response::Response {
    let response = match sent {
        Ok(r) => r,
        Err(e) => {
            draft.error_kind = Some(proxy_error_kind(&e));
            e.into_provider_response(draft.provider)
        }
    };
    tap::observe(state, draft, response)
}

/// A short, bounded name for an error the proxy answered itself.
fn proxy_error_kind(e: &crate::errors::ProxyError) -> &'static str {
    use crate::errors::ProxyError;
    match e {
        ProxyError::Unreachable(_) => "unreachable",
        ProxyError::Timeout(_) => "timeout",
        ProxyError::TooLarge(_) => "too_large",
        ProxyError::BadRequest(_) => "bad_request",
        _ => "proxy_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A consumer that keeps the request ids it was handed, in order.
    #[derive(Default)]
    struct Ids(Mutex<Vec<String>>);

    impl Sink for Ids {
        fn record(&self, r: &Record) {
            self.0.lock().expect("lock").push(r.request_id.to_string());
        }
    }

    impl Ids {
        fn seen(&self) -> Vec<String> {
            self.0.lock().expect("lock").clone()
        }
    }

    fn draft(body: &'static [u8]) -> Draft {
        let tenant = Tenant::of(&http::HeaderMap::new());
        Draft::new(Provider::OpenAi, Dialect::OpenaiChat, Instant::now(), tenant, Bytes::from_static(body))
    }

    fn accounting() -> (Arc<Accounting>, Arc<Ids>) {
        let ids = Arc::new(Ids::default());
        (Arc::new(Accounting::new(vec![ids.clone() as Arc<dyn Sink>], 0)), ids)
    }

    /// Accounting whose thread never accounts (the test's own thread stands for it): requests
    /// stay queued until something settles them.
    fn held() -> (Arc<Accounting>, Arc<Ids>) {
        let (acc, ids) = accounting();
        acc.settler.set(std::thread::current()).expect("no thread yet");
        (acc, ids)
    }

    fn finish(acc: &Accounting, body: &'static [u8]) -> String {
        let d = draft(body);
        let id = d.request_id.to_string();
        acc.finish(d, tap::Seen::default());
        id
    }

    #[test]
    fn requests_are_queued_and_settled_in_order() {
        let (acc, ids) = held();
        let sent: Vec<String> = (0..50).map(|_| finish(&acc, b"{}")).collect();
        assert!(ids.seen().is_empty());
        // A reader settles the queue: every request, in the order their answers ended.
        acc.settle();
        assert_eq!(ids.seen(), sent);
        acc.settle();
        assert_eq!(ids.seen(), sent);
    }

    #[test]
    fn a_queued_request_does_not_hold_the_buffers_its_bodies_were_read_into() {
        use bytes::BytesMut;
        let (acc, _ids) = held();
        // As hyper reads: each body is split off its connection's read buffer, which the
        // connection reuses once nothing else holds it.
        let read = |text: &[u8]| {
            let mut conn = BytesMut::with_capacity(8192);
            conn.extend_from_slice(text);
            let body = conn.split().freeze();
            (conn, body)
        };
        let (mut client, body) = read(br#"{"model":"m","messages":[]}"#);
        let (mut upstream, answer) = read(br#"{"model":"m","usage":{"prompt_tokens":3}}"#);
        let tenant = Tenant::of(&http::HeaderMap::new());
        let mut d = Draft::new(Provider::OpenAi, Dialect::OpenaiChat, Instant::now(), tenant, body.clone());
        d.prepared(&body, Compression::default());
        let seen =
            tap::Seen { answer: Some(usage::check_answer(&answer).expect("json")), ..Default::default() };
        drop((body, answer));
        assert!(!client.try_reclaim(8180) && !upstream.try_reclaim(8180), "held by the draft");
        acc.finish(d, seen);
        // Queued, not accounted yet: the read buffers are the connections' again.
        assert!(client.try_reclaim(8180) && upstream.try_reclaim(8180));
        let pending = acc.pending.lock().expect("lock");
        let (d, seen) = &pending.items[0];
        assert_eq!(&d.original[..], br#"{"model":"m","messages":[]}"#);
        assert!(d.forwarded.is_none(), "the original forwarded is not held twice");
        let (usage, model) = seen.answer.as_ref().expect("answer").read();
        assert_eq!((usage.map(|u| u.uncached_input), model.as_deref()), (Some(3), Some("m")));
        // A body in a buffer of its own is not copied, nor is a large one.
        let own = Bytes::from(br#"{"model":"m"}"#.to_vec());
        assert_eq!(unpinned(&own).as_ptr(), own.as_ptr());
        let (_conn, big) = read(&vec![b' '; UNPIN_MAX + 1]);
        assert_eq!(unpinned(&big).as_ptr(), big.as_ptr());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_thread_accounts_a_batch_by_itself() {
        let (acc, ids) = accounting();
        acc.start_settler().expect("thread");
        let sent: Vec<String> = (0..20).map(|_| finish(&acc, b"{}")).collect();
        let deadline = Instant::now() + Duration::from_secs(5);
        while ids.seen().len() < sent.len() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(ids.seen(), sent);
    }

    #[test]
    fn the_queue_is_bounded_and_what_is_queued_is_accounted_when_dropped() {
        let (acc, ids) = held();
        // At the bound, the request that ends accounts the queue itself.
        for _ in 0..MAX_PENDING - 1 {
            finish(&acc, b"{}");
        }
        assert!(ids.seen().is_empty());
        finish(&acc, b"{}");
        assert_eq!(ids.seen().len(), MAX_PENDING);
        // So it is for bodies past the byte bound.
        static BIG: [u8; MAX_PENDING_BYTES] = [b' '; MAX_PENDING_BYTES];
        finish(&acc, b"{}");
        assert_eq!(ids.seen().len(), MAX_PENDING);
        finish(&acc, &BIG);
        assert_eq!(ids.seen().len(), MAX_PENDING + 2);
        // What is still queued when the accounting goes is accounted then.
        finish(&acc, b"{}");
        assert_eq!(ids.seen().len(), MAX_PENDING + 2);
        drop(acc);
        assert_eq!(ids.seen().len(), MAX_PENDING + 3);
    }

    #[test]
    fn without_a_thread_each_request_is_accounted_as_it_ends() {
        // Outside a runtime no thread starts.
        let (acc, ids) = accounting();
        acc.start_settler().expect("no thread, no error");
        acc.finish(draft(b"{}"), tap::Seen::default());
        assert_eq!(ids.seen().len(), 1);
    }

    #[test]
    fn request_ids_count_in_hex_after_their_prefix() {
        let (a, b) = (next_request_id(), next_request_id());
        let (pa, na) = a.rsplit_once('-').expect("prefix");
        let (pb, nb) = b.rsplit_once('-').expect("prefix");
        assert!(pa.starts_with("hr-") && pa.len() == 11 && pa == pb, "{a} {b}");
        assert!(u64::from_str_radix(nb, 16).unwrap() > u64::from_str_radix(na, 16).unwrap());
    }
}
