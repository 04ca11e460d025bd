//! Real client traffic through the proxy: request bodies and headers recorded from Claude Code
//! 2.1.197 and Codex 0.171.0 running a short agent loop over real files
//! (`tests/clients/README.md` says how, and what each file holds), replayed in both modes.
//!
//! Each replay asserts the structure the client relies on (valid JSON, the same messages or input
//! items with their roles, types and ids, every call paired with its result, the client's tools
//! and unknown fields kept, its headers forwarded) and checks what the engine did to each tool
//! output: big outputs smaller, error and warning lines kept, the whole request never dearer.

mod support;

use std::fmt::Write as _;
use std::path::PathBuf;

use headroom_proxy::config::ModeArg;
use headroom_tokenizer::O200k;
use serde_json::Value;
use support::{config, start_mock, start_proxy};

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().expect("client")
}

/// One recorded request: the exact body bytes, the path with its query, the headers as sent.
struct Recording {
    name: String,
    body: Vec<u8>,
    path: String,
    headers: Vec<(String, String)>,
}

fn recordings_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/recordings")
}

fn load(name: &str) -> Recording {
    let dir = recordings_dir();
    let body = std::fs::read(dir.join(format!("{name}.json"))).expect("recorded body");
    let meta: Value =
        serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.headers.json"))).expect("headers"))
            .expect("headers json");
    let headers = meta["headers"]
        .as_array()
        .expect("headers list")
        .iter()
        .map(|h| (h[0].as_str().expect("name").to_owned(), h[1].as_str().expect("value").to_owned()))
        .collect();
    Recording { name: name.to_owned(), body, path: meta["path"].as_str().expect("path").to_owned(), headers }
}

/// Headers the proxy drops or recomputes on the way (hop-by-hop, framing, transport encoding).
const NOT_FORWARDED: &[&str] =
    &["host", "content-length", "connection", "accept-encoding", "transfer-encoding"];

/// Send a recording through a proxy in `mode`; return the body and headers the upstream got.
async fn replay(rec: &Recording, mode: ModeArg) -> (Value, http::HeaderMap) {
    let mock = start_mock().await;
    let mut cfg = config(&mock.url);
    cfg.mode = mode;
    let proxy = start_proxy(cfg).await;
    let mut request = client().post(format!("{}{}", proxy.url, rec.path)).body(rec.body.clone());
    for (k, v) in &rec.headers {
        if !NOT_FORWARDED.contains(&k.to_ascii_lowercase().as_str()) {
            request = request.header(k, v);
        }
    }
    // The recorder dropped credentials; the CLIs sent these test keys.
    request = if rec.path.starts_with("/v1/messages") {
        request.header("x-api-key", "sk-ant-test")
    } else {
        request.header("authorization", "Bearer sk-test")
    };
    let response = request.send().await.expect("send");
    assert_eq!(response.status(), 200, "{}: status", rec.name);
    let _ = response.bytes().await.expect("response body");
    let path = rec.path.split('?').next().expect("path");
    let hit = mock.hits().into_iter().rev().find(|h| h.path == path).expect("forwarded upstream");
    let sent: Value = serde_json::from_slice(&hit.body).expect("the upstream got valid JSON");
    (sent, hit.headers)
}

fn assert_headers_kept(rec: &Recording, got: &http::HeaderMap) {
    for (k, v) in &rec.headers {
        if NOT_FORWARDED.contains(&k.to_ascii_lowercase().as_str()) {
            continue;
        }
        let forwarded = got.get(k.as_str()).and_then(|x| x.to_str().ok());
        assert_eq!(forwarded, Some(v.as_str()), "{}: header {k} not forwarded as sent", rec.name);
    }
}

/// The client's tools come first, unchanged; the proxy may only append its own retrieval tool.
fn assert_tools_kept(name: &str, original: Option<&Value>, sent: Option<&Value>) {
    let orig = original.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let sent = sent.and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    assert!(sent.len() >= orig.len(), "{name}: tools dropped");
    assert_eq!(&sent[..orig.len()], orig, "{name}: the client's tools changed");
    for extra in &sent[orig.len()..] {
        let n = extra["name"].as_str().or_else(|| extra["function"]["name"].as_str());
        assert_eq!(n, Some("headroom_retrieve"), "{name}: unexpected tool added: {extra}");
    }
}

/// Every top-level field other than those listed is forwarded unchanged, in the same order; a
/// `tools` field may be added only to carry the retrieval tool.
fn assert_fields_kept(name: &str, original: &Value, sent: &Value, rewritten: &[&str]) {
    let (o, s) = (original.as_object().expect("object"), sent.as_object().expect("object"));
    let sent_keys: Vec<&String> = s.keys().filter(|k| o.contains_key(*k)).collect();
    assert_eq!(sent_keys, o.keys().collect::<Vec<_>>(), "{name}: top-level fields or their order changed");
    for k in s.keys().filter(|k| !o.contains_key(*k)) {
        assert_eq!(k, "tools", "{name}: field {k} added");
    }
    for (k, v) in o {
        if !rewritten.contains(&k.as_str()) {
            assert_eq!(&s[k], v, "{name}: field {k} changed");
        }
    }
}

/// A tool output as sent by the client and as forwarded, with the call that produced it.
struct Output {
    id: String,
    call: String,
    original: String,
    sent: String,
}

/// Anthropic Messages: structure kept; returns every tool_result's text, original and forwarded.
fn anthropic_outputs(name: &str, original: &Value, sent: &Value) -> Vec<Output> {
    assert_fields_kept(name, original, sent, &["messages", "tools"]);
    assert_tools_kept(name, original.get("tools"), sent.get("tools"));
    let (om, sm) =
        (original["messages"].as_array().expect("messages"), sent["messages"].as_array().expect("messages"));
    assert_eq!(om.len(), sm.len(), "{name}: message count");
    let mut outputs = Vec::new();
    let mut calls: Vec<(String, String)> = Vec::new();
    for (i, (o, s)) in om.iter().zip(sm).enumerate() {
        assert_eq!(o["role"], s["role"], "{name}: message {i} role");
        let (Some(ob), Some(sb)) = (o["content"].as_array(), s["content"].as_array()) else {
            assert_eq!(o, s, "{name}: message {i} (string content) changed");
            continue;
        };
        assert_eq!(ob.len(), sb.len(), "{name}: message {i} block count");
        for (j, (a, b)) in ob.iter().zip(sb).enumerate() {
            assert_eq!(a["type"], b["type"], "{name}: message {i} block {j} type");
            if a["type"] != "tool_result" {
                assert_eq!(a, b, "{name}: message {i} block {j} ({}) changed", a["type"]);
                continue;
            }
            let (ao, bo) = (a.as_object().expect("block"), b.as_object().expect("block"));
            assert_eq!(
                ao.keys().collect::<Vec<_>>(),
                bo.keys().collect::<Vec<_>>(),
                "{name}: tool_result fields"
            );
            for (k, v) in ao.iter().filter(|(k, _)| *k != "content") {
                assert_eq!(&bo[k], v, "{name}: message {i} tool_result field {k}");
            }
            let id = a["tool_use_id"].as_str().expect("tool_use_id").to_owned();
            let call = calls.iter().find(|(c, _)| *c == id).map(|(_, d)| d.clone());
            let call = call.unwrap_or_else(|| panic!("{name}: tool_result {id} answers no earlier tool_use"));
            outputs.push(Output { id, call, original: text_of(&a["content"]), sent: text_of(&b["content"]) });
        }
        if o["role"] == "assistant" {
            calls.clear();
            for b in ob.iter().filter(|b| b["type"] == "tool_use") {
                let id = b["id"].as_str().expect("tool_use id").to_owned();
                calls.push((id, format!("{} {}", b["name"].as_str().unwrap_or("?"), b["input"])));
            }
        }
    }
    outputs
}

/// OpenAI Responses: structure kept; returns every function/custom tool output, original and forwarded.
fn responses_outputs(name: &str, original: &Value, sent: &Value) -> Vec<Output> {
    assert_fields_kept(name, original, sent, &["input", "tools"]);
    assert_tools_kept(name, original.get("tools"), sent.get("tools"));
    let (oi, si) = (original["input"].as_array().expect("input"), sent["input"].as_array().expect("input"));
    assert_eq!(oi.len(), si.len(), "{name}: input item count");
    let mut calls: Vec<(String, String)> = Vec::new();
    let mut outputs = Vec::new();
    for (i, (a, b)) in oi.iter().zip(si).enumerate() {
        assert_eq!(a["type"], b["type"], "{name}: item {i} type");
        assert_eq!(a.get("role"), b.get("role"), "{name}: item {i} role");
        let kind = a["type"].as_str().unwrap_or_default();
        if kind == "function_call" || kind == "custom_tool_call" {
            let what = if kind == "function_call" { &a["arguments"] } else { &a["input"] };
            calls.push((a["call_id"].as_str().expect("call_id").to_owned(), format!("{} {what}", a["name"])));
        }
        if kind != "function_call_output" && kind != "custom_tool_call_output" {
            assert_eq!(a, b, "{name}: item {i} ({kind}) changed");
            continue;
        }
        let (ao, bo) = (a.as_object().expect("item"), b.as_object().expect("item"));
        assert_eq!(ao.keys().collect::<Vec<_>>(), bo.keys().collect::<Vec<_>>(), "{name}: item {i} fields");
        for (k, v) in ao.iter().filter(|(k, _)| *k != "output") {
            assert_eq!(&bo[k], v, "{name}: item {i} field {k}");
        }
        match (&a["output"], &b["output"]) {
            (Value::String(_), Value::String(_)) => {}
            (Value::Array(x), Value::Array(y)) => {
                assert_eq!(x.len(), y.len(), "{name}: item {i} output parts");
                for (p, q) in x.iter().zip(y) {
                    assert_eq!(p["type"], q["type"], "{name}: item {i} output part type");
                }
            }
            (x, y) => panic!("{name}: item {i} output changed shape: {x} -> {y}"),
        }
        let id = a["call_id"].as_str().expect("call_id").to_owned();
        let call = calls.iter().find(|(c, _)| *c == id).map(|(_, d)| d.clone());
        let call = call.unwrap_or_else(|| panic!("{name}: output {id} answers no earlier call"));
        outputs.push(Output { id, call, original: text_of(&a["output"]), sent: text_of(&b["output"]) });
    }
    outputs
}

/// A tool output's text: a string, or its text parts joined.
fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect(),
        other => other.to_string(),
    }
}

/// The error lines of `tests/clients/workdir/postgresql.log` (4 ERROR, 1 FATAL), by a part of
/// each that reads the same raw and JSON-escaped.
const ERROR_LINES: &[&str] = &[
    "ERROR:  duplicate key value violates unique constraint",
    "ERROR:  division by zero",
    "does not exist at character 15",
    "ERROR:  syntax error at or near",
    "FATAL:  database",
];

/// The log's one `WARNING` line: a rare line among ~800 `LOG` lines, the kind of anomaly issue 8
/// says a log transform keeps verbatim.
const WARNING_LINES: &[&str] = &["WARNING:  there is no transaction in progress"];

#[derive(Clone, Copy, PartialEq)]
enum Want {
    /// The output reaches the provider in fewer tokens.
    Smaller,
    /// Every error line the output holds reaches the provider (verbatim, not behind a marker).
    ErrorsKept,
    /// The log's rare `WARNING` line reaches the provider too.
    WarningKept,
}

/// One expectation about one tool output (by its call id) of one recording.
struct Check {
    id: &'static str,
    want: Want,
}

const fn on(id: &'static str, want: Want) -> Check {
    Check { id, want }
}

/// Claude Code's loop (`mock_upstream.py::claude_code_steps`): toolu_mock_00 Read of the JSON file
/// (53.8 KB, `N\t` numbered), 01 Bash `cat` of the log (a `<persisted-output>` 2 KB preview), 02 Grep
/// content, 03 Grep files, 04 Grep count, 05 Read offset 300 limit 40, 06 Read of the whole log (a
/// partial view, 86.8 KB), 07 Glob, 08 Bash exiting 3.
const CLAUDE_CODE: &[Check] = &[
    on("toolu_mock_00", Want::Smaller),
    on("toolu_mock_06", Want::Smaller),
    on("toolu_mock_02", Want::ErrorsKept),
    on("toolu_mock_02", Want::WarningKept),
    on("toolu_mock_06", Want::ErrorsKept),
    // Token mode's offloaded view of the partial Read (30,940 -> about 900 tokens) keeps the
    // log's first warnings as well as its error lines.
    on("toolu_mock_06", Want::WarningKept),
];

/// Codex with `exec_command` (`-m gpt-5.5`): call_mock_00 `cat` of the JSON file (40 KB, header,
/// middle-truncated so no longer valid JSON), 01 `cat` of the log (40 KB, header, truncated), 02 grep,
/// 03 sed exiting 3, 04 apply_patch.
const CODEX_EXEC_COMMAND: &[Check] = &[
    on("call_mock_00", Want::Smaller),
    on("call_mock_01", Want::Smaller),
    on("call_mock_02", Want::ErrorsKept),
    on("call_mock_02", Want::WarningKept),
];

/// Codex code mode (default model): the same commands through the `exec` JavaScript tool, each output
/// a list of two `input_text` parts (a `Script completed` header, then the text): call_mock_00 the
/// JSON file (`text(r.output)`), 01 the log as a JSON envelope (`text(r)`), 02 grep, 03 sed as an
/// envelope, 04 apply_patch.
const CODEX_CODE_MODE: &[Check] = &[
    // Each output is a list of `input_text` parts (the `Script completed` header part, then the
    // text); 00 is the JSON file after Codex's truncation note, 01 a JSON envelope
    // `{"chunk_id":…,"output":"…"}` around the truncated log.
    on("call_mock_00", Want::Smaller),
    on("call_mock_01", Want::Smaller),
    on("call_mock_02", Want::ErrorsKept),
    on("call_mock_02", Want::WarningKept),
];

struct Verdict {
    line: String,
    ok: bool,
}

fn judge(name: &str, mode_arg: ModeArg, outputs: &[Output], checks: &[Check]) -> Vec<Verdict> {
    let mode = if mode_arg == ModeArg::Token { "token" } else { "cache" };
    let mut verdicts = Vec::new();
    for c in checks {
        let o = outputs.iter().find(|o| o.id == c.id).unwrap_or_else(|| panic!("{name}: no output {}", c.id));
        let (before, after) = (O200k::count(&o.original), O200k::count(&o.sent));
        let (ok, what) = match c.want {
            Want::Smaller => (after < before, format!("{before} -> {after} tokens")),
            Want::ErrorsKept | Want::WarningKept => {
                let lines = if c.want == Want::ErrorsKept { ERROR_LINES } else { WARNING_LINES };
                let held: Vec<&&str> = lines.iter().filter(|e| o.original.contains(**e)).collect();
                assert!(!held.is_empty(), "{name}: {} holds no error line to check", c.id);
                let lost: Vec<&&str> = held.iter().copied().filter(|e| !o.sent.contains(**e)).collect();
                (lost.is_empty(), format!("{} of {} kept {lost:?}", held.len() - lost.len(), held.len()))
            }
        };
        let want = match c.want {
            Want::Smaller => "smaller",
            Want::ErrorsKept => "error lines kept",
            Want::WarningKept => "warning kept",
        };
        let call: String = o.call.chars().take(90).collect();
        let line = format!("{name} [{mode}] {} {want}: {what} ({call})", c.id);
        verdicts.push(Verdict { line, ok });
    }
    verdicts
}

/// Replay every recording in `mode`: structure asserted; the checks judged.
async fn run(mode: ModeArg) -> Vec<Verdict> {
    let cases: [(&str, &[Check]); 3] = [
        ("claude-code/messages-final", CLAUDE_CODE),
        ("codex/responses-exec-command-final", CODEX_EXEC_COMMAND),
        ("codex/responses-code-mode-final", CODEX_CODE_MODE),
    ];
    let mut verdicts = Vec::new();
    for (name, checks) in cases {
        let rec = load(name);
        let original: Value = serde_json::from_slice(&rec.body).expect("recording is JSON");
        let (sent, headers) = replay(&rec, mode).await;
        assert_headers_kept(&rec, &headers);
        let outputs = if rec.path.starts_with("/v1/messages") {
            anthropic_outputs(name, &original, &sent)
        } else {
            responses_outputs(name, &original, &sent)
        };
        let (before, after) = (O200k::count(&original.to_string()), O200k::count(&sent.to_string()));
        let label = if mode == ModeArg::Token { "token" } else { "cache" };
        let mut line = format!("{name} [{label}] never dearer: request {before} -> {after} tokens; outputs:");
        for o in &outputs {
            let _ = write!(line, " {} {}->{}", o.id, O200k::count(&o.original), O200k::count(&o.sent));
        }
        verdicts.push(Verdict { line, ok: after <= before });
        verdicts.extend(judge(name, mode, &outputs, checks));
    }
    verdicts
}

/// Print every verdict (the figures are the point of reading this test's output); fail on any.
fn report(verdicts: &[Verdict]) {
    let mut failed = Vec::new();
    for v in verdicts {
        println!("{:>4}  {}", if v.ok { "ok" } else { "FAIL" }, v.line);
        if !v.ok {
            failed.push(v.line.clone());
        }
    }
    assert!(failed.is_empty(), "failed:\n{}", failed.join("\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn recorded_clients_through_the_proxy_in_cache_mode() {
    report(&run(ModeArg::Cache).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn recorded_clients_through_the_proxy_in_token_mode() {
    report(&run(ModeArg::Token).await);
}

/// Claude Code's `count_tokens` (it counts a file's raw text for `Read`'s cap): answered, and if
/// forwarded, forwarded as valid JSON of the same shape with its headers.
#[tokio::test(flavor = "multi_thread")]
async fn recorded_claude_code_count_tokens_is_answered() {
    let rec = load("claude-code/count-tokens");
    let original: Value = serde_json::from_slice(&rec.body).expect("json");
    for mode in [ModeArg::Cache, ModeArg::Token] {
        let mock = start_mock().await;
        let mut cfg = config(&mock.url);
        cfg.mode = mode;
        let proxy = start_proxy(cfg).await;
        let mut request = client().post(format!("{}{}", proxy.url, rec.path)).body(rec.body.clone());
        for (k, v) in
            rec.headers.iter().filter(|(k, _)| !NOT_FORWARDED.contains(&k.to_ascii_lowercase().as_str()))
        {
            request = request.header(k, v);
        }
        let response = request.header("x-api-key", "sk-ant-test").send().await.expect("send");
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.expect("a JSON answer");
        assert!(answer.is_object(), "{answer}");
        if let Some(hit) = mock.hits().into_iter().find(|h| h.path.starts_with("/v1/messages/count_tokens")) {
            assert_headers_kept(&rec, &hit.headers);
            let sent: Value = serde_json::from_slice(&hit.body).expect("valid JSON upstream");
            assert_fields_kept(&rec.name, &original, &sent, &["messages", "tools"]);
            assert_tools_kept(&rec.name, original.get("tools"), sent.get("tools"));
            assert_eq!(sent["messages"].as_array().map(Vec::len), Some(1));
            assert_eq!(sent["messages"][0]["role"], "user");
        }
    }
}
