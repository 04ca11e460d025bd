//! `headroom compress FILE`: run the component on a request body, a bare message list
//! (`--messages`: the engine's `compress-messages`, as `POST /v1/compress` runs it) or a tool
//! output.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use headroom_proxy::config::ModeArg;
use headroom_runtime::{Runtime, RuntimeConfig, wit};

/// Arguments of `headroom compress`.
#[derive(clap::Args)]
pub struct Args {
    /// A request body (Anthropic Messages, OpenAI Chat or Responses JSON) or any tool output.
    /// `-` reads standard input.
    file: PathBuf,
    /// `cache` rewrites each block once and the same way every turn; `token` (the default)
    /// also offloads tool outputs the agent has acted on, in batches that pay for themselves.
    /// The same values and aliases as `headroom proxy --mode`.
    #[arg(long, default_value = "token", env = "HEADROOM_MODE", value_enum)]
    mode: ModeArg,
    /// Treat the file as this request dialect instead of detecting it (the engine's rule: a
    /// body with `input` and no `messages` is Responses, otherwise its messages decide).
    #[arg(long, value_parser = ["anthropic", "openai-chat", "openai-responses", "text"])]
    dialect: Option<String>,
    /// The file is a bare list of messages (a JSON array; Responses: `input` items), compressed
    /// as `POST /v1/compress` does: its format from `--dialect`, else read from its shape.
    /// Prints the list; the summary gives the format and the list's token counts.
    #[arg(long)]
    messages: bool,
    /// With `--messages`: the model the list is for (only its context window is read).
    #[arg(long, requires = "messages")]
    model: Option<String>,
    /// Blocks below this many tokens are left alone.
    #[arg(long, env = "HEADROOM_MIN_TOKENS")]
    min_tokens: Option<u32>,
    /// In `token` mode, stale tokens that must be waiting before outputs are offloaded
    /// (default 12000; 0: every stale output at once).
    #[arg(long, env = "HEADROOM_OFFLOAD_BATCH_TOKENS")]
    offload_batch_tokens: Option<u32>,
    /// Relevance hint for a single tool output: lines mentioning its words are kept.
    #[arg(long)]
    query: Option<String>,
    /// Keep every transform lossless.
    #[arg(long)]
    lossless: bool,
    /// Where compiled code is kept between runs (as `headroom proxy --cache-dir`; default
    /// `~/.cache/headroom/wasmtime`).
    #[arg(long, env = "HEADROOM_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// The core component.
    #[arg(long, env = "HEADROOM_COMPONENT", default_value_os_t = headroom_proxy::config::default_component_path())]
    component: PathBuf,
}

pub fn run(args: &Args) -> Result<()> {
    let input = if args.file.as_os_str() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        buf
    } else {
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?
    };
    if !args.component.exists() {
        bail!("component not found at {} (build it with `just component`)", args.component.display());
    }
    let config = RuntimeConfig {
        cache_dir: headroom_proxy::config::cache_dir(args.cache_dir.clone()),
        ..RuntimeConfig::default()
    };
    let runtime = Runtime::from_file(&args.component, &config)?;
    let mut opts = headroom_runtime::default_options();
    opts.mode = Some(args.mode.wit());
    opts.min_tokens = args.min_tokens;
    opts.offload_batch_tokens = args.offload_batch_tokens;
    opts.query = args.query.clone();
    opts.lossy = args.lossless.then_some(false);

    if args.messages {
        return run_messages(&runtime, args, input, &opts);
    }
    let dialect = match args.dialect.as_deref() {
        Some("anthropic") => Some(wit::Dialect::AnthropicMessages),
        Some("openai-chat") => Some(wit::Dialect::OpenaiChat),
        Some("openai-responses") => Some(wit::Dialect::OpenaiResponses),
        Some(_) => None,
        None => headroom_core::messages::sniff_body(&input).map(headroom_proxy::dialect::from_core),
    };
    let mut out = std::io::stdout().lock();
    match dialect {
        Some(dialect) => {
            let outcome =
                runtime.compress_request(dialect, &input, &opts)?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            out.write_all(outcome.body.as_deref().unwrap_or(&input))?;
            let (mut before, mut after) = (0u64, 0u64);
            for b in &outcome.report {
                before += u64::from(b.tokens_before);
                after += u64::from(b.tokens_after);
                eprintln!(
                    "message {} block {}: {} {} tokens {} -> {}",
                    b.message_index,
                    b.block_index,
                    kind_name(&b.kind),
                    status_name(&b.status),
                    b.tokens_before,
                    b.tokens_after
                );
            }
            eprintln!(
                "blocks considered: {}; tokens {before} -> {after} ({} saved); originals to store: {}",
                outcome.report.len(),
                before - after,
                outcome.offloads.len()
            );
        }
        None => {
            let text = String::from_utf8(input).context("the input is not UTF-8 text")?;
            let outcome =
                runtime.compress_content(&text, None, &opts)?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
            out.write_all(outcome.text.as_deref().unwrap_or(&text).as_bytes())?;
            let saved = outcome.tokens_before - outcome.tokens_after;
            eprintln!(
                "{}: {} tokens {} -> {} ({saved} saved, {:.1}%); originals to store: {}",
                kind_name(&outcome.kind),
                outcome.transform,
                outcome.tokens_before,
                outcome.tokens_after,
                100.0 * f64::from(saved) / f64::from(outcome.tokens_before.max(1)),
                outcome.offloads.len()
            );
        }
    }
    Ok(())
}

/// `--messages`: the list through `compress-messages`.
fn run_messages(runtime: &Runtime, args: &Args, input: Vec<u8>, opts: &wit::Options) -> Result<()> {
    let dialect = match args.dialect.as_deref() {
        Some("anthropic") => Some(wit::Dialect::AnthropicMessages),
        Some("openai-chat") => Some(wit::Dialect::OpenaiChat),
        Some("openai-responses") => Some(wit::Dialect::OpenaiResponses),
        Some(other) => bail!("--messages takes a message format, not --dialect {other}"),
        None => None,
    };
    let messages = String::from_utf8(input).context("the input is not UTF-8 text")?;
    let list = headroom_runtime::MessageList { dialect, model: args.model.clone(), system: None, messages };
    let outcome = runtime.compress_messages(&list, opts)?.map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut out = std::io::stdout().lock();
    out.write_all(outcome.messages.as_deref().unwrap_or(&list.messages).as_bytes())?;
    let transforms: Vec<String> = outcome.report.iter().map(|b| status_name(&b.status)).collect();
    eprintln!(
        "format: {}; tokens {} -> {} ({} saved); blocks: [{}]; originals to store: {}",
        headroom_proxy::dialect::format_name(outcome.dialect),
        outcome.tokens_before,
        outcome.tokens_after,
        outcome.tokens_before.saturating_sub(outcome.tokens_after),
        transforms.join(", "),
        outcome.offloads.len()
    );
    Ok(())
}

fn kind_name(k: &wit::ContentKind) -> String {
    match k {
        wit::ContentKind::Json => "json".into(),
        wit::ContentKind::Log => "log".into(),
        wit::ContentKind::Search => "search".into(),
        wit::ContentKind::Diff => "diff".into(),
        wit::ContentKind::Code => "code".into(),
        wit::ContentKind::StackTrace => "stack-trace".into(),
        wit::ContentKind::TestOutput => "test-output".into(),
        wit::ContentKind::Listing => "listing".into(),
        wit::ContentKind::Prose => "prose".into(),
        wit::ContentKind::Other(s) => s.clone(),
    }
}

fn status_name(s: &wit::BlockStatus) -> String {
    match s {
        wit::BlockStatus::Compressed(t) => t.clone(),
        wit::BlockStatus::Declined(r) => format!("declined ({r:?})"),
    }
}
