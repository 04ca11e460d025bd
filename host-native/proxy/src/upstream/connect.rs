//! The upstream leg's client: hyper's pooled client (HTTP/1.1, and HTTP/2 where TLS
//! negotiates it) over TCP with no delay and the connect bound, TLS by rustls with the
//! platform's verifier, through the proxy the environment names (`HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`, read once at start-up). No redirect, retry or URL layer sits on
//! top: the proxy relays redirects as they come and sends each request once.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tower_service::Service;

/// The upstream client.
pub type Client = hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<Connect>, axum::body::Body>;

/// Why the client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The platform's certificate verifier.
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The client for `connect_timeout`, reaching the upstreams through `proxies` (the
/// environment's: `Matcher::from_env`, read once at start-up).
pub fn client(connect_timeout: Duration, proxies: Matcher) -> Result<Client, ClientError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(connect_timeout));
    let tls = rustls::ClientConfig::builder().with_platform_verifier()?.with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(Connect { tcp, proxies: Arc::new(proxies) });
    Ok(hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .build(connector))
}

/// The `Proxy-Authorization` a plain-HTTP request to `uri` carries: it goes to the proxy in
/// absolute form, and the proxy reads the credentials from the request itself (a TLS request
/// gives them in the tunnel's `CONNECT`).
pub fn proxy_auth(proxies: &Matcher, uri: &Uri) -> Option<http::HeaderValue> {
    if uri.scheme() == Some(&http::uri::Scheme::HTTPS) {
        return None;
    }
    proxies.intercept(uri)?.basic_auth().cloned()
}

/// TCP to the upstream, or to the proxy that the environment names for it: a TLS upstream
/// through a `CONNECT` tunnel, a plain-HTTP one by sending the request to the proxy.
#[derive(Clone)]
pub struct Connect {
    tcp: HttpConnector,
    proxies: Arc<Matcher>,
}

impl Service<Uri> for Connect {
    type Response = Conn;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Conn, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let mut tcp = self.tcp.clone();
        let Some(proxy) = self.proxies.intercept(&dst) else {
            return Box::pin(async move { Ok(Conn { io: tcp.call(dst).await?, proxied: false }) });
        };
        let via = proxy.uri().clone();
        if via.scheme() != Some(&http::uri::Scheme::HTTP) {
            return Box::pin(async move {
                Err(format!("proxy {via}: only http:// proxies are supported for the upstream").into())
            });
        }
        if dst.scheme() == Some(&http::uri::Scheme::HTTPS) {
            let mut tunnel = Tunnel::new(via, tcp);
            if let Some(auth) = proxy.basic_auth() {
                tunnel = tunnel.with_auth(auth.clone());
            }
            return Box::pin(async move { Ok(Conn { io: tunnel.call(dst).await?, proxied: false }) });
        }
        Box::pin(async move { Ok(Conn { io: tcp.call(via).await?, proxied: true }) })
    }
}

/// A connection, marked when it goes to a forwarding proxy (hyper then writes the request
/// line in absolute form).
pub struct Conn {
    io: TokioIo<TcpStream>,
    proxied: bool,
}

impl Connection for Conn {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.proxied)
    }
}

impl hyper::rt::Read for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A listener that takes one connection, answers `reply` and returns the request head it
    /// read (the request line and headers).
    async fn one_exchange(reply: &'static str) -> (String, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buf).await.expect("read");
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buf[..n]);
            }
            socket.write_all(reply.as_bytes()).await.expect("write");
            String::from_utf8_lossy(&head).into_owned()
        });
        (format!("http://user:secret@{addr}"), task)
    }

    fn get(uri: &str) -> http::Request<axum::body::Body> {
        http::Request::get(uri).body(axum::body::Body::empty()).expect("request")
    }

    #[tokio::test]
    async fn a_plain_http_upstream_goes_to_the_proxy_in_absolute_form_with_its_credentials() {
        let (proxy, seen) = one_exchange("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok").await;
        let proxies = || Matcher::builder().http(proxy.clone()).build();
        let client = client(Duration::from_secs(5), proxies()).expect("client");
        let uri: Uri = "http://upstream.invalid/v1/models".parse().expect("uri");
        let mut request = get("http://upstream.invalid/v1/models");
        let auth = proxy_auth(&proxies(), &uri).expect("the proxy's credentials");
        request.headers_mut().insert(http::header::PROXY_AUTHORIZATION, auth);
        let answer = client.request(request).await.expect("answered by the proxy");
        assert_eq!(answer.status(), 200);
        let head = seen.await.expect("proxy");
        assert!(head.starts_with("GET http://upstream.invalid/v1/models HTTP/1.1\r\n"), "{head}");
        // user:secret
        assert!(head.to_ascii_lowercase().contains("proxy-authorization: basic dxnlcjpzzwnyzxq="), "{head}");
    }

    #[tokio::test]
    async fn a_tls_upstream_goes_through_a_connect_tunnel() {
        let (proxy, seen) = one_exchange("HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n").await;
        let proxies = Matcher::builder().https(proxy.clone()).build();
        let uri: Uri = "https://upstream.invalid/v1/messages".parse().expect("uri");
        assert_eq!(proxy_auth(&proxies, &uri), None, "a tunnel carries the credentials in its CONNECT");
        let client = client(Duration::from_secs(5), proxies).expect("client");
        let refused = client.request(get("https://upstream.invalid/v1/messages")).await;
        assert!(refused.is_err(), "the proxy refused the tunnel");
        let head = seen.await.expect("proxy");
        assert!(head.starts_with("CONNECT upstream.invalid:443 HTTP/1.1\r\n"), "{head}");
        assert!(head.to_ascii_lowercase().contains("proxy-authorization: basic dxnlcjpzzwnyzxq="), "{head}");
    }

    #[tokio::test]
    async fn no_proxy_hosts_are_reached_directly() {
        let (direct, seen) = one_exchange("HTTP/1.1 204 No Content\r\n\r\n").await;
        let addr = direct.rsplit('@').next().expect("addr").to_owned();
        // A proxy that does not exist: only a direct connection can succeed.
        let proxies = Matcher::builder().http("http://127.0.0.1:9").no("127.0.0.1").build();
        let client = client(Duration::from_secs(5), proxies).expect("client");
        let answer = client.request(get(&format!("http://{addr}/v1/models"))).await.expect("direct");
        assert_eq!(answer.status(), 204);
        let head = seen.await.expect("upstream");
        assert!(head.starts_with("GET /v1/models HTTP/1.1\r\n"), "origin form, not a proxy's: {head}");
        assert!(!head.to_ascii_lowercase().contains("proxy-authorization"), "{head}");
    }
}
