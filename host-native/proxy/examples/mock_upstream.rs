//! The tests' mock provider as a standalone server, for the SDK tests and the load benchmark:
//! `cargo run --release -p headroom-proxy --example mock_upstream -- [ADDR]` prints the bound
//! address on its first line. `GET /__mock/last` returns the last request it received and how
//! many it received; it keeps only its latest requests, so a load run cannot fill the memory.

#[path = "../tests/support/mod.rs"]
mod support;

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".into());
    let mock = support::start_mock_keeping(&addr, 1_000).await;
    println!("{}", mock.url);
    std::future::pending::<()>().await;
}
