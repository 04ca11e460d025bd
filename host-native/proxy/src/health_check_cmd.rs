//! `headroom health-check URL`: exit 0 when `URL` answers 2xx within the timeout, 1 otherwise.
//! Container images built `FROM debian:*-slim` have no curl or wget; this is their
//! `HEALTHCHECK` (and any probe that runs a command).

use std::time::Duration;

/// Options of `headroom health-check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The URL to check, e.g. `http://127.0.0.1:8787/readyz`.
    #[arg(default_value = "http://127.0.0.1:8787/readyz")]
    pub url: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 3)]
    pub timeout_secs: u64,
}

/// Check once; the error says why the check failed (the caller prints it and exits 1).
pub fn run(args: &Args) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(args.timeout_secs)).build()?;
        let response = client.get(&args.url).send().await?;
        let status = response.status();
        anyhow::ensure!(status.is_success(), "{} answered {status}", args.url);
        Ok(())
    })
}
