//! Spend control against the mock upstream: costs from JSON and SSE usage for each priced
//! model family (cache fields included), a price-file override, budgets reached mid-run
//! (a stream that crosses the line finishes, the next request is refused, a restart keeps the
//! spend), per-key budgets, RPM and TPM limits per key under concurrent clients, upstream 429s
//! passed through, and bad flag values rejected at start.

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use headroom_proxy::spend::args::SpendConfig;
use headroom_proxy::spend::prices::Prices;
use serde_json::{Value, json};
use support::binary::get_text;
use support::{config, start_mock, start_proxy};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

fn temp_dir(name: &str) -> PathBuf {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("headroom-spend-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn anthropic_usage() -> Value {
    json!({"input_tokens": 1000, "cache_read_input_tokens": 20000, "cache_creation_input_tokens": 3000,
        "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
        "output_tokens": 500})
}

fn chat_usage() -> Value {
    json!({"prompt_tokens": 10000, "completion_tokens": 1000, "total_tokens": 11000,
        "prompt_tokens_details": {"cached_tokens": 4000}})
}

fn responses_usage() -> Value {
    json!({"input_tokens": 10000, "input_tokens_details": {"cached_tokens": 4000}, "output_tokens": 1000,
        "total_tokens": 11000})
}

fn body(path: &str, model: &str, stream: bool) -> Value {
    match path {
        "/v1/messages" => json!({"model": model, "max_tokens": 16, "stream": stream,
            "messages": [{"role": "user", "content": "hello"}]}),
        "/v1/chat/completions" => json!({"model": model, "stream": stream,
            "messages": [{"role": "user", "content": "hello"}]}),
        _ => json!({"model": model, "input": "hello"}),
    }
}

/// Send one request; the whole answer is read.
async fn send(
    c: &reqwest::Client,
    url: &str,
    path: &str,
    key: &str,
    body: &Value,
    usage: Option<&Value>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut r = c
        .post(format!("{url}{path}"))
        .header("x-api-key", key)
        .header("authorization", format!("Bearer {key}"))
        .header("anthropic-version", "2023-06-01")
        .json(body);
    if let Some(u) = usage {
        r = r.header("x-mock-usage", u.to_string());
    }
    let resp = r.send().await.expect("send");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.expect("body"))
}

async fn stats(c: &reqwest::Client, url: &str) -> Value {
    c.get(format!("{url}/stats")).send().await.expect("stats").json().await.expect("json")
}

/// Wait until `n` requests were accounted by the spend consumer.
async fn accounted(c: &reqwest::Client, url: &str, n: u64) -> Value {
    for _ in 0..200 {
        let s = stats(c, url).await;
        let spend = &s["spend"];
        let seen = spend["requests_priced"].as_u64().unwrap_or(0)
            + spend["unpriced"]["requests"].as_u64().unwrap_or(0)
            + spend["requests_without_usage"].as_u64().unwrap_or(0);
        if seen >= n {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("requests not accounted: {}", stats(c, url).await["spend"]);
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[tokio::test]
async fn costs_for_each_family_from_json_and_sse_usage() {
    let mock = start_mock().await;
    let proxy = start_proxy(config(&mock.url)).await;
    let c = client();
    let (a, o, r) = (anthropic_usage(), chat_usage(), responses_usage());
    let cases: [(&str, &str, bool, &Value); 9] = [
        ("/v1/messages", "claude-sonnet-4-5-20250929", false, &a),
        ("/v1/messages", "claude-sonnet-4-5-20250929", true, &a),
        ("/v1/messages", "claude-opus-4-6", true, &a),
        ("/v1/messages", "anthropic/claude-haiku-4-5-latest", false, &a),
        ("/v1/chat/completions", "gpt-4o-mini-2024-07-18", false, &o),
        ("/v1/chat/completions", "gpt-4o-mini-2024-07-18", true, &o),
        ("/v1/responses", "gpt-5.4", false, &r),
        ("/v1/messages", "claude-mock-9", false, &a),
        ("/v1/chat/completions", "gpt-mock", true, &o),
    ];
    for (path, model, stream, usage) in cases {
        let (status, _, text) =
            send(&c, &proxy.url, path, "sk-test-cost", &body(path, model, stream), Some(usage)).await;
        assert_eq!(status, 200, "{model}: {text}");
    }
    let s = accounted(&c, &proxy.url, 9).await;
    let spend = &s["spend"];
    let by_model = &spend["by_model"];
    let usd = |m: &str, k: &str| by_model[m][k].as_f64().unwrap_or_else(|| panic!("{m}.{k} in {by_model}"));
    // Sonnet 4.5: 1000 x $3 + 20000 x $0.30 + 1000 x $3.75 (5m) + 2000 x $6 (1h) + 500 x $15, per MTok; twice.
    assert!(close(usd("claude-sonnet-4-5", "total_usd"), 2.0 * 0.032_25), "{by_model}");
    assert!(close(usd("claude-sonnet-4-5", "uncached_input_usd"), 0.006));
    assert!(close(usd("claude-sonnet-4-5", "cache_read_usd"), 0.012));
    assert!(close(usd("claude-sonnet-4-5", "cache_write_usd"), 2.0 * 0.015_75));
    assert!(close(usd("claude-sonnet-4-5", "output_usd"), 0.015));
    assert!(close(usd("claude-opus-4-6", "total_usd"), 0.053_75), "{by_model}");
    assert!(close(usd("claude-haiku-4-5", "total_usd"), 0.010_75), "{by_model}");
    // gpt-4o-mini: 6000 x $0.15 + 4000 x $0.075 + 1000 x $0.60; JSON and stream.
    assert!(close(usd("gpt-4o-mini", "total_usd"), 2.0 * 0.0018), "{by_model}");
    // gpt-5.4 (Responses): 6000 x $2.50 + 4000 x $0.25 + 1000 x $15.
    assert!(close(usd("gpt-5.4", "total_usd"), 0.031), "{by_model}");
    assert_eq!(spend["requests_priced"], 7);
    // Unknown models are counted as unknown, never as free.
    assert_eq!(spend["unpriced"]["requests"], 2, "{spend}");
    assert_eq!(spend["unpriced"]["by_model"]["claude-mock-9"]["requests"], 1);
    assert_eq!(spend["unpriced"]["by_model"]["gpt-mock"]["output_tokens"], 1000);
    assert!(by_model.get("claude-mock-9").is_none());
    let total = 2.0 * 0.032_25 + 0.053_75 + 0.010_75 + 2.0 * 0.0018 + 0.031;
    assert!(close(spend["total"]["total_usd"].as_f64().expect("test value"), total), "{spend}");
    assert!(close(spend["budget"]["spent_usd"].as_f64().expect("test value"), total), "{spend}");
    let metrics = get_text(&format!("{}/metrics", proxy.url)).await;
    assert!(
        metrics.contains("headroom_cost_usd_total{provider=\"anthropic\",kind=\"cache_write\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("headroom_unpriced_requests_total 2"), "{metrics}");
}

#[tokio::test]
async fn a_price_file_overrides_and_extends_the_table() {
    let dir = temp_dir("prices");
    let file = dir.join("prices.json");
    std::fs::write(
        &file,
        r#"{"models": {
  "gpt-4o-mini": {"input": 1.0, "output": 2.0, "cache_read": 0.5},
  "gpt-mock": {"input": 10.0, "output": 20.0, "aliases": ["gpt-mock-alias"]}
}}"#,
    )
    .expect("test value");
    let mock = start_mock().await;
    let spend = SpendConfig {
        prices: Arc::new(Prices::with_file(&file).expect("test value")),
        ..SpendConfig::default()
    };
    let proxy = start_proxy(headroom_proxy::ProxyConfig { spend, ..config(&mock.url) }).await;
    let c = client();
    let o = chat_usage();
    for model in ["gpt-4o-mini", "gpt-mock"] {
        let path = "/v1/chat/completions";
        assert_eq!(send(&c, &proxy.url, path, "k", &body(path, model, false), Some(&o)).await.0, 200);
    }
    let s = accounted(&c, &proxy.url, 2).await;
    let by_model = &s["spend"]["by_model"];
    // 6000 x $1 + 4000 x $0.50 + 1000 x $2.
    assert!(close(by_model["gpt-4o-mini"]["total_usd"].as_f64().expect("test value"), 0.010), "{by_model}");
    // No cache price given for an OpenAI model: reads at the input price (never under-stated).
    assert!(close(by_model["gpt-mock"]["total_usd"].as_f64().expect("test value"), 0.12), "{by_model}");
    assert_eq!(s["spend"]["unpriced"]["requests"], 0);
    let _ = std::fs::remove_dir_all(&dir);
}

fn budget_config(
    upstream: &str,
    dir: &std::path::Path,
    global: Option<f64>,
    per_key: Option<f64>,
) -> headroom_proxy::ProxyConfig {
    let spend = SpendConfig {
        budget: global,
        budget_per_key: per_key,
        state_path: Some(dir.join("proxy_spend.json")),
        ..SpendConfig::default()
    };
    headroom_proxy::ProxyConfig { spend, ..config(upstream) }
}

#[tokio::test]
async fn a_budget_reached_mid_run_refuses_the_next_request_and_survives_a_restart() {
    let dir = temp_dir("budget");
    let mock = start_mock().await;
    let proxy = start_proxy(budget_config(&mock.url, &dir, Some(0.05), None)).await;
    let c = client();
    let a = anthropic_usage();
    let path = "/v1/messages";
    let model = "claude-sonnet-4-5";
    // $0.03225 each: the first leaves $0.01775; the second (a stream) crosses the line and
    // still finishes.
    assert_eq!(send(&c, &proxy.url, path, "k1", &body(path, model, false), Some(&a)).await.0, 200);
    accounted(&c, &proxy.url, 1).await;
    let (status, _, text) = send(&c, &proxy.url, path, "k1", &body(path, model, true), Some(&a)).await;
    assert_eq!(status, 200);
    assert!(text.contains("message_stop"), "the stream crossing the line was cut: {text}");
    accounted(&c, &proxy.url, 2).await;
    let (status, headers, text) = send(&c, &proxy.url, path, "k2", &body(path, model, false), Some(&a)).await;
    assert_eq!(status, 429, "{text}");
    let err: Value = serde_json::from_str(&text).expect("test value");
    assert_eq!(err["type"], "error");
    assert_eq!(err["error"]["type"], "rate_limit_error");
    let message = err["error"]["message"].as_str().expect("test value");
    assert!(message.contains("daily budget of $0.05 reached"), "{message}");
    assert!(message.contains("spent $0.0645"), "{message}");
    assert!(message.contains("resets at") && message.contains("T00:00:00+00:00 (UTC)"), "{message}");
    let retry: u64 = headers["retry-after"].to_str().expect("test value").parse().expect("test value");
    assert!((1..=86_400).contains(&retry), "{retry}");
    assert_eq!(headers["x-should-retry"], "false");
    // OpenAI clients get OpenAI's format.
    let (status, _, text) = send(
        &c,
        &proxy.url,
        "/v1/chat/completions",
        "k2",
        &body("/v1/chat/completions", "gpt-4o", false),
        None,
    )
    .await;
    assert_eq!(status, 429);
    let err: Value = serde_json::from_str(&text).expect("test value");
    assert_eq!(err["error"]["code"], "insufficient_quota", "{err}");
    assert_eq!(mock.hits().len(), 2, "a refused request reached the upstream");
    let s = stats(&c, &proxy.url).await;
    assert!(close(s["spend"]["budget"]["spent_usd"].as_f64().expect("test value"), 0.0645));
    assert_eq!(s["spend"]["budget"]["remaining_usd"], 0.0);
    // The spend is written within a second; a new proxy on the same workspace keeps refusing.
    let file = dir.join("proxy_spend.json");
    let mut kept = false;
    for _ in 0..100 {
        if std::fs::read_to_string(&file).is_ok_and(|t| t.contains("0.0645")) {
            kept = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(kept, "spend file not written");
    let restarted = start_proxy(budget_config(&mock.url, &dir, Some(0.05), None)).await;
    let (status, _, text) = send(&c, &restarted.url, path, "k3", &body(path, model, false), Some(&a)).await;
    assert_eq!(status, 429, "{text}");
    assert_eq!(mock.hits().len(), 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_budget_in_a_named_zone_resets_at_its_local_midnight() {
    let dir = temp_dir("zone");
    let mock = start_mock().await;
    let tz = headroom_proxy::spend::clock::BudgetTz::parse("America/New_York").expect("zone");
    let mut config = budget_config(&mock.url, &dir, Some(0.01), None);
    config.spend.tz = tz;
    let proxy = start_proxy(config).await;
    let c = client();
    let path = "/v1/messages";
    let b = body(path, "claude-sonnet-4-5", false);
    assert_eq!(send(&c, &proxy.url, path, "k", &b, Some(&anthropic_usage())).await.0, 200);
    accounted(&c, &proxy.url, 1).await;
    let (status, headers, text) = send(&c, &proxy.url, path, "k", &b, Some(&anthropic_usage())).await;
    assert_eq!(status, 429, "{text}");
    // The next midnight in New York, worked out here from the wall clock.
    let zone = jiff::tz::TimeZone::get("America/New_York").expect("zone");
    let now = jiff::Timestamp::now().to_zoned_datetime(zone.clone());
    let midnight = now.date().tomorrow().expect("tomorrow").to_zoned_datetime(zone).expect("midnight");
    let offset = midnight.offset().seconds();
    assert!(offset == -5 * 3600 || offset == -4 * 3600, "{offset}");
    let local = format!("{}T00:00:00-0{}:00", midnight.date(), -offset / 3600);
    let message = serde_json::from_str::<Value>(&text).expect("json")["error"]["message"].clone();
    let message = message.as_str().expect("message");
    assert!(message.ends_with(&format!("resets at {local} (America/New_York)")), "{message}");
    // The UTC header names the same instant.
    let reset = headers["x-headroom-budget-reset"].to_str().expect("header");
    let reset: jiff::Timestamp = reset.parse().expect("iso");
    assert_eq!(reset, midnight.timestamp(), "{reset}");
    let budget = &stats(&c, &proxy.url).await["spend"]["budget"];
    assert_eq!(budget["tz"], "America/New_York", "{budget}");
    assert_eq!(budget["tz_offset_seconds"], now.offset().seconds(), "{budget}");
    assert!(budget["period_start_local"].as_str().expect("start").contains("T00:00:00-0"), "{budget}");
    assert_eq!(budget["resets_at_local"].as_str(), Some(local.as_str()), "{budget}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Many clients at once at the edge of a budget: every request served is charged (the spend is
/// never lower than what was served, in memory and in the spend file), the overshoot is at
/// most one request per client in flight, and once the budget is spent every request is
/// refused without reaching the upstream.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_clients_at_the_edge_of_a_budget() {
    const CLIENTS: usize = 16;
    // $0.03225 a request (Sonnet 4.5 at the usage below): the line is crossed by the 4th.
    const COST: f64 = 0.032_25;
    const BUDGET: f64 = 0.1;
    let dir = temp_dir("race");
    let mock = start_mock().await;
    let proxy = start_proxy(budget_config(&mock.url, &dir, Some(BUDGET), None)).await;
    let path = "/v1/messages";
    let mut tasks = Vec::new();
    for i in 0..CLIENTS {
        let url = proxy.url.clone();
        tasks.push(tokio::spawn(async move {
            let c = client();
            let (mut served, mut refused) = (0u64, 0u64);
            for round in 0..10 {
                // Streams and JSON answers, each held upstream for a while so requests overlap.
                let mut b = body(path, "claude-sonnet-4-5", (i + round) % 2 == 0);
                b["max_tokens"] = json!(16 + round);
                let r = c
                    .post(format!("{url}{path}"))
                    .header("x-api-key", format!("key-{i}"))
                    .header("x-mock-delay-ms", "30")
                    .header("x-mock-usage", anthropic_usage().to_string())
                    .json(&b)
                    .send()
                    .await
                    .expect("send");
                let status = r.status().as_u16();
                let text = r.text().await.expect("body");
                match status {
                    200 => served += 1,
                    429 => {
                        assert!(text.contains("daily budget"), "{text}");
                        refused += 1;
                        break;
                    }
                    other => panic!("{other}: {text}"),
                }
            }
            (served, refused)
        }));
    }
    let (mut served, mut refused) = (0u64, 0u64);
    for t in tasks {
        let (s, r) = t.await.expect("client");
        served += s;
        refused += r;
    }
    let c = client();
    let s = accounted(&c, &proxy.url, served).await;
    let spent = s["spend"]["budget"]["spent_usd"].as_f64().expect("spent");
    assert!(close(spent, served as f64 * COST), "spent {spent} for {served} served");
    assert!(spent >= BUDGET, "{spent}");
    let at_most = (BUDGET / COST).ceil() as u64 + CLIENTS as u64 - 1;
    assert!(served <= at_most, "{served} served past a ${BUDGET} budget (at most {at_most})");
    assert_eq!(refused, CLIENTS as u64, "every client ended refused");
    assert_eq!(mock.hits().len() as u64, served, "a refused request reached the upstream");
    // Once spent, every request at once is refused.
    let again: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let (c, url) = (c.clone(), proxy.url.clone());
            tokio::spawn(async move {
                let b = body(path, "claude-sonnet-4-5", false);
                send(&c, &url, path, &format!("late-{i}"), &b, Some(&anthropic_usage())).await.0
            })
        })
        .collect();
    for t in again {
        assert_eq!(t.await.expect("client"), 429);
    }
    assert_eq!(mock.hits().len() as u64, served);
    // The spend file holds all of it.
    proxy.state.spend.flush();
    let kept: Value =
        serde_json::from_slice(&std::fs::read(dir.join("proxy_spend.json")).expect("file")).expect("json");
    assert!(close(kept["total_usd"].as_f64().expect("total"), served as f64 * COST), "{kept}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn per_key_budgets_are_apart_and_stats_show_only_hashed_scopes() {
    let dir = temp_dir("perkey");
    let mock = start_mock().await;
    let proxy = start_proxy(budget_config(&mock.url, &dir, None, Some(0.03))).await;
    let c = client();
    let a = anthropic_usage();
    let path = "/v1/messages";
    let b = body(path, "claude-sonnet-4-5", false);
    assert_eq!(send(&c, &proxy.url, path, "sk-ant-key-AAAA", &b, Some(&a)).await.0, 200);
    accounted(&c, &proxy.url, 1).await;
    let (status, _, text) = send(&c, &proxy.url, path, "sk-ant-key-AAAA", &b, Some(&a)).await;
    assert_eq!(status, 429);
    assert!(text.contains("daily per-key budget of $0.03"), "{text}");
    assert_eq!(send(&c, &proxy.url, path, "sk-ant-key-BBBB", &b, Some(&a)).await.0, 200);
    let s = accounted(&c, &proxy.url, 2).await;
    let scopes = s["spend"]["budget"]["by_key_scope"].as_object().expect("test value").clone();
    assert_eq!(scopes.len(), 2, "{scopes:?}");
    for (scope, spent) in &scopes {
        assert!(scope.len() == 16 && scope.bytes().all(|b| b.is_ascii_hexdigit()), "{scope}");
        assert!(close(spent.as_f64().expect("test value"), 0.032_25));
    }
    assert!(!s.to_string().contains("sk-ant-key"), "a key reached /stats");
    let _ = std::fs::remove_dir_all(&dir);
}

fn limited(upstream: &str, rpm: Option<u32>, tpm: Option<u64>) -> headroom_proxy::ProxyConfig {
    headroom_proxy::ProxyConfig {
        spend: SpendConfig { rpm, tpm, ..SpendConfig::default() },
        ..config(upstream)
    }
}

#[tokio::test]
async fn rpm_is_enforced_per_key_under_concurrent_clients() {
    let mock = start_mock().await;
    let proxy = start_proxy(limited(&mock.url, Some(3), None)).await;
    let c = client();
    let path = "/v1/chat/completions";
    let keys: Vec<String> = (0..4).map(|i| format!("sk-rate-{i}")).collect();
    let mut tasks = Vec::new();
    for key in &keys {
        for _ in 0..3 {
            let (c, url, key) = (c.clone(), proxy.url.clone(), key.clone());
            tasks.push(tokio::spawn(async move {
                send(&c, &url, path, &key, &body(path, "gpt-4o", false), None).await.0
            }));
        }
    }
    for t in tasks {
        assert_eq!(t.await.expect("test value"), 200, "a request within its key's limit was refused");
    }
    for key in &keys {
        let (status, headers, text) =
            send(&c, &proxy.url, path, key, &body(path, "gpt-4o", false), None).await;
        assert_eq!(status, 429, "{text}");
        let err: Value = serde_json::from_str(&text).expect("test value");
        assert_eq!(err["error"]["code"], "rate_limit_exceeded");
        assert_eq!(err["error"]["type"], "requests");
        assert_eq!(headers["x-ratelimit-limit-requests"], "3");
        assert_eq!(headers["x-ratelimit-remaining-requests"], "0");
        assert!(headers.contains_key("x-ratelimit-reset-requests"));
        let retry: u64 = headers["retry-after"].to_str().expect("test value").parse().expect("test value");
        assert!((1..=20).contains(&retry), "{retry}");
    }
    // Anthropic clients get Anthropic's format and headers.
    let (status, headers, text) = send(
        &c,
        &proxy.url,
        "/v1/messages",
        &keys[0],
        &body("/v1/messages", "claude-sonnet-4-5", false),
        None,
    )
    .await;
    assert_eq!(status, 429);
    assert!(text.contains("\"rate_limit_error\""), "{text}");
    assert_eq!(headers["anthropic-ratelimit-requests-limit"], "3");
    assert_eq!(mock.hits().len(), 12);
    let m = get_text(&format!("{}/metrics", proxy.url)).await;
    assert!(m.contains("headroom_refused_requests_total{reason=\"rpm\"} 5"), "{m}");
}

#[tokio::test]
async fn tpm_counts_the_body_as_sent_upstream_after_compression() {
    let mock = start_mock().await;
    let c = client();
    let path = "/v1/chat/completions";
    let original = support::compressible_chat(false);
    // Learn what the proxy forwards for this body.
    let probe = start_proxy(config(&mock.url)).await;
    assert_eq!(send(&c, &probe.url, path, "k", &original, None).await.0, 200);
    let sent = mock.hits().last().expect("test value").body.clone();
    let count =
        |b: &[u8]| u64::from(headroom_tokenizer::O200k::count(std::str::from_utf8(b).expect("test value")));
    let (sent_tokens, original_tokens) =
        (count(&sent), count(&serde_json::to_vec(&original).expect("test value")));
    assert!(
        sent_tokens * 2 < original_tokens,
        "compression did not shrink the probe: {sent_tokens} vs {original_tokens}"
    );
    // A limit between the two: counting the original would refuse the second request.
    let tpm = sent_tokens + (original_tokens - sent_tokens) / 2;
    let proxy = start_proxy(limited(&mock.url, None, Some(tpm))).await;
    // Admitted while the bucket is not in debt: tpm / sent + 1 requests, then refused until it
    // refills (counting the original body would admit only one).
    let expected = tpm / sent_tokens + 1;
    let mut admitted = 0;
    let (status, headers, text) = loop {
        let (status, headers, text) = send(&c, &proxy.url, path, "key-a", &original, None).await;
        if status != 200 || admitted > 50 {
            break (status, headers, text);
        }
        admitted += 1;
    };
    assert!(
        admitted >= 2 && (expected..=expected + 1).contains(&admitted),
        "{admitted} admitted, expected {expected}"
    );
    assert_eq!(status, 429, "{text}");
    assert!(text.contains("input tokens per minute"), "{text}");
    assert_eq!(headers["x-ratelimit-limit-tokens"], tpm.to_string().as_str());
    assert_eq!(headers["x-ratelimit-remaining-tokens"], "0");
    // Another key is not touched.
    assert_eq!(send(&c, &proxy.url, path, "key-b", &original, None).await.0, 200);
}

#[tokio::test]
async fn upstream_429s_pass_through_untouched() {
    let mock = start_mock().await;
    let proxy = start_proxy(limited(&mock.url, Some(100), Some(1_000_000))).await;
    let resp = client()
        .post(format!("{}/v1/messages", proxy.url))
        .header("x-api-key", "k")
        .header("x-mock-status", "429")
        .json(&body("/v1/messages", "claude-sonnet-4-5", false))
        .send()
        .await
        .expect("test value");
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "7");
    assert!(!resp.headers().contains_key("x-headroom-refused"));
    let v: Value = resp.json().await.expect("test value");
    assert_eq!(v["error"]["message"], "mock says no");
}

#[test]
fn bad_flag_values_are_rejected_at_start() {
    let dir = temp_dir("flags");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{\n  \"models\": {\n    \"x\": {\"input\": -1, \"output\": 2}\n  }\n}\n")
        .expect("test value");
    let bad = bad.display().to_string();
    let cases: [(&[&str], &str); 7] = [
        (&["--budget=-1"], "positive amount"),
        (&["--budget", "lots"], "not an amount"),
        (&["--budget-period", "weekly"], "hourly, daily or monthly"),
        (&["--budget-tz", "Europe/Nowhere"], "not a time zone of the tz database"),
        (&["--rpm", "0"], "--rpm"),
        (&["--tpm=-5"], "--tpm"),
        (&["--prices", &bad], "line 3"),
    ];
    for (args, expected) in cases {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_headroom"))
            .args(["proxy", "--port", "0", "--workspace-dir"])
            .arg(&dir)
            .args(args)
            .env_remove("RUST_LOG")
            .output()
            .expect("run headroom");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!stderr.contains("listening"), "{args:?} started the proxy");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
