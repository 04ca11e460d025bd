//! Forwarding to the provider: headers filtered, body as given, response relayed as it
//! arrives (a stream stays a stream: each chunk goes to the client when the upstream sends it).

use axum::body::Body;
use axum::response::Response;
use futures_util::TryStreamExt;
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
    relay_headers(&upstream).body(relay_body(upstream)).map_err(|e| ProxyError::Unreachable(e.to_string()))
}

/// Send a request upstream and return its response once the status line and headers are in.
pub async fn send(
    state: &AppState,
    provider: Provider,
    method: Method,
    path_and_query: &str,
    headers: &HeaderMap,
    body: reqwest::Body,
) -> Result<reqwest::Response, ProxyError> {
    let base = match provider {
        Provider::Anthropic => &state.config.anthropic_url,
        Provider::OpenAi => &state.config.openai_url,
    };
    let url = format!("{base}{path_and_query}");
    let mut request = state.client.request(method, &url);
    for (name, value) in headers {
        if forwardable(name) {
            request = request.header(name, value);
        }
    }
    request.body(body).send().await.map_err(|e| classify(&e))
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

/// The upstream body as it arrives. A failure mid-stream can only end the stream: the status
/// line is already sent.
pub fn relay_body(upstream: reqwest::Response) -> Body {
    Body::from_stream(upstream.bytes_stream().map_err(std::io::Error::other))
}

pub(crate) fn classify(e: &reqwest::Error) -> ProxyError {
    if e.is_timeout() { ProxyError::Timeout(e.to_string()) } else { ProxyError::Unreachable(format!("{e}")) }
}
