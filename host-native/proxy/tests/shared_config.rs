//! Configuration resolved once: `headroom proxy` and `headroom compress` take the same mode
//! values and aliases (one enum), and the code cache and the demo's folder are flags with
//! their environment twins (`--cache-dir`/`HEADROOM_CACHE_DIR`, `--demo-dir`/`HEADROOM_DEMO_DIR`).

mod support;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::binary::{client, temp_dir};

/// `headroom compress` on `input` with `args` and `envs` (nothing else from `HEADROOM_*`):
/// (exit success, stdout, stderr).
fn compress(input: &[u8], args: &[&str], envs: &[(&str, &str)]) -> (bool, Vec<u8>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_headroom"));
    for (k, _) in std::env::vars() {
        if k.starts_with("HEADROOM_") {
            command.env_remove(k);
        }
    }
    let mut child = command
        .arg("compress")
        .arg("-")
        .args(args)
        .envs(envs.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn headroom compress");
    // A refused flag ends the process before it reads its input: a broken pipe is expected then.
    let _ = child.stdin.take().expect("stdin").write_all(input);
    let out = child.wait_with_output().expect("wait");
    (out.status.success(), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn golden(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn compress_takes_every_mode_name_the_proxy_takes() {
    // A conversation token mode offloads (batch 0), cache mode leaves whole.
    let body = golden("request-openai-chat-token/input.json");
    let batch = ["--offload-batch-tokens", "0"];
    let (ok, token, err) = compress(&body, &[&batch[..], &["--mode", "token"]].concat(), &[]);
    assert!(ok, "{err}");
    let (ok, cache, err) = compress(&body, &[&batch[..], &["--mode", "cache"]].concat(), &[]);
    assert!(ok, "{err}");
    assert_ne!(token, cache, "the two modes differ on this conversation");
    for (alias, expected) in [
        ("token_headroom", &token),
        ("token_mode", &token),
        ("token_savings", &token),
        ("cost_savings", &cache),
        ("cache_mode", &cache),
    ] {
        let (ok, out, err) = compress(&body, &batch, &[("HEADROOM_MODE", alias)]);
        assert!(ok, "HEADROOM_MODE={alias}: {err}");
        assert_eq!(&out, expected, "HEADROOM_MODE={alias}");
        let (ok, out, err) = compress(&body, &[&batch[..], &["--mode", alias]].concat(), &[]);
        assert!(ok && &out == expected, "--mode {alias}: {err}");
    }
    let (ok, _, err) = compress(&body, &[], &[("HEADROOM_MODE", "fast")]);
    assert!(!ok && err.contains("cache") && err.contains("token"), "{err}");
}

#[test]
fn compress_reads_a_responses_body_by_the_engine_s_rule() {
    let body = golden("request-openai-responses/input.json");
    let (ok, detected, err) = compress(&body, &[], &[]);
    assert!(ok, "{err}");
    let (ok, stated, err) = compress(&body, &["--dialect", "openai-responses"], &[]);
    assert!(ok, "{err}");
    assert_eq!(detected, stated);
    assert_ne!(detected, body, "the Responses outputs were compressed");
}

#[test]
fn help_documents_the_directory_flags_and_the_shared_mode() {
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_headroom")).args(args).output().expect("help");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let proxy = help(&["proxy", "--help"]);
    for name in ["--cache-dir", "HEADROOM_CACHE_DIR", "--demo-dir", "HEADROOM_DEMO_DIR"] {
        assert!(proxy.contains(name), "{name} missing from `headroom proxy --help`:\n{proxy}");
    }
    for command in ["doctor", "compress"] {
        let text = help(&[command, "--help"]);
        assert!(text.contains("--cache-dir") && text.contains("HEADROOM_CACHE_DIR"), "{command}: {text}");
    }
    // One enum: the same values, described the same way, under both commands.
    let values = |text: &str| -> String {
        text.split("--mode <MODE>")
            .nth(1)
            .and_then(|t| t.split("Possible values:").nth(1))
            .map_or_else(String::new, |t| {
                t.lines().take_while(|l| !l.contains("[env")).collect::<Vec<_>>().join("\n")
            })
    };
    let compress = help(&["compress", "--help"]);
    assert!(values(&compress).contains("token_headroom"), "{compress}");
    assert_eq!(values(&compress), values(&proxy));
}

/// Whether `dir` holds a file, anywhere below it.
fn holds_a_file(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
        let p = e.path();
        p.is_file() || (p.is_dir() && holds_a_file(&p))
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn the_proxy_caches_code_and_serves_the_demo_where_told() {
    for by_env in [false, true] {
        let cache = temp_dir("cache-dir");
        let demo = temp_dir("demo-dir");
        std::fs::write(demo.join("index.html"), format!("<p>demo by_env={by_env}</p>")).expect("write");
        let (cache_s, demo_s) = (cache.to_string_lossy().into_owned(), demo.to_string_lossy().into_owned());
        let mut args = vec!["proxy", "--port", "0", "--ccr-backend", "memory"];
        let mut envs = Vec::new();
        if by_env {
            envs.extend([("HEADROOM_CACHE_DIR", cache_s.as_str()), ("HEADROOM_DEMO_DIR", demo_s.as_str())]);
        } else {
            args.extend(["--cache-dir", &cache_s, "--demo-dir", &demo_s]);
        }
        let proxy = support::binary::start(&args, &envs).await;
        let page = client().get(format!("{}/demo/", proxy.url)).send().await.expect("send");
        assert_eq!(page.status(), 200);
        assert_eq!(page.text().await.expect("text"), format!("<p>demo by_env={by_env}</p>"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while !holds_a_file(&cache) {
            assert!(Instant::now() < deadline, "no compiled code in {} (by_env={by_env})", cache.display());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        drop(proxy);
        let _ = std::fs::remove_dir_all(&cache);
        let _ = std::fs::remove_dir_all(&demo);
    }
}
