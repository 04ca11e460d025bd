//! Originals persisted under a workspace directory: retrievable after the proxy restarts,
//! still scoped to the API key that sent them, and a broken store never costs a request.

mod support;

use std::path::PathBuf;

use headroom_proxy::ccr::{CcrBackend, CcrConfig, DB_FILE};
use serde_json::{Value, json};
use support::{config, start_mock, start_proxy};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("headroom-ccr-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn with_workspace(upstream: &str, dir: &std::path::Path) -> headroom_proxy::ProxyConfig {
    let mut cfg = config(upstream);
    cfg.ccr = CcrConfig::resolve(Some(dir.to_owned()), None, headroom_proxy::ccr::DEFAULT_TTL);
    assert_eq!(cfg.ccr.backend, CcrBackend::Sqlite(dir.join(DB_FILE)));
    cfg
}

fn log_chat() -> (Value, String) {
    let log: String = (0..300)
        .map(|i| format!("2026-01-01T00:00:{:02} INFO request {i} served in {}ms\n", i % 60, i % 17))
        .collect();
    let chat = json!({"model": "gpt-4o", "messages": [
        {"role": "user", "content": "check the log"},
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function", "function": {"name": "bash", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c", "content": log}
    ]});
    (chat, log)
}

/// Send `chat` as `auth`; the answer must be a 200.
async fn chat_through(proxy_url: &str, chat: &Value, auth: &str) {
    let r = client()
        .post(format!("{proxy_url}/v1/chat/completions"))
        .header("authorization", auth)
        .json(chat)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
}

/// Send a compressible request as `auth` and return the retrieval key of its marker.
async fn compress_through(proxy_url: &str, mock: &support::Mock, auth: &str) -> String {
    chat_through(proxy_url, &log_chat().0, auth).await;
    let sent: Value = serde_json::from_slice(&mock.hits().pop().expect("hit").body).expect("json");
    let text = sent["messages"][2]["content"].as_str().expect("text").to_owned();
    text.split("headroom_retrieve(\"").nth(1).and_then(|s| s.split('"').next()).expect("a marker").to_owned()
}

async fn retrieve(proxy_url: &str, key: &str, auth: &str) -> reqwest::Response {
    client()
        .get(format!("{proxy_url}/v1/retrieve/{key}"))
        .header("authorization", auth)
        .send()
        .await
        .expect("send")
}

#[tokio::test(flavor = "multi_thread")]
async fn originals_survive_a_restart_of_the_proxy() {
    let dir = scratch_dir("restart");
    let mock = start_mock().await;
    let first = start_proxy(with_workspace(&mock.url, &dir)).await;
    let health: Value =
        client().get(format!("{}/health", first.url)).send().await.expect("send").json().await.expect("json");
    assert_eq!(health["checks"]["ccr"]["backend"], "sqlite", "{health}");
    assert_eq!(health["checks"]["ccr"]["status"], "healthy", "{health}");
    assert_eq!(health["config"]["ccr_backend"], "sqlite");
    let key = compress_through(&first.url, &mock, "Bearer tenant-a").await;
    drop(first);

    // A second proxy on the same workspace (the first one's store stays open: two processes
    // sharing a workspace is the harder case).
    let second = start_proxy(with_workspace(&mock.url, &dir)).await;
    let r = retrieve(&second.url, &key, "Bearer tenant-a").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["original"].as_str(), Some(log_chat().1.as_str()));
    assert_eq!(retrieve(&second.url, &key, "Bearer tenant-b").await.status(), 404, "another tenant");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unusable_workspace_falls_back_to_memory_and_serves() {
    let dir = scratch_dir("unusable");
    // The workspace path runs through a regular file: it can never be created (even as root).
    let blocker = dir.join("not-a-directory");
    std::fs::write(&blocker, "").expect("write");
    let mock = start_mock().await;
    let proxy = start_proxy(with_workspace(&mock.url, &blocker.join("workspace"))).await;
    let health: Value =
        client().get(format!("{}/health", proxy.url)).send().await.expect("send").json().await.expect("json");
    assert_eq!(health["status"], "healthy", "serving: {health}");
    assert_eq!(health["checks"]["ccr"]["backend"], "memory", "{health}");
    assert_eq!(health["checks"]["ccr"]["status"], "degraded", "{health}");
    assert!(
        health["checks"]["ccr"]["error"].as_str().is_some_and(|e| e.contains("not-a-directory")),
        "{health}"
    );
    let key = compress_through(&proxy.url, &mock, "Bearer tenant-a").await;
    assert_eq!(retrieve(&proxy.url, &key, "Bearer tenant-a").await.status(), 200);
    let _ = std::fs::remove_dir_all(dir);
}

/// A conversation's later turns hand over the originals of earlier turns by key only; when
/// the store no longer holds one of them (here: expired), the turn gets them all again, so
/// every marker the forwarded body cites stays retrievable. Both backends.
#[tokio::test(flavor = "multi_thread")]
async fn a_later_turn_restores_the_originals_its_store_lost() {
    let ttl = std::time::Duration::from_millis(700);
    let dir = scratch_dir("lost");
    for ccr in [CcrConfig { ttl, ..CcrConfig::default() }, CcrConfig::resolve(Some(dir.clone()), None, ttl)] {
        let backend = format!("{:?}", ccr.backend);
        let mock = start_mock().await;
        let proxy = start_proxy(headroom_proxy::ProxyConfig { ccr, ..config(&mock.url) }).await;
        let auth = "Bearer sk-lost";
        let (mut chat, log) = log_chat();
        let key = compress_through(&proxy.url, &mock, auth).await;
        assert_eq!(retrieve(&proxy.url, &key, auth).await.status(), 200, "{backend}");
        // Past the TTL the original is gone; the next turn cites it again.
        tokio::time::sleep(std::time::Duration::from_millis(900)).await;
        assert_eq!(retrieve(&proxy.url, &key, auth).await.status(), 404, "{backend}: expired");
        let messages = chat["messages"].as_array_mut().expect("messages");
        messages.push(json!({"role": "assistant", "content": "the log looks fine"}));
        messages.push(json!({"role": "user", "content": "thanks, anything slow?"}));
        chat_through(&proxy.url, &chat, auth).await;
        let sent = String::from_utf8(mock.hits().pop().expect("hit").body.to_vec()).expect("utf-8");
        assert!(sent.contains(&key), "{backend}: the second turn cites the same original");
        let r = retrieve(&proxy.url, &key, auth).await;
        assert_eq!(r.status(), 200, "{backend}: restored by the second turn");
        let v: Value = r.json().await.expect("json");
        assert_eq!(v["original"].as_str(), Some(log.as_str()));
    }
    let _ = std::fs::remove_dir_all(dir);
}
