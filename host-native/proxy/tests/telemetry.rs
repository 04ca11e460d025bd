//! Telemetry that leaves the process: OpenTelemetry metrics (OTLP/HTTP to a receiver started
//! here, and the console exporter of the real binary), Langfuse traces (a receiver that checks
//! the Basic auth and decodes the spans with the official `opentelemetry-proto` types), the
//! switch that turns all of it off, and `HEADROOM_SDK`. Nothing exported carries content,
//! keys or paths.

mod support;

use std::io::BufRead as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::response::IntoResponse;
use headroom_proxy::config::ProxyConfig;
use headroom_proxy::observe_args::ObserveConfig;
use headroom_proxy::otel::args::TelemetryArgs;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::metric::Data;
use prost::Message;
use serde_json::{Value, json};
use support::{compressible_chat, config, start_mock, start_proxy, start_proxy_until};

/// `base64("pk-lf-test:sk-lf-test")`, worked out by hand from the alphabet.
const AUTH: &str = "Basic cGstbGYtdGVzdDpzay1sZi10ZXN0";
/// Text that must never leave the process.
const SECRET_PROMPT: &str = "PURPLE-ELEPHANT-WHISPERS-42";
const SECRET_KEY: &str = "sk-ant-api03-Zm9vYmFyYmF6cXV4cXV1eA";

#[derive(Default)]
struct Received {
    posts: Mutex<Vec<(String, http::HeaderMap, Bytes)>>,
    refused: Mutex<u32>,
}

/// An OTLP/HTTP receiver on loopback: keeps every POST; with `auth`, answers 401 to a request
/// without exactly that `Authorization`.
async fn receiver(auth: Option<&'static str>) -> (String, Arc<Received>) {
    let got = Arc::new(Received::default());
    let app = axum::Router::new()
        .fallback(move |State(got): State<Arc<Received>>, req: Request| async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, 64 << 20).await.unwrap_or_default();
            let authorized = auth.is_none_or(|a| {
                parts.headers.get(http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()) == Some(a)
            });
            if !authorized {
                *got.refused.lock().expect("lock") += 1;
                return http::StatusCode::UNAUTHORIZED.into_response();
            }
            got.posts.lock().expect("lock").push((parts.uri.path().to_owned(), parts.headers, body));
            http::StatusCode::OK.into_response()
        })
        .with_state(Arc::clone(&got));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), got)
}

fn telemetry(args: TelemetryArgs) -> ObserveConfig {
    ObserveConfig { telemetry: args.resolve().expect("telemetry settings"), ..ObserveConfig::default() }
}

fn base_args() -> TelemetryArgs {
    TelemetryArgs {
        otel_metrics_interval_ms: 60_000,
        otel_metrics_endpoint: "http://127.0.0.1:9/v1/metrics".into(),
        otel_service_name: "headroom-test".into(),
        langfuse_base_url: "http://127.0.0.1:9".into(),
        ..TelemetryArgs::default()
    }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

/// A compressible chat whose conversation carries a prompt and a key that must stay inside.
fn secret_chat() -> Value {
    let mut body = compressible_chat(false);
    body["messages"][1]["content"] = json!(format!("{SECRET_PROMPT} my key is {SECRET_KEY}"));
    body
}

async fn chat(proxy: &str, body: &Value) {
    let r = client()
        .post(format!("{proxy}/v1/chat/completions"))
        .header("authorization", "Bearer sk-test-key-000000000000")
        .json(body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    let _ = r.bytes().await;
}

fn string(v: &Option<AnyValue>) -> Option<&str> {
    match v.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn int(v: &Option<AnyValue>) -> Option<i64> {
    match v.as_ref()?.value.as_ref()? {
        any_value::Value::IntValue(i) => Some(*i),
        _ => None,
    }
}

fn attr<'a>(attrs: &'a [KeyValue], key: &str) -> Option<&'a Option<AnyValue>> {
    attrs.iter().find(|kv| kv.key == key).map(|kv| &kv.value)
}

async fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let end = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < end {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check()
}

/// A proxy in front of `upstream` exporting its metrics to the OTLP receiver at `receiver`
/// every `interval_ms`, tagged with `sdk` (`HEADROOM_SDK`).
fn otel_metrics_to(upstream: &str, receiver: &str, interval_ms: u64, sdk: Option<&str>) -> ProxyConfig {
    let mut c = config(upstream);
    c.observe = telemetry(TelemetryArgs {
        otel_metrics_enabled: true,
        otel_metrics_endpoint: format!("{receiver}/v1/metrics"),
        otel_metrics_interval_ms: interval_ms,
        sdk: sdk.map(str::to_owned),
        ..base_args()
    });
    c
}

/// The requests an OTLP metrics export counts (`None`: it has no `headroom_requests`).
fn requests_in(req: &ExportMetricsServiceRequest) -> Option<i64> {
    let metrics = &req.resource_metrics.first()?.scope_metrics.first()?.metrics;
    let requests = metrics.iter().find(|m| m.name == "headroom_requests")?;
    let Some(Data::Sum(sum)) = &requests.data else { panic!("requests is a sum: {requests:?}") };
    Some(
        sum.data_points
            .iter()
            .map(|p| match p.value {
                Some(opentelemetry_proto::tonic::metrics::v1::number_data_point::Value::AsInt(i)) => i,
                _ => 0,
            })
            .sum(),
    )
}

/// The last export at a clean stop counts the requests that ended just before it (they are
/// accounted in batches: the stop accounts what is queued before the exporters' last export).
#[tokio::test(flavor = "multi_thread")]
async fn the_last_export_at_a_clean_stop_counts_the_last_requests() {
    let (url, got) = receiver(None).await;
    let mock = start_mock().await;
    // No periodic export during the test: only the first (empty) one and the last.
    let c = otel_metrics_to(&mock.url, &url, 600_000, None);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (proxy, serving) = start_proxy_until(c, async move {
        let _ = stopped.await;
    })
    .await;
    for _ in 0..3 {
        chat(&proxy.url, &compressible_chat(false)).await;
    }
    stop.send(()).expect("serving");
    tokio::time::timeout(Duration::from_secs(30), serving).await.expect("stopped").expect("task");
    let posts = got.posts.lock().expect("lock");
    let last = posts.last().expect("an export");
    let req = ExportMetricsServiceRequest::decode(last.2.as_ref()).expect("valid OTLP protobuf");
    assert_eq!(requests_in(&req), Some(3), "{} exports", posts.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn otel_metrics_reach_an_otlp_receiver_with_the_metrics_instruments() {
    let (url, got) = receiver(None).await;
    let mock = start_mock().await;
    let proxy = start_proxy(otel_metrics_to(&mock.url, &url, 200, Some("python"))).await;
    chat(&proxy.url, &compressible_chat(false)).await;
    chat(&proxy.url, &compressible_chat(false)).await;

    // The first export that has seen both requests.
    let mut export = None;
    let found = wait_for(Duration::from_secs(10), || {
        let posts = got.posts.lock().expect("lock");
        export = posts.iter().rev().find_map(|(path, headers, body)| {
            assert_eq!(path, "/v1/metrics");
            assert_eq!(headers.get("content-type").unwrap(), "application/x-protobuf");
            let req = ExportMetricsServiceRequest::decode(body.as_ref()).expect("valid OTLP protobuf");
            (requests_in(&req)? == 2).then(|| req.clone())
        });
        export.is_some()
    })
    .await;
    assert!(found, "no export counted both requests");
    let req = export.unwrap();
    let resource = req.resource_metrics[0].resource.as_ref().expect("resource");
    assert_eq!(string(attr(&resource.attributes, "service.name").unwrap()), Some("headroom-test"));
    assert_eq!(string(attr(&resource.attributes, "headroom.sdk").unwrap()), Some("python"));
    let metrics = &req.resource_metrics[0].scope_metrics[0].metrics;
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    // The same instruments as /metrics: every family the scrape shows with a series.
    let scrape = client().get(format!("{}/metrics", proxy.url)).send().await.unwrap().text().await.unwrap();
    for name in [
        "headroom_requests",
        "headroom_tokens_saved",
        "headroom_request_duration_seconds",
        "headroom_transform_duration_seconds",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
        assert!(scrape.contains(&format!("# TYPE {name}")), "{name} missing from /metrics");
    }
    let duration = metrics.iter().find(|m| m.name == "headroom_request_duration_seconds").unwrap();
    assert_eq!(duration.unit, "s");
    let Some(Data::Histogram(h)) = &duration.data else { panic!("histogram: {duration:?}") };
    let p = &h.data_points[0];
    assert_eq!(p.count, 2);
    assert_eq!(p.bucket_counts.iter().sum::<u64>(), 2);
    assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1);
    let transforms = metrics.iter().find(|m| m.name == "headroom_transform_duration_seconds").unwrap();
    let Some(Data::Histogram(h)) = &transforms.data else { panic!("histogram") };
    let labels: Vec<&str> =
        h.data_points.iter().filter_map(|p| string(attr(&p.attributes, "transform")?)).collect();
    assert!(labels.contains(&"unchanged") && labels.len() >= 2, "a transform and the rest: {labels:?}");
    let stats: Value =
        client().get(format!("{}/stats", proxy.url)).send().await.unwrap().json().await.unwrap();
    assert!(stats["telemetry"]["otel_metrics"]["counts"]["exported"].as_u64().unwrap() >= 1, "{stats}");
    assert!(stats["transform_ms"].as_object().is_some_and(|m| !m.is_empty()), "{stats}");
}

#[tokio::test(flavor = "multi_thread")]
async fn langfuse_gets_one_trace_per_request_with_stages_and_no_content() {
    let (url, got) = receiver(Some(AUTH)).await;
    let mock = start_mock().await;
    let mut c = config(&mock.url);
    c.observe = telemetry(TelemetryArgs {
        langfuse_enabled: true,
        langfuse_public_key: Some("pk-lf-test".into()),
        langfuse_secret_key: Some("sk-lf-test".into()),
        langfuse_base_url: format!("{url}/"),
        sdk: Some("typescript".into()),
        ..base_args()
    });
    let proxy = start_proxy(c).await;
    chat(&proxy.url, &secret_chat()).await;
    let mut path_model = secret_chat();
    path_model["model"] = json!("/home/me/.config/private-model");
    chat(&proxy.url, &path_model).await;

    let spans_of = |got: &Received| {
        got.posts
            .lock()
            .unwrap()
            .iter()
            .flat_map(|(_, _, body)| {
                let req = ExportTraceServiceRequest::decode(body.as_ref()).expect("valid OTLP protobuf");
                req.resource_spans.into_iter().flat_map(|r| r.scope_spans).flat_map(|s| s.spans)
            })
            .collect::<Vec<_>>()
    };
    assert!(
        wait_for(Duration::from_secs(10), || spans_of(&got)
            .iter()
            .filter(|s| s.name == "headroom.request")
            .count()
            == 2)
        .await,
        "two request spans"
    );
    assert_eq!(*got.refused.lock().expect("lock"), 0);
    for (path, headers, body) in got.posts.lock().expect("lock").iter() {
        assert_eq!(path, "/api/public/otel/v1/traces");
        assert_eq!(headers.get("x-langfuse-ingestion-version").unwrap(), "4");
        let raw = String::from_utf8_lossy(body);
        for secret in [
            SECRET_PROMPT,
            SECRET_KEY,
            "sk-test-key",
            "/home/me",
            "compute_value_17",
            "You are a coding agent",
        ] {
            assert!(!raw.contains(secret), "{secret} left the process");
        }
    }
    let spans = spans_of(&got);
    let roots: Vec<_> = spans.iter().filter(|s| s.name == "headroom.request").collect();
    let models: Vec<_> =
        roots.iter().filter_map(|r| string(attr(&r.attributes, "gen_ai.request.model")?)).collect();
    assert!(models.contains(&"gpt-4o") && models.contains(&"other"), "{models:?}");
    let root = roots
        .iter()
        .find(|r| string(attr(&r.attributes, "gen_ai.request.model").unwrap()) == Some("gpt-4o"))
        .unwrap();
    assert_eq!(root.parent_span_id, Vec::<u8>::new());
    assert_eq!(root.trace_id.len(), 16);
    assert_eq!(string(attr(&root.attributes, "headroom.sdk").unwrap()), Some("typescript"));
    let saved = int(attr(&root.attributes, "headroom.tokens_saved").unwrap()).unwrap();
    assert!(saved > 0, "the grep output was compressed");
    assert!(int(attr(&root.attributes, "gen_ai.usage.input_tokens").unwrap()).is_some());
    let same_trace: Vec<_> = spans.iter().filter(|s| s.trace_id == root.trace_id).collect();
    let comp = same_trace.iter().find(|s| s.name == "headroom.compression").expect("compression span");
    assert_eq!(comp.parent_span_id, root.span_id);
    let transforms: Vec<_> =
        same_trace.iter().filter(|s| s.name.starts_with("headroom.transform ")).collect();
    assert!(!transforms.is_empty(), "a transform span");
    let mut transform_saved = 0;
    for t in &transforms {
        assert_eq!(t.parent_span_id, comp.span_id);
        assert!(
            t.start_time_unix_nano >= comp.start_time_unix_nano
                && t.end_time_unix_nano <= comp.end_time_unix_nano + 1
        );
        transform_saved += int(attr(&t.attributes, "headroom.tokens_saved").unwrap()).unwrap();
    }
    assert_eq!(transform_saved, saved);
    let up = same_trace.iter().find(|s| s.name == "headroom.upstream").expect("upstream span");
    assert_eq!(up.parent_span_id, root.span_id);
    assert!(
        up.end_time_unix_nano <= root.end_time_unix_nano
            && up.start_time_unix_nano >= root.start_time_unix_nano
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_langfuse_key_is_counted_as_failed_and_never_fails_a_request() {
    let (url, got) = receiver(Some(AUTH)).await;
    let mock = start_mock().await;
    let mut c = config(&mock.url);
    c.observe = telemetry(TelemetryArgs {
        langfuse_enabled: true,
        langfuse_public_key: Some("pk-lf-test".into()),
        langfuse_secret_key: Some("sk-lf-wrong".into()),
        langfuse_base_url: url,
        ..base_args()
    });
    let proxy = start_proxy(c).await;
    chat(&proxy.url, &compressible_chat(false)).await;
    assert!(wait_for(Duration::from_secs(10), || *got.refused.lock().expect("lock") >= 1).await);
    let ok =
        wait_for(Duration::from_secs(5), || proxy.state.telemetry.langfuse_counts.failed.get() >= 1).await;
    assert!(ok);
    let scrape = client().get(format!("{}/metrics", proxy.url)).send().await.unwrap().text().await.unwrap();
    assert!(
        scrape.contains("headroom_telemetry_exports_total{exporter=\"langfuse\",result=\"failed\"} 1"),
        "{scrape}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn telemetry_off_sends_nothing_even_when_exporters_are_enabled() {
    let (url, got) = receiver(None).await;
    let mock = start_mock().await;
    let mut c = config(&mock.url);
    c.observe = telemetry(TelemetryArgs {
        telemetry: Some("off".into()),
        otel_metrics_enabled: true,
        otel_metrics_endpoint: format!("{url}/v1/metrics"),
        otel_metrics_interval_ms: 100,
        langfuse_enabled: true,
        langfuse_public_key: Some("pk-lf-test".into()),
        langfuse_secret_key: Some("sk-lf-test".into()),
        langfuse_base_url: url,
        ..base_args()
    });
    let proxy = start_proxy(c).await;
    chat(&proxy.url, &compressible_chat(false)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(got.posts.lock().expect("lock").is_empty());
    let stats: Value =
        client().get(format!("{}/stats", proxy.url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["telemetry"]["disabled"], true);
    assert!(stats["telemetry"]["langfuse"].is_null() && stats["telemetry"]["otel_metrics"].is_null());
}

/// The binary: the console exporter prints the instruments on stdout, `HEADROOM_SDK` tags the
/// request log, and `--no-telemetry` beats `HEADROOM_LANGFUSE_ENABLED=1`.
#[tokio::test(flavor = "multi_thread")]
async fn the_binary_prints_console_metrics_tags_the_sdk_and_honours_no_telemetry() {
    let mock = start_mock().await;
    let (url, got) = receiver(None).await;
    let dir = std::env::temp_dir().join(format!("headroom-telemetry-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("requests.jsonl");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["proxy", "--port", "0", "--openai-api-url", &mock.url, "--anthropic-api-url", &mock.url])
        .arg("--workspace-dir")
        .arg(&dir)
        .arg("--log-file")
        .arg(&log)
        .arg("--no-telemetry")
        .env("HEADROOM_OTEL_METRICS_ENABLED", "1")
        .env("HEADROOM_OTEL_METRICS_EXPORTER", "console")
        .env("HEADROOM_OTEL_METRICS_INTERVAL_MS", "200")
        .env("HEADROOM_SDK", "python")
        .env("HEADROOM_LANGFUSE_ENABLED", "1")
        .env("LANGFUSE_PUBLIC_KEY", "pk-lf-test")
        .env("LANGFUSE_SECRET_KEY", "sk-lf-test")
        .env("LANGFUSE_BASE_URL", &url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn headroom");
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let stderr = child.stderr.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let _guard = Kill(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(u) = line.split("listening on ").nth(1) {
                let _ = tx.send(u.trim().to_owned());
            }
        }
    });
    let proxy = rx.recv_timeout(Duration::from_secs(60)).expect("listening");
    for _ in 0..400 {
        if client().get(format!("{proxy}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let stats: Value = client().get(format!("{proxy}/stats")).send().await.unwrap().json().await.unwrap();
    assert_eq!(stats["telemetry"]["disabled"], true, "{}", stats["telemetry"]);
    assert!(stats["telemetry"]["langfuse"].is_null());
    chat(&proxy, &compressible_chat(false)).await;
    assert!(
        stats["telemetry"]["otel_metrics"].is_null(),
        "--no-telemetry turns the console exporter off too"
    );

    // The same with telemetry on: the console exporter prints.
    drop(_guard);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["proxy", "--port", "0", "--openai-api-url", &mock.url, "--anthropic-api-url", &mock.url])
        .arg("--workspace-dir")
        .arg(&dir)
        .arg("--log-file")
        .arg(&log)
        .env("HEADROOM_OTEL_METRICS_ENABLED", "1")
        .env("HEADROOM_OTEL_METRICS_EXPORTER", "console")
        .env("HEADROOM_OTEL_METRICS_INTERVAL_MS", "200")
        .env("HEADROOM_SDK", "python")
        .env_remove("HEADROOM_LANGFUSE_ENABLED")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn headroom");
    let stderr = child.stderr.take().unwrap();
    let stdout2 = child.stdout.take().unwrap();
    let _guard = Kill(child);
    drop(stdout);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(u) = line.split("listening on ").nth(1) {
                let _ = tx.send(u.trim().to_owned());
            }
        }
    });
    let proxy = rx.recv_timeout(Duration::from_secs(60)).expect("listening");
    chat(&proxy, &compressible_chat(false)).await;
    let (ltx, lrx) = std::sync::mpsc::channel::<Value>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout2).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                let _ = ltx.send(v);
            }
        }
    });
    let mut seen = None;
    let end = std::time::Instant::now() + Duration::from_secs(15);
    while std::time::Instant::now() < end {
        let Ok(v) = lrx.recv_timeout(Duration::from_secs(1)) else { continue };
        let requests = v["metrics"]
            .as_array()
            .and_then(|m| m.iter().find(|f| f["name"] == "headroom_requests").cloned());
        if let Some(r) = requests.filter(|r| r["series"][0]["value"] == 1.0) {
            seen = Some((v, r));
            break;
        }
    }
    let (line, requests) = seen.expect("a console export counting the request");
    assert_eq!(requests["kind"], "counter");
    assert_eq!(line["resource"]["service.name"], "headroom");
    assert_eq!(line["resource"]["headroom.sdk"], "python");
    // The request log is written every 50 ms.
    let tagged = wait_for(Duration::from_secs(10), || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .any(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| v["sdk"] == "python"))
    })
    .await;
    assert!(tagged, "a request-log line tagged with the SDK");
    assert!(got.posts.lock().expect("lock").is_empty(), "nothing went to Langfuse");
    let _ = std::fs::remove_dir_all(&dir);
}
