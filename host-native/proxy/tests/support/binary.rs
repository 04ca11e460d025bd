//! The `headroom` binary as users run it: `headroom proxy` started on a free loopback port,
//! ready once `/readyz` says so, killed and reaped when dropped.

use std::io::BufRead as _;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A running `headroom proxy`.
pub struct Headroom {
    pub child: Child,
    pub url: String,
    /// Everything it wrote to stderr so far.
    pub stderr: Arc<Mutex<String>>,
}

impl Drop for Headroom {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

/// Start `headroom proxy --port 0 <args>` (logs at their default, no savings file from the
/// environment) and wait until it is ready.
pub async fn spawn(args: &[&str]) -> Headroom {
    // `option_env!`: the examples share this module, and only tests have the binary's path.
    let Some(bin) = option_env!("CARGO_BIN_EXE_headroom") else {
        panic!("the headroom binary is known to this package's tests only")
    };
    let mut child = Command::new(bin)
        .args(["proxy", "--port", "0"])
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("HEADROOM_SAVINGS_PATH")
        .env_remove("HEADROOM_REDIS_URL")
        .env_remove("HEADROOM_REDIS_PREFIX")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn headroom");
    let stderr = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let pipe = child.stderr.take();
    // Owned at once: a failure below kills and reaps the child (`Drop`).
    let mut proxy = Headroom { child, url: String::new(), stderr: Arc::clone(&stderr) };
    let sink = Arc::clone(&stderr);
    std::thread::spawn(move || {
        let Some(pipe) = pipe else { return };
        for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
            if let Some(url) = line.split("listening on ").nth(1) {
                let _ = tx.send(url.trim().to_owned());
            }
            if let Ok(mut s) = sink.lock() {
                s.push_str(&line);
                s.push('\n');
            }
        }
    });
    proxy.url = rx.recv_timeout(Duration::from_secs(30)).expect("the proxy printed its address");
    for _ in 0..400 {
        if client().get(format!("{}/readyz", proxy.url)).send().await.is_ok_and(|r| r.status() == 200) {
            return proxy;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the proxy never became ready: {}", stderr.lock().map(|s| s.clone()).unwrap_or_default());
}
