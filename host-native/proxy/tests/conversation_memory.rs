//! The conversation memory changes what a turn costs, never what is forwarded: a real Claude
//! Code conversation (the recorded CLI session, sent turn by turn) reaches the upstream with
//! the same bytes through a proxy that remembers conversations and through one that does not,
//! and the remembering proxy reports reusing its earlier turns on `/health`.

mod support;

use serde_json::Value;
use support::{config, start_mock, start_proxy};

/// The recorded conversation's growing prefixes, cut after each user turn (non-streaming).
fn turns() -> Vec<Vec<u8>> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/clients/recordings/claude-code/messages-final.json");
    let mut body: Value = serde_json::from_slice(&std::fs::read(path).expect("recording")).expect("json");
    body["stream"] = Value::Bool(false);
    let messages = body["messages"].as_array().cloned().expect("messages");
    (1..=messages.len())
        .filter(|k| messages[k - 1]["role"] == "user")
        .map(|k| {
            let mut b = body.clone();
            b["messages"] = Value::Array(messages[..k].to_vec());
            serde_json::to_vec(&b).expect("json")
        })
        .collect()
}

async fn send_all(url: &str, turns: &[Vec<u8>]) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    for body in turns {
        let r = client
            .post(format!("{url}/v1/messages"))
            .header("content-type", "application/json")
            .header("x-api-key", "sk-ant-test")
            .header("anthropic-version", "2023-06-01")
            .body(body.clone())
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn remembered_turns_forward_the_same_bytes_as_stateless_ones() {
    let turns = turns();
    assert!(turns.len() >= 4, "a conversation of several turns");
    for mode in [headroom_proxy::config::ModeArg::Cache, headroom_proxy::config::ModeArg::Token] {
        let (with, without) = (start_mock().await, start_mock().await);
        let remembering =
            start_proxy(headroom_proxy::config::ProxyConfig { mode, ..config(&with.url) }).await;
        let stateless = start_proxy(headroom_proxy::config::ProxyConfig {
            mode,
            memory_bytes: 0,
            ..config(&without.url)
        })
        .await;
        send_all(&remembering.url, &turns).await;
        send_all(&stateless.url, &turns).await;
        let (a, b) = (with.hits(), without.hits());
        assert_eq!(a.len(), turns.len());
        assert_eq!(b.len(), turns.len());
        for (k, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(x.body == y.body, "turn {k} under {mode:?}: forwarded bodies differ");
        }
        let health: Value = reqwest::get(format!("{}/health", remembering.url))
            .await
            .expect("health")
            .json()
            .await
            .expect("json");
        let m = &health["conversation_memory"];
        assert_eq!(m["misses"], 1, "only the first turn found no memory: {m}");
        assert_eq!(m["hits"].as_u64(), Some(turns.len() as u64 - 1), "{m}");
        assert_eq!(m["conversations"], 1);
        assert!(m["bytes"].as_u64().unwrap_or(0) > 0 && m["bytes"].as_u64() <= m["budget_bytes"].as_u64());
        // The proxy's own read of each turn resumed after the previous body: one kept.
        assert_eq!(m["bodies_read_after"]["bodies"], 1, "{m}");
        let health: Value = reqwest::get(format!("{}/health", stateless.url))
            .await
            .expect("health")
            .json()
            .await
            .expect("json");
        assert_eq!(health["conversation_memory"]["hits"], 0);
        assert_eq!(health["conversation_memory"]["bodies_read_after"]["bodies"], 0);
    }
}
