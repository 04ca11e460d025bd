//! Replicas sharing state in a real `redis-server`: two `headroom proxy` processes in front of
//! one mock upstream, each started with `--redis-url`. What one replica stored (originals, the
//! ledger of untouched messages, rate-limit buckets, spend, cached answers) the other sees;
//! a Redis that dies, restarts or slows down costs no request; tenants stay apart in Redis.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::binary::{Binary, start};
use support::redis::{RedisServer, SlowRelay};
use support::{Mock, start_mock};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

/// A fresh workspace for one replica (its spend file, savings file and originals database):
/// nothing is read from, or left in, `~/.headroom`.
fn workspace() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "headroom-redis-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("workspace");
    dir.to_str().expect("utf-8 path").to_owned()
}

/// A replica in front of `mock`, sharing state through `redis` (a URL), plus `extra` flags.
async fn replica(mock: &Mock, redis: &str, extra: &[&str]) -> Binary {
    let dir = workspace();
    let mut args = vec![
        "proxy",
        "--port",
        "0",
        "--workspace-dir",
        &dir,
        "--anthropic-api-url",
        &mock.url,
        "--openai-api-url",
        &mock.url,
        "--redis-url",
        redis,
        "--redis-prefix",
        "test:",
    ];
    args.extend_from_slice(extra);
    let proxy = start(&args, &[]).await;
    // Connected once /health says the shared state is healthy (the first probe ran).
    assert!(
        wait_for(Duration::from_secs(10), || async {
            health(&proxy.url).await["checks"]["shared_state"]["status"] == "healthy"
        })
        .await,
        "replica never connected to Redis"
    );
    proxy
}

async fn wait_for<F, Fut>(limit: Duration, check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn health(url: &str) -> Value {
    client().get(format!("{url}/health")).send().await.expect("health").json().await.expect("json")
}

/// A log the engine shortens with a marker.
fn log_output(tag: &str) -> String {
    let mut lines: Vec<String> = (0..600)
        .map(|i| {
            format!(
                "2024-05-01 12:00:{:02} INFO {tag} worker-{} processed batch {i} in {} ms",
                i % 60,
                i % 4,
                i % 17
            )
        })
        .collect();
    lines[300] = format!("2024-05-01 12:05:00 ERROR {tag} worker-2 failed batch 300: connection reset");
    lines.join("\n")
}

fn conversation(log: &str) -> Vec<Value> {
    vec![
        json!({"role": "user", "content": "What failed?"}),
        json!({"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "bash", "input": {"command": "cat app.log"}}]}),
        json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": log}]}),
    ]
}

/// `POST /v1/compress` as `key`: the compressed messages and their markers' keys.
async fn compress(url: &str, key: &str, messages: &[Value]) -> (Vec<Value>, Vec<String>) {
    let v: Value = client()
        .post(format!("{url}/v1/compress"))
        .header("x-api-key", key)
        .json(&json!({"model": "claude-sonnet-4-5", "messages": messages}))
        .send()
        .await
        .expect("compress")
        .json()
        .await
        .expect("json");
    let hashes: Vec<String> = v["ccr_hashes"]
        .as_array()
        .expect("hashes")
        .iter()
        .map(|h| h.as_str().expect("str").to_owned())
        .collect();
    (v["messages"].as_array().expect("messages").clone(), hashes)
}

async fn retrieve(url: &str, key: &str, hash: &str) -> (u16, Value) {
    let r = client()
        .get(format!("{url}/v1/retrieve/{hash}"))
        .header("x-api-key", key)
        .send()
        .await
        .expect("retrieve");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn messages(url: &str, key: &str, body: &Value, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut r = client()
        .post(format!("{url}/v1/messages"))
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .json(body);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.send().await.expect("send")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_marker_written_through_one_replica_is_retrieved_through_the_other_and_only_by_its_key() {
    let redis = RedisServer::start().await;
    let mock = start_mock().await;
    let a = replica(&mock, &redis.url(), &[]).await;
    let b = replica(&mock, &redis.url(), &[]).await;
    let log = log_output("marker");
    let (compressed, hashes) = compress(&a.url, "sk-tenant-a", &conversation(&log)).await;
    assert!(!hashes.is_empty(), "the log was not shortened: {compressed:?}");
    // `GET /v1/retrieve` through B.
    let (status, v) = retrieve(&b.url, "sk-tenant-a", &hashes[0]).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["original"].as_str().is_some_and(|o| o.contains("failed batch 300")), "{v}");
    // Another key can read it through neither replica, even knowing the marker.
    for url in [&a.url, &b.url] {
        let (status, v) = retrieve(url, "sk-tenant-b", &hashes[0]).await;
        assert_eq!(status, 404, "tenant B read tenant A's original: {v}");
    }
    // `headroom_retrieve` in a model turn through B: the compressed history (markers only)
    // is all B sees; the model calls the tool and B answers it from Redis.
    let turn = json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": compressed,
        "tools": [{"name": "bash", "input_schema": {"type": "object"}}]});
    let r = messages(&b.url, "sk-tenant-a", &turn, &[("x-mock-retrieve", "1")]).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("body");
    let original = retrieve(&a.url, "sk-tenant-a", &hashes[0]).await.1["original"]
        .as_str()
        .expect("original")
        .to_owned();
    assert!(
        text.contains(&format!("retrieved {} chars", original.len())),
        "B did not answer the tool from the original stored through A: {text}"
    );
    // The same turn as tenant B: the tool finds nothing for that key.
    let r = messages(&b.url, "sk-tenant-b", &turn, &[("x-mock-retrieve", "1")]).await;
    let text = r.text().await.expect("body");
    assert!(
        !text.contains(&format!("retrieved {} chars", original.len())),
        "tenant B got A's original: {text}"
    );
}

/// The messages the upstream received in the `n`th request.
fn forwarded(mock: &Mock, n: usize) -> Vec<Value> {
    let hits: Vec<_> = mock.hits().into_iter().filter(|h| h.path == "/v1/messages").collect();
    let v: Value = serde_json::from_slice(&hits[n].body).expect("json");
    v["messages"].as_array().expect("messages").clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conversation_alternating_between_replicas_keeps_an_append_only_history() {
    let redis = RedisServer::start().await;
    let mock = start_mock().await;
    let a = replica(&mock, &redis.url(), &[]).await;
    let b = replica(&mock, &redis.url(), &[]).await;
    let key = "sk-ledger";
    let mut history = conversation(&log_output("ledger"));
    // Turn 1 through A, forwarded untouched (a bypass): later turns must keep it untouched.
    let body = |h: &[Value]| json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": h});
    let r = messages(&a.url, key, &body(&history), &[("x-headroom-bypass", "true")]).await;
    assert_eq!(r.status(), 200);
    let mut sent = forwarded(&mock, 0);
    assert_eq!(sent, history, "a bypassed turn reached the upstream changed");
    for (turn, proxy) in [&b, &a, &b].into_iter().enumerate() {
        history.push(json!({"role": "assistant", "content": [{"type": "tool_use", "id": format!("t{}", turn + 2), "name": "bash", "input": {"command": "cat more.log"}}]}));
        history.push(json!({"role": "user", "content": [{"type": "tool_result", "tool_use_id": format!("t{}", turn + 2), "content": log_output(&format!("turn{turn}"))}]}));
        let r = messages(&proxy.url, key, &body(&history), &[]).await;
        assert_eq!(r.status(), 200);
        let now = forwarded(&mock, turn + 1);
        // Byte-identical prefix: what went upstream before goes again, exactly.
        let before: Vec<String> = sent.iter().map(Value::to_string).collect();
        let after: Vec<String> = now.iter().take(sent.len()).map(Value::to_string).collect();
        assert_eq!(before, after, "turn {} through a different replica rewrote the history", turn + 2);
        sent = now;
    }
    // The untouched log really is untouched on the last turn; newer logs were compressed.
    assert_eq!(sent[2], history[2]);
    assert_ne!(sent.last(), history.last(), "the newest log was not compressed at all");
    // Savings are summed over both replicas: B's `/stats` counts A's two turns as well.
    let cluster_requests = || async {
        let v: Value =
            client().get(format!("{}/stats", b.url)).send().await.expect("stats").json().await.expect("json");
        v["cluster"]["requests"].as_u64().unwrap_or(0)
    };
    assert!(
        wait_for(Duration::from_secs(5), || async { cluster_requests().await >= 4 }).await,
        "/stats cluster did not count both replicas: {}",
        cluster_requests().await
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_and_budgets_hold_across_replicas() {
    let redis = RedisServer::start().await;
    let mock = start_mock().await;
    let a = replica(&mock, &redis.url(), &["--rpm", "4"]).await;
    let b = replica(&mock, &redis.url(), &["--rpm", "4"]).await;
    let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]});
    let mut statuses = Vec::new();
    for i in 0..8 {
        let url = if i % 2 == 0 { &a.url } else { &b.url };
        statuses.push(messages(url, "sk-rate", &body, &[("headroom-cache", "off")]).await.status().as_u16());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        4,
        "4 per minute over both replicas: {statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 4, "{statuses:?}");
    // Another key has its own bucket.
    assert_eq!(messages(&b.url, "sk-rate-other", &body, &[("headroom-cache", "off")]).await.status(), 200);

    // Budget: $0.05 a day over all keys; one request through A costs $0.03225, so two spend it.
    let usage =
        json!({"input_tokens": 1000, "cache_read_input_tokens": 20000, "cache_creation_input_tokens": 3000,
        "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
        "output_tokens": 500})
        .to_string();
    let a = replica(&mock, &redis.url(), &["--budget", "0.05"]).await;
    let b = replica(&mock, &redis.url(), &["--budget", "0.05"]).await;
    let h = [("x-mock-usage", usage.as_str()), ("headroom-cache", "off")];
    for (url, key) in [(&a.url, "sk-spend-1"), (&b.url, "sk-spend-2")] {
        let r = messages(url, key, &body, &h).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
    }
    // The spend is added once each answer is accounted (off the request's path).
    let refused = wait_for(Duration::from_secs(5), || async {
        messages(&a.url, "sk-spend-3", &body, &h).await.status() == 429
    })
    .await;
    assert!(refused, "A admitted past a budget spent across both replicas");
    let r = messages(&b.url, "sk-spend-4", &body, &h).await;
    assert_eq!(r.status(), 429);
    assert!(r.text().await.expect("body").contains("budget of $0.05 reached"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_answer_stored_by_one_replica_is_served_by_the_other() {
    let redis = RedisServer::start().await;
    let mock = start_mock().await;
    let a = replica(&mock, &redis.url(), &[]).await;
    let b = replica(&mock, &redis.url(), &[]).await;
    let upstream = |m: &Mock| m.hits().iter().filter(|h| h.path == "/v1/messages").count();
    for stream in [false, true] {
        let body = json!({"model": "claude-sonnet-4-5", "max_tokens": 16, "stream": stream,
            "messages": [{"role": "user", "content": format!("cache me {stream}")}]});
        let before = upstream(&mock);
        let first = messages(&a.url, "sk-cache", &body, &[]).await;
        assert_eq!(first.status(), 200);
        let first = first.bytes().await.expect("body");
        assert!(
            wait_for(Duration::from_secs(5), || async {
                let r = messages(&b.url, "sk-cache", &body, &[]).await;
                let hit = r.headers().get("x-headroom-cache").is_some_and(|v| v == "hit");
                hit && r.bytes().await.expect("body") == first
            })
            .await,
            "B did not serve A's cached answer (stream: {stream})"
        );
        assert_eq!(upstream(&mock), before + 1, "the upstream was asked again");
        // Another key does not get it.
        let r = messages(&b.url, "sk-cache-other", &body, &[]).await;
        assert!(r.headers().get("x-headroom-cache").is_none());
    }
}

/// `promtool check metrics` finds nothing to say about the exposition.
async fn promtool_accepts(url: &str) {
    let text =
        client().get(format!("{url}/metrics")).send().await.expect("metrics").text().await.expect("text");
    assert!(text.contains("headroom_shared_state_fallbacks_total{store=\""), "{text}");
    let file = std::env::temp_dir().join(format!("headroom-redis-metrics-{}.txt", std::process::id()));
    std::fs::write(&file, &text).expect("write");
    let out = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(&file).expect("open"))
        .output()
        .expect("promtool not found: tests/all.sh installs the Debian package `prometheus`");
    let _ = std::fs::remove_file(&file);
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && report.trim().is_empty(), "promtool:\n{report}");
}

async fn metric(url: &str, name: &str) -> f64 {
    let text =
        client().get(format!("{url}/metrics")).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn redis_killed_mid_run_costs_no_request_and_is_used_again_once_back() {
    let mut redis = RedisServer::start().await;
    let mock = start_mock().await;
    let a = replica(&mock, &redis.url(), &[]).await;
    let b = replica(&mock, &redis.url(), &[]).await;
    let key = "sk-outage";
    let turn = |i: usize| {
        json!({"model": "claude-sonnet-4-5", "max_tokens": 16,
        "messages": conversation(&log_output(&format!("outage{i}")))})
    };
    for i in 0..3 {
        assert_eq!(messages(&a.url, key, &turn(i), &[]).await.status(), 200);
    }
    redis.kill();
    for i in 3..13 {
        let started = Instant::now();
        let r = messages(&a.url, key, &turn(i), &[]).await;
        assert_eq!(r.status(), 200, "a request failed while Redis was down");
        assert!(started.elapsed() < Duration::from_secs(2), "request {i} took {:?}", started.elapsed());
    }
    // An original stored while Redis is away still resolves on the replica that stored it.
    let (_, hashes) = compress(&a.url, key, &conversation(&log_output("during"))).await;
    assert_eq!(retrieve(&a.url, key, &hashes[0]).await.0, 200);
    assert!(
        wait_for(Duration::from_secs(5), || async { health(&a.url).await["status"] == "degraded" }).await,
        "/health does not say degraded"
    );
    let h = health(&a.url).await;
    assert_eq!(h["checks"]["shared_state"]["status"], "degraded", "{h}");
    assert!(h["checks"]["shared_state"]["fallbacks"].as_u64().is_some_and(|n| n > 0), "{h}");
    assert!(metric(&a.url, "headroom_shared_state_fallbacks_total").await > 0.0);
    assert_eq!(metric(&a.url, "headroom_shared_state_up").await, 0.0);
    promtool_accepts(&a.url).await;
    // Back, empty: both replicas use it again without a restart.
    redis.restart().await;
    for p in [&a, &b] {
        assert!(
            wait_for(Duration::from_secs(10), || async { health(&p.url).await["status"] == "healthy" }).await,
            "a replica never went back to Redis"
        );
    }
    assert_eq!(metric(&a.url, "headroom_shared_state_up").await, 1.0);
    let (_, hashes) = compress(&a.url, key, &conversation(&log_output("after"))).await;
    let (status, v) = retrieve(&b.url, key, &hashes[0]).await;
    assert_eq!(status, 200, "a marker written after the restart did not reach B: {v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_redis_keeps_latency_bounded() {
    let redis = RedisServer::start().await;
    let relay = SlowRelay::start(redis.port).await;
    let mock = start_mock().await;
    let a = replica(&mock, &relay.url(), &["--redis-timeout-ms", "50"]).await;
    let key = "sk-slow";
    let turn = |i: usize| {
        json!({"model": "claude-sonnet-4-5", "max_tokens": 16,
        "messages": conversation(&log_output(&format!("slow{i}")))})
    };
    assert_eq!(messages(&a.url, key, &turn(0), &[]).await.status(), 200);
    relay.set_delay(2000);
    let mut worst = Duration::ZERO;
    for i in 1..11 {
        let started = Instant::now();
        assert_eq!(messages(&a.url, key, &turn(i), &[]).await.status(), 200);
        worst = worst.max(started.elapsed());
    }
    // Each request makes a few bounded calls (50 ms each) until the breaker opens; then none.
    assert!(worst < Duration::from_millis(1500), "worst request {worst:?} with Redis 2 s slow");
    assert_eq!(health(&a.url).await["status"], "degraded");
    relay.set_delay(0);
    assert!(
        wait_for(Duration::from_secs(15), || async { health(&a.url).await["status"] == "healthy" }).await,
        "never recovered from a slow Redis"
    );
}

/// A conversation's later turns cite earlier originals by key; when Redis lost one (here: a
/// restart, empty), the replica that holds it sends it whole again, so the other replica can
/// still answer for it.
#[tokio::test(flavor = "multi_thread")]
async fn an_original_redis_lost_is_sent_again_by_the_conversations_next_turn() {
    let mut redis = RedisServer::start().await;
    let mock = start_mock().await;
    let a = replica(&mock, &redis.url(), &[]).await;
    let b = replica(&mock, &redis.url(), &[]).await;
    let key = "sk-resend";
    let mut history = conversation(&log_output("resend"));
    let body = |h: &[Value]| json!({"model": "claude-sonnet-4-5", "max_tokens": 100, "messages": h});
    assert_eq!(messages(&a.url, key, &body(&history), &[]).await.status(), 200);
    let sent = String::from_utf8(mock.hits().pop().expect("hit").body.to_vec()).expect("utf-8");
    let hash = sent
        .split("headroom_retrieve(\\\"")
        .nth(1)
        .and_then(|s| s.split('\\').next())
        .expect("a marker")
        .to_owned();
    assert_eq!(retrieve(&b.url, key, &hash).await.0, 200, "through Redis");
    redis.restart().await;
    for p in [&a, &b] {
        assert!(
            wait_for(Duration::from_secs(10), || async { health(&p.url).await["status"] == "healthy" }).await,
            "a replica never went back to Redis"
        );
    }
    assert_eq!(retrieve(&b.url, key, &hash).await.0, 404, "Redis came back empty");
    history.push(json!({"role": "assistant", "content": "The batch failed."}));
    history.push(json!({"role": "user", "content": "Which one?"}));
    let resent = wait_for(Duration::from_secs(10), || async {
        assert_eq!(messages(&a.url, key, &body(&history), &[]).await.status(), 200);
        retrieve(&b.url, key, &hash).await.0 == 200
    })
    .await;
    assert!(resent, "the next turn through A did not send the original Redis lost");
    let last = String::from_utf8(mock.hits().pop().expect("hit").body.to_vec()).expect("utf-8");
    assert!(last.contains(&hash), "the next turn cites the same original");
}
