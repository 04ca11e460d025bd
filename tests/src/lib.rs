//! Test support: the component runtime (loaded once), native counting, option conversion,
//! and the golden corpus loader.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use headroom_core::{ContextStrategy, Dialect, Mode, Options};
use headroom_runtime::{Runtime, RuntimeConfig, wit};

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The core component, built by `just component`, loaded once per test binary.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let path = std::env::var_os("HEADROOM_COMPONENT")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("target/wasm/headroom-core.wasm"));
        Runtime::from_file(&path, &RuntimeConfig::default())
            .unwrap_or_else(|e| panic!("{e} (build the component first: `just component`)"))
    })
}

/// Exact o200k counts, as the native hosts use.
pub fn count(text: &str) -> u32 {
    headroom_tokenizer::O200k::count(text)
}

/// The same options for the component.
pub fn wit_options(o: &Options) -> wit::Options {
    wit::Options {
        mode: Some(match o.mode {
            Mode::Cache => wit::Mode::Cache,
            Mode::Token => wit::Mode::Token,
        }),
        frozen_count: Some(o.frozen_count),
        min_tokens: Some(o.min_tokens),
        protected_tools: Some(o.protected_tools.clone()),
        query: o.query.clone(),
        offload_after_turns: Some(o.offload_after_turns),
        offload_batch_tokens: Some(o.offload_batch_tokens),
        lossy: Some(o.lossy),
        context_limit: o.context_limit,
        context_strategy: Some(match o.context_strategy {
            ContextStrategy::Scored => wit::ContextStrategy::Scored,
            ContextStrategy::Position => wit::ContextStrategy::Position,
            ContextStrategy::Rolling => wit::ContextStrategy::Rolling,
            ContextStrategy::Off => wit::ContextStrategy::Off,
        }),
        compress_first: Some(o.compress_first),
        code_aware: Some(o.code_aware),
    }
}

/// The component's dialect for an engine dialect.
pub fn wit_dialect(d: Dialect) -> wit::Dialect {
    match d {
        Dialect::AnthropicMessages => wit::Dialect::AnthropicMessages,
        Dialect::OpenAiChat => wit::Dialect::OpenaiChat,
        Dialect::OpenAiResponses => wit::Dialect::OpenaiResponses,
    }
}

/// Compress a request natively; returns the forwarded bytes.
pub fn native_request(d: Dialect, body: &[u8], o: &Options) -> Vec<u8> {
    let outcome =
        headroom_core::compress_request(d, body, o, &count).unwrap_or_else(|e| panic!("native: {e}"));
    outcome.body.unwrap_or_else(|| body.to_vec())
}

/// Compress a request through the component; returns the forwarded bytes.
pub fn component_request(d: Dialect, body: &[u8], o: &Options) -> Vec<u8> {
    let outcome = runtime()
        .compress_request(wit_dialect(d), body, &wit_options(o))
        .unwrap_or_else(|e| panic!("component trapped: {e}"))
        .unwrap_or_else(|e| panic!("component error: {e:?}"));
    outcome.body.unwrap_or_else(|| body.to_vec())
}

/// One golden case: `tests/golden/<name>/` with `input.json` (a request) or `input.txt` (a
/// tool output), `case.json` (source, dialect, query, mode) and `expected.*`.
pub struct GoldenCase {
    /// Folder name.
    pub name: String,
    /// Folder.
    pub dir: PathBuf,
    /// Request dialect, or `None` for a single text.
    pub dialect: Option<Dialect>,
    /// Options.
    pub options: Options,
    /// Input bytes.
    pub input: Vec<u8>,
}

impl GoldenCase {
    /// The expected-output file.
    pub fn expected_path(&self) -> PathBuf {
        self.dir.join(if self.dialect.is_some() { "expected.json" } else { "expected.txt" })
    }
}

/// Every golden case, sorted by name.
pub fn golden_cases() -> Vec<GoldenCase> {
    case_dirs("tests/golden").iter().map(|d| load_case(d)).collect()
}

/// The folders holding a `case.json` under `folder` (from the repository root), sorted.
fn case_dirs(folder: &str) -> Vec<PathBuf> {
    let dir = root().join(folder);
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.json").exists())
        .collect();
    dirs.sort();
    dirs
}

fn load_case(dir: &Path) -> GoldenCase {
    let read = |p: PathBuf| std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let meta: serde_json::Value = serde_json::from_slice(&read(dir.join("case.json")))
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let dialect = match meta["dialect"].as_str() {
        Some("anthropic") => Some(Dialect::AnthropicMessages),
        Some("openai-chat") => Some(Dialect::OpenAiChat),
        Some("openai-responses") => Some(Dialect::OpenAiResponses),
        _ => None,
    };
    let options = case_options(&meta);
    let input = read(dir.join(if dialect.is_some() { "input.json" } else { "input.txt" }));
    GoldenCase {
        name: dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        dir: dir.to_owned(),
        dialect,
        options,
        input,
    }
}

/// The options a golden case's `case.json` states (`mode`, `query`, `min_tokens`,
/// `offload_batch_tokens`); the engine's defaults otherwise, and cache mode.
pub fn case_options(meta: &serde_json::Value) -> Options {
    Options {
        mode: if meta["mode"].as_str() == Some("token") { Mode::Token } else { Mode::Cache },
        query: meta["query"].as_str().map(str::to_owned),
        min_tokens: meta["min_tokens"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(headroom_core::DEFAULT_MIN_TOKENS),
        offload_batch_tokens: meta["offload_batch_tokens"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(headroom_core::batch::DEFAULT_BATCH_TOKENS),
        ..Options::default()
    }
}

/// One message-list golden case: `tests/golden-messages/<name>/` with `input.json` (a JSON
/// array of messages), `case.json` (source; `format`, `model`, `system` as `compress-messages`
/// takes them; options as for the golden corpus) and `expected.json` (the outcome as
/// [`messages_outcome_json`] writes it).
pub struct MessagesCase {
    /// Folder name.
    pub name: String,
    /// Folder.
    pub dir: PathBuf,
    /// The stated format, if any.
    pub dialect: Option<Dialect>,
    /// The model, if any.
    pub model: Option<String>,
    /// The Anthropic system prompt as JSON, if any.
    pub system: Option<String>,
    /// Options.
    pub options: Options,
    /// The messages, as committed.
    pub input: String,
}

/// Every message-list golden case, sorted by name.
pub fn messages_cases() -> Vec<MessagesCase> {
    case_dirs("tests/golden-messages")
        .iter()
        .map(|d| {
            let read =
                |p: PathBuf| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let meta: serde_json::Value = serde_json::from_str(&read(d.join("case.json")))
                .unwrap_or_else(|e| panic!("{}: {e}", d.display()));
            MessagesCase {
                name: d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                dir: d.clone(),
                dialect: meta["format"].as_str().map(|f| match f {
                    "anthropic" => Dialect::AnthropicMessages,
                    "openai" => Dialect::OpenAiChat,
                    "openai-responses" => Dialect::OpenAiResponses,
                    other => panic!("{}: unknown format {other}", d.display()),
                }),
                model: meta["model"].as_str().map(str::to_owned),
                system: meta.get("system").map(serde_json::Value::to_string),
                options: case_options(&meta),
                input: read(d.join("input.json")),
            }
        })
        .collect()
}

/// A format's name, as `POST /v1/compress` and the npm package give it.
pub fn format_name(d: Dialect) -> &'static str {
    match d {
        Dialect::AnthropicMessages => "anthropic",
        Dialect::OpenAiChat => "openai",
        Dialect::OpenAiResponses => "openai-responses",
    }
}

/// The part of a message-list outcome both runners compare: format, messages, counts,
/// transforms and keys (the shape of `POST /v1/compress`'s answer).
pub fn messages_outcome_json(
    format: Dialect,
    messages: &str,
    tokens: (u64, u64),
    transforms: Vec<String>,
    keys: Vec<String>,
) -> serde_json::Value {
    let messages: serde_json::Value =
        serde_json::from_str(messages).unwrap_or_else(|e| panic!("the messages are not JSON: {e}"));
    serde_json::json!({
        "format": format_name(format),
        "messages": messages,
        "tokens_before": tokens.0,
        "tokens_after": tokens.1,
        "transforms_applied": transforms,
        "ccr_hashes": keys,
    })
}

/// Command outputs from the committed agent trajectories (`tests/data/`; inner text of
/// `<output>` elements), for
/// tests that need realistic blocks; at most `limit`, from the first trajectories by name.
pub fn corpus_outputs(limit: usize) -> Vec<String> {
    let dir = root().join("tests/data/swe-agent-trajectories");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".traj.json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&f).unwrap_or_default()).unwrap_or_default();
        for m in v["messages"].as_array().into_iter().flatten() {
            let text = m["content"].as_str().unwrap_or_default();
            for r in headroom_core::request::machine_output::find(text) {
                out.push(text[r].to_owned());
                if out.len() >= limit {
                    return out;
                }
            }
        }
    }
    out
}

/// An OpenAI Chat conversation as (role, content) pairs, from one trajectory.
pub fn corpus_conversation(name: &str) -> Vec<(String, String)> {
    let path = root().join("tests/data/swe-agent-trajectories").join(name);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
            .unwrap_or_default();
    v["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_owned(),
                m["content"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// An OpenAI Chat body for the given messages.
pub fn openai_body(messages: &[(String, String)]) -> Vec<u8> {
    let ms: Vec<serde_json::Value> =
        messages.iter().map(|(r, c)| serde_json::json!({"role": r, "content": c})).collect();
    serde_json::to_vec(&serde_json::json!({"model": "gpt-4o", "messages": ms})).unwrap_or_default()
}

/// The raw JSON text of each message of a body (`messages` or Responses `input`).
pub fn raw_messages(body: &[u8]) -> Vec<String> {
    let v: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(body).unwrap_or_else(|e| panic!("body is not a JSON object: {e}"));
    let list =
        v.get("messages").or_else(|| v.get("input")).and_then(|m| m.as_array()).cloned().unwrap_or_default();
    list.iter().map(|m| serde_json::to_string(m).unwrap_or_default()).collect()
}
