//! Bounded HTTP GETs for the wrap commands (probing a port, `/health`, an upstream): a
//! current-thread runtime and one client that ignores `HTTP(S)_PROXY` (the target is the local
//! proxy or the provider itself). Every call has a deadline: nothing here can hang.

use std::time::Duration;

use anyhow::Result;

/// Signals caught while wrap waits (see `Http::signals`).
pub struct Signals(Vec<tokio::signal::unix::Signal>);

/// A blocking facade over reqwest.
pub struct Http {
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Http {
    /// A client with connect timeouts; each call sets its own overall deadline.
    pub fn new() -> Result<Self> {
        // Only one crypto provider is compiled in; installing it twice is harmless.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let client = reqwest::Client::builder().no_proxy().connect_timeout(Duration::from_secs(3)).build()?;
        Ok(Self { rt, client })
    }

    /// GET `url` within `deadline`: the status and the body.
    pub fn get(&self, url: &str, deadline: Duration) -> Result<(u16, Vec<u8>), reqwest::Error> {
        self.rt.block_on(async {
            let resp = self.client.get(url).timeout(deadline).send().await?;
            let status = resp.status().as_u16();
            let body = resp.bytes().await?;
            Ok((status, body.to_vec()))
        })
    }

    /// Catch SIGINT, SIGTERM and SIGHUP from now on (for the rest of the process: the default
    /// action, dying, never comes back), to be seen by `pause`.
    pub fn signals(&self) -> Result<Signals> {
        use tokio::signal::unix::{SignalKind, signal};
        let _in_runtime = self.rt.enter();
        Ok(Signals(vec![
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
            signal(SignalKind::hangup())?,
        ]))
    }

    /// Sleep for `d`, less if one of `signals` arrives (then true).
    pub fn pause(&self, signals: &mut Signals, d: Duration) -> bool {
        self.rt.block_on(async {
            let any = futures_util::future::select_all(signals.0.iter_mut().map(|s| Box::pin(s.recv())));
            tokio::select! {
                _ = tokio::time::sleep(d) => false,
                _ = any => true,
            }
        })
    }

    /// GET several URLs at once, each within `deadline` (the whole call takes at most that).
    pub fn get_all(&self, urls: &[String], deadline: Duration) -> Vec<Result<u16, reqwest::Error>> {
        self.rt.block_on(async {
            let calls = urls.iter().map(|u| {
                let req = self.client.get(u).timeout(deadline);
                async move { req.send().await.map(|r| r.status().as_u16()) }
            });
            futures_util::future::join_all(calls).await
        })
    }
}
