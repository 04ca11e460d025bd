//! The floor of the load benchmark: the least an axum + hyper proxy can do per request, on the
//! same stack as `headroom proxy` (axum's server, hyper's pooled client, the same runtime and
//! allocator) with none of its work: no body read, no accounting, no header filtering. It
//! forwards every request to the upstream given as its second argument and relays the answer as
//! it comes.
//! `cargo run --release -p headroom-proxy --example bare_forward -- ADDR UPSTREAM` prints its
//! address on its first line. A benchmark tool only: it does nothing a proxy must do to be safe.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type Upstream = (Client<HttpConnector, Body>, String);

#[tokio::main]
async fn main() -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let Some(upstream) = args.next() else {
        return Err(std::io::Error::other("usage: bare_forward ADDR UPSTREAM_URL"));
    };
    let mut tcp = HttpConnector::new();
    tcp.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new()).build(tcp);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("http://{}", listener.local_addr()?);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = axum::Router::new().fallback(forward).with_state(std::sync::Arc::new((client, upstream)));
    axum::serve(listener, app).await
}

async fn forward(State(up): State<std::sync::Arc<Upstream>>, request: Request) -> Response {
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    parts.uri = match format!("{}{path}", up.1).parse() {
        Ok(uri) => uri,
        Err(_) => return http::StatusCode::BAD_REQUEST.into_response(),
    };
    parts.headers.remove(http::header::HOST);
    match up.0.request(http::Request::from_parts(parts, body)).await {
        Ok(answer) => answer.map(Body::new).into_response(),
        Err(_) => http::StatusCode::BAD_GATEWAY.into_response(),
    }
}
