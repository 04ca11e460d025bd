//! Forwarding to the provider: headers filtered, body as given, response relayed as it
//! arrives (a stream stays a stream: each chunk goes to the client when the upstream sends it).
//!
//! Three bounds, none of them on a whole exchange (a long generation that keeps moving is never
//! cut): connecting (the client's `connect_timeout`), the response head
//! (`upstream_timeout`, here), and the stream idle bound between two chunks of the body
//! ([`guard`]).

pub mod connect;
pub mod guard;
pub mod watch;

use axum::body::Body;
use axum::response::Response;
use headroom_runtime::wit::Dialect;
use http::{HeaderMap, HeaderName, Method};

use crate::errors::ProxyError;
use crate::provider::Provider;
use crate::state::AppState;

/// An upstream answer whose head is in; its body arrives as the client reads it.
pub type Answer = http::Response<hyper::body::Incoming>;

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
    body: Body,
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
    body: Body,
) -> Result<Response, ProxyError> {
    let upstream = send(state, provider, Method::POST, path_and_query, headers, body).await?;
    relay_llm(state, dialect, upstream).await
}

/// Relay an LLM route's answer. Errors (4xx, 5xx, 429, 529) pass through as the upstream
/// sent them; a success must be what the API promises: an event stream that reaches its
/// final event (else the provider's error event ends it), or a whole JSON body (else a 502
/// or 504 in the provider's format, before any byte of the answer went out).
pub async fn relay_llm(state: &AppState, dialect: Dialect, upstream: Answer) -> Result<Response, ProxyError> {
    let idle = state.config.stream_idle_timeout;
    let mut head = relay_headers(&upstream);
    let body = if !upstream.status().is_success() {
        relay_body(upstream, idle)
    } else if is_event_stream(&upstream) {
        guard::relay_events(upstream, dialect, idle)
    } else {
        let (bytes, checked) = guard::read_json(upstream, idle).await?;
        // The accounting takes the usage the check read (the answer goes out as it came).
        head = head.extension(checked);
        Body::from(bytes)
    };
    head.body(body).map_err(|e| ProxyError::Unreachable(e.to_string()))
}

/// Whether the upstream answers with server-sent events.
pub fn is_event_stream(upstream: &Answer) -> bool {
    upstream
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}

/// The routes nearly every request takes, whose upstream URLs are parsed once.
const ROUTES: [&str; 4] =
    ["/v1/messages", "/v1/chat/completions", "/v1/responses", "/v1/messages/count_tokens"];

/// Each provider's base URL, with the URIs of [`ROUTES`] under it parsed at start-up: a request
/// on one of them clones a parsed URI (shared bytes) instead of parsing its own.
#[derive(Debug)]
pub struct Targets {
    anthropic: Target,
    openai: Target,
}

#[derive(Debug)]
struct Target {
    base: String,
    routes: Vec<(&'static str, http::Uri)>,
    /// What a plain-HTTP upstream behind an authenticating proxy must carry (see
    /// [`connect::proxy_auth`]).
    proxy_auth: Option<http::HeaderValue>,
}

impl Target {
    fn new(base: &str, proxies: &hyper_util::client::proxy::matcher::Matcher) -> Self {
        let routes: Vec<_> =
            ROUTES.iter().filter_map(|r| Some((*r, parse(&format!("{base}{r}")).ok()?))).collect();
        let proxy_auth = routes.first().and_then(|(_, uri)| connect::proxy_auth(proxies, uri));
        Self { base: base.to_owned(), routes, proxy_auth }
    }
}

/// An absolute upstream URI (scheme and host required: the client has no base to resolve
/// against).
fn parse(text: &str) -> Result<http::Uri, String> {
    let uri: http::Uri = text.parse().map_err(|e| format!("{e}"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(_)) => Ok(uri),
        _ => Err("not an absolute http(s) URL".into()),
    }
}

impl Targets {
    /// The targets of `config`'s upstreams, reached through `proxies`.
    pub fn new(
        config: &crate::config::ProxyConfig,
        proxies: &hyper_util::client::proxy::matcher::Matcher,
    ) -> Self {
        Self {
            anthropic: Target::new(&config.anthropic_url, proxies),
            openai: Target::new(&config.openai_url, proxies),
        }
    }

    fn target(&self, provider: Provider) -> &Target {
        match provider {
            Provider::Anthropic => &self.anthropic,
            Provider::OpenAi => &self.openai,
        }
    }

    /// The upstream URI of `path_and_query` at `provider`.
    pub fn url(&self, provider: Provider, path_and_query: &str) -> Result<http::Uri, ProxyError> {
        let target = self.target(provider);
        if let Some((_, uri)) = target.routes.iter().find(|(r, _)| *r == path_and_query) {
            return Ok(uri.clone());
        }
        let text = format!("{}{path_and_query}", target.base);
        parse(&text).map_err(|e| ProxyError::Unreachable(format!("bad upstream URL {text:?}: {e}")))
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
    body: Body,
) -> Result<Answer, ProxyError> {
    let mut request = http::Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = state.targets.url(provider, path_and_query)?;
    *request.headers_mut() = forwarded_headers(headers);
    if let Some(auth) = &state.targets.target(provider).proxy_auth {
        request.headers_mut().insert(http::header::PROXY_AUTHORIZATION, auth.clone());
    }
    let bound = state.config.upstream_timeout;
    match tokio::time::timeout(bound, state.client.request(request)).await {
        Ok(sent) => sent.map_err(|e| classify(&e)),
        Err(_) => Err(ProxyError::Timeout(format!(
            "no response head within {} s (upstream timeout)",
            bound.as_secs_f64()
        ))),
    }
}

/// A response builder with the upstream's status and forwardable headers.
pub fn relay_headers(upstream: &Answer) -> http::response::Builder {
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
pub fn relay_body(upstream: Answer, idle: std::time::Duration) -> Body {
    guard::relay_raw(upstream, idle)
}

/// A failed send: a time-out anywhere in its causes (the connect bound) is a time-out, any
/// other failure an unreachable upstream.
pub(crate) fn classify(e: &hyper_util::client::legacy::Error) -> ProxyError {
    let text = guard::error_chain(e);
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut) {
            return ProxyError::Timeout(text);
        }
        source = s.source();
    }
    ProxyError::Unreachable(text)
}
