//! Drop-in names: the environment variables and flags the Python product documents for
//! features this proxy has work under those names, on the real `headroom` binary (clap reads
//! the process environment, so only a child process can be given one). `/health` reports the
//! resolved configuration.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running `headroom proxy`, killed (by its own handle) when dropped.
struct Running {
    child: Child,
    url: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// Start the binary with `args` and `env` (nothing else from `HEADROOM_*` leaks in).
fn start(args: &[&str], env: &[(&str, &str)]) -> Running {
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_headroom"));
    for (k, _) in std::env::vars() {
        if k.starts_with("HEADROOM_") {
            command.env_remove(k);
        }
    }
    command
        .args(["proxy", "--host", "127.0.0.1", "--port", &port.to_string(), "--ccr-backend", "memory"])
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = command.spawn().expect("spawn headroom");
    Running { child, url: format!("http://127.0.0.1:{port}") }
}

/// `/health`'s `config`, once the proxy answers (within 30 s).
async fn config_of(running: &Running) -> Value {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client.get(format!("{}/health", running.url)).send().await
            && let Ok(v) = r.json::<Value>().await
        {
            return v["config"].clone();
        }
        assert!(Instant::now() < deadline, "the proxy never answered /health");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn documented_names_configure_the_proxy() {
    // The documented code-aware variable, and ours.
    let defaults = config_of(&start(&[], &[])).await;
    assert_eq!(defaults["code_aware"], true);
    assert_eq!(defaults["upstream_timeout_secs"], 600);
    assert_eq!(defaults["stream_idle_timeout_secs"], 600);
    assert_eq!(defaults["upstream_connect_timeout_secs"], 10);
    for env in [("HEADROOM_CODE_AWARE_ENABLED", "false"), ("HEADROOM_CODE_AWARE", "0")] {
        assert_eq!(config_of(&start(&[], &[env])).await["code_aware"], false, "{env:?}");
    }
    assert_eq!(
        config_of(&start(&["--no-code-aware"], &[("HEADROOM_CODE_AWARE_ENABLED", "1")])).await["code_aware"],
        false
    );
    // HEADROOM_MODE with the Python product's aliases, and the timeouts under their names.
    let c = config_of(&start(
        &["--connect-timeout-seconds", "3"],
        &[
            ("HEADROOM_MODE", "cache_mode"),
            ("HEADROOM_UPSTREAM_TIMEOUT_SECS", "120"),
            ("HEADROOM_STREAM_IDLE_TIMEOUT_SECS", "45"),
        ],
    ))
    .await;
    assert_eq!(c["mode"], "cache");
    assert_eq!(c["upstream_timeout_secs"], 120);
    assert_eq!(c["stream_idle_timeout_secs"], 45);
    assert_eq!(c["upstream_connect_timeout_secs"], 3);
    let c =
        config_of(&start(&["--stream-idle-timeout-secs", "9"], &[("HEADROOM_MODE", "token_savings")])).await;
    assert_eq!((c["mode"].as_str(), c["stream_idle_timeout_secs"].as_u64()), (Some("token"), Some(9)));
    // The documented upstream variables.
    let c = config_of(&start(
        &[],
        &[
            ("ANTHROPIC_TARGET_API_URL", "http://127.0.0.1:9/a/"),
            ("OPENAI_TARGET_API_URL", "http://127.0.0.1:9/o"),
        ],
    ))
    .await;
    assert_eq!(c["anthropic_api_url"], "http://127.0.0.1:9/a");
    assert_eq!(c["openai_api_url"], "http://127.0.0.1:9/o");
}

#[test]
fn help_shows_the_documented_names() {
    let help = Command::new(env!("CARGO_BIN_EXE_headroom")).args(["proxy", "--help"]).output().expect("help");
    let text = String::from_utf8_lossy(&help.stdout);
    for name in ["-p, --port", "HEADROOM_CODE_AWARE_ENABLED", "HEADROOM_STREAM_IDLE_TIMEOUT_SECS"] {
        assert!(text.contains(name), "{name} missing from:\n{text}");
    }
}
