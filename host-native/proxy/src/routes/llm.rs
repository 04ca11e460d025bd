//! The provider routes: `POST /v1/messages`, `/v1/chat/completions` and `/v1/responses` are
//! compressed; every other path is forwarded untouched to the right upstream.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::StreamExt;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use headroom_runtime::wit;

use crate::accounting::{self, Compression, Draft};
use crate::ccr::Tenant;
use crate::errors::ProxyError;
use crate::facts::Facts;
use crate::provider::Provider;
use crate::retrieval::{self, Exchange};
use crate::state::{AppState, Counters};
use crate::upstream::{forward, forward_llm};

use super::count_tokens;

/// Any request: compressed when it is one of the three LLM routes, then forwarded.
pub async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let started = std::time::Instant::now();
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let path_and_query = parts.uri.path_and_query().map_or(path.clone(), |p| p.as_str().to_owned());
    let provider = Provider::for_request(&path, &parts.headers);
    let dialect = match (parts.method == http::Method::POST, path.as_str()) {
        (true, "/v1/messages") => Some(wit::Dialect::AnthropicMessages),
        (true, "/v1/chat/completions") => Some(wit::Dialect::OpenaiChat),
        (true, "/v1/responses") => Some(wit::Dialect::OpenaiResponses),
        _ => None,
    };
    let bypass = parts.headers.get("x-headroom-bypass").is_some_and(|v| v == "true" || v == "1");
    if parts.method == http::Method::POST
        && path == count_tokens::PATH
        && state.config.optimize
        && state.config.count_tokens_compression
    {
        return count_tokens::handle(state, parts, body, bypass).await;
    }
    // The key scope of an LLM route's request, hashed once.
    let mut tenant = dialect.map(|_| Tenant::of(&parts.headers));
    // Budgets and rate limits, before any work: a refused request costs nothing upstream. A
    // budget counts every request that ended (the queue of them accounted first).
    if tenant.is_some() && state.spend.budget.enabled() {
        state.accounting.settle();
    }
    if let Some(t) = &tenant
        && let Some(refused) = state.spend.refusal(provider, t.as_str()).await
    {
        return refused;
    }
    let limit = state.config.max_body_bytes;
    let result = match dialect {
        Some(d) if state.config.optimize => {
            let body = match super::read_body(body, limit).await {
                Ok(b) => b,
                Err(e) => return e.into_provider_response(provider),
            };
            let tenant = tenant.take().unwrap_or_else(|| Tenant::of(&parts.headers));
            // The body is validated and read once, here: its conversation, its hashes and what
            // it allows the retrieval tool.
            let facts = Facts::read_remembering(&tenant, d, &body, &state.read_memos);
            // The response cache: keyed on the request as the client sent it, per key scope.
            let whole = facts.valid.then_some(&facts.hashes.whole);
            let cache_key = state.cache.key(tenant.as_str(), &path, &parts.headers, whole);
            let mut draft = Draft::new(provider, d, started, tenant.clone(), body.clone());
            draft.read(&facts);
            if let Some(key) = &cache_key
                && let Some(hit) = state.cache.lookup(key).await
            {
                return accounting::respond_cached(&state, draft, hit);
            }
            let sends = Arc::clone(&draft.sends);
            let cache =
                |response: Response| crate::cache::record::tee(&state.cache, cache_key, sends, response);
            if bypass {
                // Sent as it is: later turns must keep sending these messages as they are.
                if let Some((session, count)) = facts.session {
                    state.ledger_record(session, count).await;
                }
                draft.bypass = true;
                draft.prepared(&body, Compression::default());
                state.spend.debit_body(tenant.as_str(), &body);
                let sent =
                    forward_llm(&state, d, provider, &path_and_query, &parts.headers, body.into()).await;
                return cache(accounting::respond(&state, draft, sent));
            }
            let Prepared { body, with_tool, compression } =
                prepare(&state, d, body, &tenant, &parts.headers, Purpose::Turn, &facts).await;
            let sent = match with_tool {
                Some(with_tool) => {
                    let sent = Bytes::from(with_tool);
                    state.spend.debit_body(tenant.as_str(), &sent);
                    draft.prepared(&sent, compression);
                    let exchange = Exchange {
                        state: Arc::clone(&state),
                        dialect: d,
                        provider,
                        path_and_query,
                        headers: parts.headers,
                        tenant,
                        sends: Arc::clone(&draft.sends),
                    };
                    retrieval::respond(exchange, sent, body).await
                }
                None => {
                    state.spend.debit_body(tenant.as_str(), &body);
                    draft.prepared(&body, compression);
                    forward_llm(&state, d, provider, &path_and_query, &parts.headers, body.into()).await
                }
            };
            return cache(accounting::respond(&state, draft, sent));
        }
        // Everything else streams through (uploads included), within the same size limit.
        _ => {
            if declared_length(&parts.headers).is_some_and(|n| n > limit) {
                return ProxyError::TooLarge(limit).into_provider_response(provider);
            }
            let (body, tripped) = limited_stream(body, limit);
            // An LLM route with compression off is still accounted (its usage, its latency), and
            // its answer is checked.
            let draft = dialect.map(|d| {
                let tenant = tenant.take().unwrap_or_else(|| Tenant::of(&parts.headers));
                let mut draft = Draft::new(provider, d, started, tenant, Bytes::new());
                draft.prepared_at = Some(std::time::Instant::now());
                draft
            });
            let sent = match dialect {
                Some(d) => forward_llm(&state, d, provider, &path_and_query, &parts.headers, body).await,
                None => forward(&state, provider, parts.method, &path_and_query, &parts.headers, body).await,
            };
            let sent = match sent {
                Err(_) if tripped.load(Ordering::Relaxed) => Err(ProxyError::TooLarge(limit)),
                other => other,
            };
            if let Some(draft) = draft {
                return accounting::respond(&state, draft, sent);
            }
            sent
        }
    };
    result.unwrap_or_else(|e| e.into_provider_response(provider))
}

fn declared_length(headers: &http::HeaderMap) -> Option<usize> {
    headers.get(http::header::CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// The request body as a stream that fails once more than `limit` bytes went through; the
/// flag tells the failure from an upstream error.
fn limited_stream(body: Body, limit: usize) -> (Body, Arc<AtomicBool>) {
    let tripped = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&tripped);
    let mut seen = 0usize;
    let stream = body.into_data_stream().map(move |chunk| {
        let chunk = chunk.map_err(std::io::Error::other)?;
        seen += chunk.len();
        if seen > limit {
            flag.store(true, Ordering::Relaxed);
            return Err(std::io::Error::other("request body over the limit"));
        }
        Ok(chunk)
    });
    (Body::from_stream(stream), tripped)
}

/// Whether a compression is a request the provider will answer, or a rehearsal of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A turn: its originals are stored, the counters and the ledger updated.
    Turn,
    /// `count_tokens`: the same bytes the turn would forward, and no trace. Nothing is
    /// stored (keys are hashes of the originals, so the turn stores the same originals
    /// under the same keys), counted or recorded in the ledger (its frozen prefix still
    /// applies, as it would to the turn).
    Rehearsal,
}

/// What the proxy forwards for a request on a compressed route.
pub struct Prepared {
    /// The compressed body (or the original when compression failed).
    pub body: Bytes,
    /// `body` with the `headroom_retrieve` tool, when the proxy offers it for this request.
    pub with_tool: Option<String>,
    /// What compression did.
    pub compression: Compression,
}

/// The body a compressed route forwards for `body` (whose `facts` were read): the one place
/// that decides it, so that `count_tokens` counts exactly what `/v1/messages` would send.
pub async fn prepare(
    state: &Arc<AppState>,
    dialect: wit::Dialect,
    body: Bytes,
    tenant: &Tenant,
    headers: &http::HeaderMap,
    purpose: Purpose,
    facts: &Facts,
) -> Prepared {
    let mut opts = state.config.engine_options();
    if opts.context_limit.is_none() && crate::context_args::wants_1m_context(headers) {
        opts.context_limit = Some(crate::context_args::ANTHROPIC_1M_WINDOW);
    }
    let (body, saw_output, compression) = compress(state, dialect, body, tenant, opts, purpose, facts).await;
    let with_tool = if state.config.retrieval_tool {
        retrieval::offer(facts.survey, dialect, &body, saw_output, facts.valid)
    } else {
        None
    };
    Prepared { body, with_tool, compression }
}

/// Bodies up to this size are compressed on the async worker itself.
const INLINE_BYTES: usize = 16 << 10;

/// The body to forward: the engine's rewrite, or the original on any failure (a fault in
/// compression never costs the user a request).
///
/// Also says whether the history holds tool or command output the engine looked at (see
/// [`retrieval::offer`]).
async fn compress(
    state: &Arc<AppState>,
    dialect: wit::Dialect,
    body: Bytes,
    tenant: &Tenant,
    mut opts: wit::Options,
    purpose: Purpose,
    facts: &Facts,
) -> (Bytes, bool, Compression) {
    let Some(runtime) = state.runtime() else { return (body, false, Compression::default()) };
    // A request too small for any block and within any window (a chat turn, a title request):
    // the engine would forward it as it is, so it does not wait on the engine.
    let min_tokens = opts.min_tokens.unwrap_or(headroom_core::DEFAULT_MIN_TOKENS);
    if facts.valid && headroom_core::untouched(&body, min_tokens, opts.context_limit) {
        if purpose == Purpose::Turn
            && let Some(model) = &facts.model
            && headroom_core::ModelInfo::of(model).window.is_none()
        {
            state.unknown_models.note(model);
        }
        return (body, false, Compression::default());
    }
    // A turn's conversation lets the engine reuse the work of its previous turn; a rehearsal
    // (`count_tokens`) runs stateless so it never displaces the memory of the turns.
    let remember = purpose == Purpose::Turn && state.config.memory_bytes > 0;
    let session = facts.session.clone().filter(|_| remember || state.ledger_in_use());
    let conversation = session.as_ref().filter(|_| remember).map(|(s, _)| {
        let (tenant, id) = s.ids();
        (tenant.to_owned(), id)
    });
    if let Some((s, count)) = &session {
        let frozen = state.ledger_frozen(s, *count).await;
        if frozen > 0 {
            opts.frozen_count = Some(frozen);
        }
    }
    // A conversation's turn hands over only the originals its previous turn did not; the
    // others come as keys, refreshed in the store. `All` gets every original, for a store
    // that lost one of them.
    #[derive(Clone, Copy)]
    enum Originals {
        New,
        All,
    }
    let clock = std::time::Instant::now();
    let run = Arc::new(move |input: &[u8], originals: Originals| match (&conversation, originals) {
        (Some((tenant, id)), Originals::New) => runtime
            .compress_request_next(tenant, id, dialect, input, &opts)
            .map(|r| r.map(|(outcome, _reuse, kept)| (outcome, kept))),
        (Some((tenant, id)), Originals::All) => runtime
            .compress_request_in(tenant, id, dialect, input, &opts)
            .map(|r| r.map(|(outcome, _reuse)| (outcome, Vec::new()))),
        (None, _) => runtime.compress_request(dialect, input, &opts).map(|r| r.map(|o| (o, Vec::new()))),
    });
    let run_for = |originals: Originals| {
        let (run, input) = (Arc::clone(&run), body.clone());
        async move {
            // Small bodies take tens of microseconds: cheaper inline than a hop to the blocking pool.
            if input.len() <= INLINE_BYTES {
                Ok(run(&input, originals))
            } else {
                tokio::task::spawn_blocking(move || run(&input, originals)).await
            }
        }
    };
    let outcome = match run_for(Originals::New).await {
        Ok(Ok(Ok((mut outcome, kept)))) if purpose == Purpose::Turn => {
            let new = std::mem::take(&mut outcome.offloads)
                .into_iter()
                .map(|off| (off.key, off.original))
                .collect();
            if state.put_originals_next(tenant, new, &kept).await {
                Some(outcome)
            } else {
                // The store lost an original the body cites: the same outcome again, with
                // every original (the memory makes it cheap). Without them, the body would
                // cite what cannot be retrieved: the client's own body goes instead.
                match run_for(Originals::All).await {
                    Ok(Ok(Ok((all, _)))) => {
                        state
                            .put_originals(
                                tenant,
                                all.offloads.into_iter().map(|off| (off.key, off.original)),
                            )
                            .await;
                        Some(outcome)
                    }
                    _ => {
                        tracing::warn!(
                            "an earlier turn's originals could not be handed over again: forwarding the request as sent"
                        );
                        None
                    }
                }
            }
        }
        Ok(Ok(Ok((outcome, _)))) => Some(outcome),
        _ => None,
    };
    match outcome {
        Some(outcome) => {
            let mut compression = Compression::from_report(&outcome.report, clock.elapsed());
            compression.model = outcome.model.as_ref().map(|m| m.name.clone());
            compression.rewrote = outcome.body.is_some();
            if purpose == Purpose::Turn {
                let saved: u64 = outcome
                    .report
                    .iter()
                    .map(|b| u64::from(b.tokens_before.saturating_sub(b.tokens_after)))
                    .sum();
                Counters::add(&state.counters.tokens_saved, saved);
                if let Some(model) = outcome.model.as_ref().filter(|m| m.window.is_none()) {
                    state.unknown_models.note(&model.name);
                }
            }
            let saw_output = retrieval::agent::holds_output(&outcome.report);
            match outcome.body {
                Some(new) => {
                    if purpose == Purpose::Turn {
                        Counters::add(&state.counters.compressed, 1);
                    }
                    (Bytes::from(new), saw_output, compression)
                }
                None => (body, saw_output, compression),
            }
        }
        // Malformed for the engine (the upstream will say why), a trap, a timeout or a
        // panicked task: forward what the client sent.
        None if purpose == Purpose::Rehearsal => (body, false, Compression::default()),
        None => {
            Counters::add(&state.counters.compression_failures, 1);
            if let Some((s, count)) = facts.session.clone() {
                state.ledger_record(s, count).await;
            }
            let compression =
                Compression { failed: true, ran: true, elapsed: clock.elapsed(), ..Compression::default() };
            (body, false, compression)
        }
    }
}

/// Used by the router for unknown methods on known paths as well.
pub async fn fallback(state: State<Arc<AppState>>, request: Request<Body>) -> impl IntoResponse {
    handle(state, request).await
}
