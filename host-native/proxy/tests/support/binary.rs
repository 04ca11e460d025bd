//! The `headroom` binary as a child process: started with given arguments and environment,
//! its stderr collected, its address read from the `listening on` line, ready once `/readyz`
//! says so. Killed and reaped when dropped.

use std::io::BufRead as _;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

/// The text of `GET url` (`/metrics`, `/health`, ...).
pub async fn get_text(url: &str) -> String {
    client().get(url).send().await.expect("GET").text().await.expect("text")
}

/// The JSON of `GET url` (`/stats`, `/health`, ...).
pub async fn get_json(url: &str) -> serde_json::Value {
    client().get(url).send().await.expect("GET").json().await.expect("JSON")
}

pub fn temp_dir(name: &str) -> std::path::PathBuf {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("headroom-proc-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub struct Binary {
    pub child: Child,
    pub url: String,
    pub stderr: Arc<Mutex<String>>,
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Binary {
    /// Send `signal` (`TERM`, `INT`, ...) to the process.
    pub fn signal(&self, signal: &str) {
        let status =
            Command::new("kill").args([&format!("-{signal}"), &self.child.id().to_string()]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -{signal}");
    }

    /// Wait up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// `host:port` of the listener.
    pub fn addr(&self) -> String {
        self.url.trim_start_matches("http://").to_owned()
    }

    /// What the process wrote on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr").clone()
    }
}

/// Start `headroom` with `args`, the environment cleared of `HEADROOM_*` and `RUST_LOG` and
/// then `envs` set; returns once `/readyz` answers 200.
pub async fn start(args: &[&str], envs: &[(&str, &str)]) -> Binary {
    let mut command = Command::new(env!("CARGO_BIN_EXE_headroom"));
    command.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("HEADROOM_") || k == "RUST_LOG" {
            command.env_remove(k);
        }
    }
    for (k, v) in envs {
        command.env(k, v);
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn headroom");
    let stderr = Arc::new(Mutex::new(String::new()));
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let pipe = child.stderr.take();
    // Owned at once: a failure below kills and reaps the child (`Drop`).
    let mut binary = Binary { child, url: String::new(), stderr: Arc::clone(&stderr) };
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
    let Ok(url) = rx.recv_timeout(Duration::from_secs(30)) else {
        let _ = binary.child.kill();
        let _ = binary.child.wait();
        panic!("the proxy printed no address; stderr:\n{}", binary.stderr());
    };
    // Bound to 0.0.0.0 in the deployment files: reach it on loopback.
    binary.url = url.replace("0.0.0.0", "127.0.0.1");
    for _ in 0..800 {
        if client().get(format!("{}/readyz", binary.url)).send().await.is_ok_and(|r| r.status() == 200) {
            return binary;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("the proxy never became ready; stderr:\n{}", binary.stderr());
}
