//! `POST /v1/compress` is the engine's `compress-messages`: every case of
//! `tests/golden-messages` (Anthropic, Chat, Responses with `output` items) answers the blessed
//! outcome, the one the native engine, the component and the npm package give.

mod support;

use serde_json::{Value, json};
use support::binary::client;
use support::{config, start_mock, start_proxy};

fn cases() -> Vec<(String, Value, Value, Value)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/golden-messages");
    let read = |p: std::path::PathBuf| -> Value {
        serde_json::from_slice(&std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    };
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/golden-messages")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.json").exists())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|d| {
            let name = d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            (name, read(d.join("case.json")), read(d.join("input.json")), read(d.join("expected.json")))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_route_answers_every_golden_message_list() {
    let mock = start_mock().await;
    let cases = cases();
    assert!(cases.len() >= 4);
    for (name, meta, input, expected) in cases {
        let mut cfg = config(&mock.url);
        cfg.offload_batch_tokens = meta["offload_batch_tokens"].as_u64().map(|n| n as u32);
        let proxy = start_proxy(cfg).await;
        let mut body = json!({"messages": input, "mode": meta["mode"].as_str().unwrap_or("cache")});
        for field in ["format", "model", "system"] {
            if let Some(v) = meta.get(field) {
                body[field] = v.clone();
            }
        }
        let r = client().post(format!("{}/v1/compress", proxy.url)).json(&body).send().await.expect("send");
        assert_eq!(r.status(), 200, "{name}");
        let v: Value = r.json().await.expect("json");
        let got = json!({
            "format": v["format"], "messages": v["messages"], "tokens_before": v["tokens_before"],
            "tokens_after": v["tokens_after"], "transforms_applied": v["transforms_applied"],
            "ccr_hashes": v["ccr_hashes"],
        });
        assert_eq!(got, expected, "{name}");
    }
    assert!(mock.hits().is_empty(), "no model was called");
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_input_is_read_counted_and_bypassed_like_the_others() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let output = "one two three four five six";
    let items = json!([{"type": "function_call_output", "call_id": "c", "output": output}]);
    let chat = json!([{"role": "tool", "tool_call_id": "c", "content": output}]);
    let post = |body: Value, bypass: bool| {
        let mut req = client().post(format!("{}/v1/compress", proxy.url)).json(&body);
        if bypass {
            req = req.header("x-headroom-bypass", "1");
        }
        async move { req.send().await.expect("send").json::<Value>().await.expect("json") }
    };
    let responses = post(json!({"messages": items}), false).await;
    assert_eq!(responses["format"], "openai-responses");
    let counted = responses["tokens_before"].as_u64().expect("count");
    assert!(counted > 0, "{responses}");
    assert_eq!(post(json!({"messages": chat}), false).await["tokens_before"].as_u64(), Some(counted));
    let bypassed = post(json!({"messages": items}), true).await;
    assert_eq!(bypassed["messages"], items);
    assert_eq!(bypassed["format"], "openai-responses");
    assert_eq!(bypassed["tokens_before"].as_u64(), Some(counted));
    // The Python product's mode names are the proxy's.
    let aliased = post(json!({"messages": items, "mode": "token_headroom"}), false).await;
    assert_eq!(aliased["messages"], items);
}

/// `headroom compress --messages` runs the same `compress-messages`: every case's list and
/// counts, from the real binary.
#[test]
fn the_cli_compresses_every_golden_message_list() {
    use std::io::Write as _;
    for (name, meta, input, expected) in cases() {
        if meta.get("system").is_some() {
            continue; // the CLI takes a bare list; a system prompt is the route's and the package's
        }
        let mut args = vec!["compress".to_owned(), "-".into(), "--messages".into()];
        args.extend(["--mode".into(), meta["mode"].as_str().unwrap_or("cache").to_owned()]);
        if let Some(f) = meta["format"].as_str() {
            let flag = match f {
                "anthropic" => "anthropic",
                "openai" => "openai-chat",
                _ => "openai-responses",
            };
            args.extend(["--dialect".into(), flag.into()]);
        }
        if let Some(m) = meta["model"].as_str() {
            args.extend(["--model".into(), m.into()]);
        }
        if let Some(n) = meta["offload_batch_tokens"].as_u64() {
            args.extend(["--offload-batch-tokens".into(), n.to_string()]);
        }
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_headroom"));
        for (k, _) in std::env::vars() {
            if k.starts_with("HEADROOM_") {
                command.env_remove(k);
            }
        }
        let mut child = command
            .args(&args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        child.stdin.take().expect("stdin").write_all(input.to_string().as_bytes()).expect("write");
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        let messages: Value = serde_json::from_slice(&out.stdout).expect("a JSON list");
        assert_eq!(messages, expected["messages"], "{name}");
        let summary = format!(
            "format: {}; tokens {} -> {}",
            expected["format"].as_str().unwrap_or_default(),
            expected["tokens_before"],
            expected["tokens_after"]
        );
        assert!(stderr.contains(&summary), "{name}: {stderr} lacks {summary}");
    }
}
