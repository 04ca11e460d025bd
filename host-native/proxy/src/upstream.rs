//! Forwarding to the provider: headers filtered, body as given, response relayed as it
//! arrives (a stream stays a stream: each chunk goes to the client when the upstream sends it).
//!
//! Three bounds, none of them on a whole exchange (a long generation that keeps moving is never
//! cut): connecting (the client's `connect_timeout`), the response head
//! (`upstream_timeout`, here), and the stream idle bound between two chunks of the body
//! ([`guard`]).

pub mod guard;
pub mod watch;

use axum::body::Body;
use axum::response::Response;
use headroom_runtime::wit::Dialect;
use http::{HeaderMap, HeaderName, Method};

use crate::errors::ProxyError;
use crate::provider::Provider;
use crate::state::AppState;

/// Hop-by-hop headers (RFC 9110 7.6.1) and those the client library recomputes.
const DROPPED: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
    "accept-encoding",
];

fn forwardable(name: &HeaderName) -> bool {
    !DROPPED.contains(&name.as_str()) && !name.as_str().starts_with("x-headroom-")
}

/// Send `body` to the provider's URL for `path_and_query` and relay the answer.
pub async fn forward(
    state: &AppState,
    provider: Provider,
    method: Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: reqwest::Body,
) -> Result<Response, ProxyError> {
    let upstream = send(state, provider, method, path_and_query, headers, body).await?;
    relay_headers(&upstream)
        .body(relay_body(upstream, state.config.stream_idle_timeout))
        .map_err(|e| ProxyError::Unreachable(e.to_string()))
}

/// [`forward`] for one of the LLM routes, whose answers the proxy checks: see [`relay_llm`].
pub async fn forward_llm(
    state: &AppState,
    dialect: Dialect,
    provider: Provider,
    path_and_query: &str,
    headers: &HeaderMap,
    body: reqwest::Body,
) -> Result<Response, ProxyError> {
    let upstream = send(state, provider, Method::POST, path_and_query, headers, body).await?;
    relay_llm(state, dialect, upstream).await
}

/// Relay an LLM route's answer. Errors (4xx, 5xx, 429, 529) pass through as the upstream
/// sent them; a success must be what the API promises: an event stream that reaches its
/// final event (else the provider's error event ends it), or a whole JSON body (else a 502
/// or 504 in the provider's format, before any byte of the answer went out).
pub async fn relay_llm(
    state: &AppState,
    dialect: Dialect,
    upstream: reqwest::Response,
) -> Result<Response, ProxyError> {
    let idle = state.config.stream_idle_timeout;
    let head = relay_headers(&upstream);
    let body = if !upstream.status().is_success() {
        relay_body(upstream, idle)
    } else if is_event_stream(&upstream) {
        guard::relay_events(upstream, dialect, idle)
    } else {
        Body::from(guard::read_json(upstream, idle).await?)
    };
    head.body(body).map_err(|e| ProxyError::Unreachable(e.to_string()))
}

/// Whether the upstream answers with server-sent events.
pub fn is_event_stream(upstream: &reqwest::Response) -> bool {
    upstream
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// The routes nearly every request takes, whose upstream URLs are parsed once.
const ROUTES: [&str; 4] =
    ["/v1/messages", "/v1/chat/completions", "/v1/responses", "/v1/messages/count_tokens"];

/// Each provider's base URL, with the URLs of [`ROUTES`] under it parsed at start-up: a request
/// on one of them clones a parsed URL instead of parsing (host, IDNA, path) its own.
#[derive(Debug)]
pub struct Targets {
    anthropic: Target,
    openai: Target,
}

#[derive(Debug)]
struct Target {
    base: String,
    routes: Vec<(&'static str, reqwest::Url)>,
}

impl Target {
    fn new(base: &str) -> Self {
        let routes = ROUTES
            .iter()
            .filter_map(|r| Some((*r, reqwest::Url::parse(&format!("{base}{r}")).ok()?)))
            .collect();
        Self { base: base.to_owned(), routes }
    }
}

impl Targets {
    /// The targets of `config`'s upstreams.
    pub fn new(config: &crate::config::ProxyConfig) -> Self {
        Self { anthropic: Target::new(&config.anthropic_url), openai: Target::new(&config.openai_url) }
    }

    /// The upstream URL of `path_and_query` at `provider`.
    pub fn url(&self, provider: Provider, path_and_query: &str) -> Result<reqwest::Url, ProxyError> {
        let target = match provider {
            Provider::Anthropic => &self.anthropic,
            Provider::OpenAi => &self.openai,
        };
        if let Some((_, url)) = target.routes.iter().find(|(r, _)| *r == path_and_query) {
            return Ok(url.clone());
        }
        let text = format!("{}{path_and_query}", target.base);
        reqwest::Url::parse(&text)
            .map_err(|e| ProxyError::Unreachable(format!("bad upstream URL {text:?}: {e}")))
    }
}

/// The client's headers the upstream gets: hop-by-hop and the proxy's own left out, values
/// shared with the client's request (no copy of their bytes).
fn forwarded_headers(headers: &HeaderMap) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        if forwardable(name) {
            out.append(name.clone(), value.clone());
        }
    }
    out
}

/// Send a request upstream and return its response once the status line and headers are in,
/// within the response-head bound (dropping the request on time-out closes its connection).
pub async fn send(
    state: &AppState,
    provider: Provider,
    method: Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: reqwest::Body,
) -> Result<reqwest::Response, ProxyError> {
    let mut request = reqwest::Request::new(method, state.targets.url(provider, path_and_query)?);
    *request.headers_mut() = forwarded_headers(headers);
    *request.body_mut() = Some(body);
    let bound = state.config.upstream_timeout;
    match tokio::time::timeout(bound, state.client.execute(request)).await {
        Ok(sent) => sent.map_err(|e| classify(&e)),
        Err(_) => Err(ProxyError::Timeout(format!(
            "no response head within {} s (upstream timeout)",
            bound.as_secs_f64()
        ))),
    }
}

/// A response builder with the upstream's status and forwardable headers.
pub fn relay_headers(upstream: &reqwest::Response) -> http::response::Builder {
    let mut response = Response::builder().status(upstream.status());
    if let Some(h) = response.headers_mut() {
        for (name, value) in upstream.headers() {
            if forwardable(name) {
                h.append(name, value.clone());
            }
        }
    }
    response
}

/// The upstream body as it arrives, byte for byte. A failure mid-stream, or a stall past
/// `idle`, can only end the stream: the status line is already sent.
pub fn relay_body(upstream: reqwest::Response, idle: std::time::Duration) -> Body {
    guard::relay_raw(upstream, idle)
}

pub(crate) fn classify(e: &reqwest::Error) -> ProxyError {
    let text = guard::error_chain(e);
    if e.is_timeout() { ProxyError::Timeout(text) } else { ProxyError::Unreachable(text) }
}
