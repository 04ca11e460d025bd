//! One session of `../shared/corpus/claude-code-sessions/cases/*.json` and the request bodies
//! it stands for.
//!
//! A case stores each conversation once; request k is
//! `{model, max_tokens, system, tools, messages: conversations[conv].messages[:n_messages]}`
//! (`build.py`'s `materialize`, same keys in the same order). Messages are serialized once per
//! conversation, so a body is a concatenation of strings and every unchanged message is
//! byte-identical from one request to the next, as the agent resent it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use headroom_tokenizer::O200k;
use serde_json::Value;

use super::text::{message_text, result_parts};

/// The provider's accounting of the call that answered a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    /// Uncached input tokens.
    pub input: u64,
    /// Tokens written at the 5-minute TTL.
    pub cache_write_5m: u64,
    /// Tokens written at the 1-hour TTL.
    pub cache_write_1h: u64,
    /// Tokens read from the cache.
    pub cache_read: u64,
}

impl Usage {
    /// The call's whole input context.
    pub fn context(&self) -> u64 {
        self.input + self.cache_write_5m + self.cache_write_1h + self.cache_read
    }
}

/// A string the agent's next turn used that only the newest output held.
#[derive(Debug, Clone)]
pub struct NextRef {
    /// `path`, `ident`, `quote`, `line` or `string`.
    pub kind: String,
    /// The string itself.
    pub text: String,
}

/// The standard window of Claude models, in tokens.
const STANDARD_WINDOW: u64 = 200_000;
/// The window a session had when a real call of it held more than [`STANDARD_WINDOW`]: Claude
/// Code then ran the model with its 1M-token window (the `context-1m` beta, which the proxy
/// honours), so the replay passes it as `context_limit` the way the proxy would.
pub const LARGE_WINDOW: u32 = 1_000_000;

/// One request of a session.
#[derive(Debug, Clone)]
pub struct Request {
    /// 1-based position in the session.
    pub k: usize,
    /// Index of its conversation.
    pub conv: usize,
    /// Messages of that conversation it carries.
    pub n_messages: usize,
    /// Model named in the body.
    pub model: String,
    /// The real call's usage, when it was matched.
    pub usage: Option<Usage>,
    /// Strings the next turn took from the newest output.
    pub next_refs: Vec<NextRef>,
}

/// The texts the engine may report at one (message, block) position: the tool_use id of each
/// result there (`None` for a user text block) and the text it would count.
pub type Slot = Vec<(Option<String>, String)>;

/// One conversation: its messages as serialized JSON and what the replay needs about them.
pub struct Conversation {
    /// Each message, serialized compactly in the case's key order.
    pub messages: Vec<String>,
    /// o200k tokens of each message's text (see [`message_text`]).
    pub tokens: Vec<u64>,
    /// tool_use id -> tool name.
    pub tool_names: HashMap<String, String>,
    /// tool_use id -> the text parts of its result, as the agent sent them.
    pub outputs: HashMap<String, Vec<String>>,
    /// Every tool result in order: (message index, tool_use id).
    pub results: Vec<(usize, String)>,
    /// Per (message, block index as the engine reports it): the tool_use ids of results there
    /// (`None` for other text), with the text the engine would count.
    pub slots: HashMap<(u32, u32), Slot>,
}

/// One session.
pub struct Case {
    /// Case id (file stem).
    pub id: String,
    /// `usage_summary.ttl`: `1h`, `5m`, `mixed` or absent.
    pub ttl: Option<String>,
    /// The context window the session ran with, when its real usage proves it was larger than
    /// its model's standard one (see [`LARGE_WINDOW`]).
    pub window: Option<u32>,
    /// Serialized `max_tokens`, `system` and `tools`.
    fixed: [String; 3],
    /// The conversations.
    pub conversations: Vec<Conversation>,
    /// Requests in session order.
    pub requests: Vec<Request>,
}

impl Case {
    /// The request body of `r`, as the agent sent it.
    pub fn body(&self, r: &Request) -> Vec<u8> {
        let msgs = &self.conversations[r.conv].messages[..r.n_messages];
        let size =
            msgs.iter().map(String::len).sum::<usize>() + self.fixed.iter().map(String::len).sum::<usize>();
        let mut out = String::with_capacity(size + msgs.len() + 128);
        out.push_str("{\"model\":");
        out.push_str(&Value::String(r.model.clone()).to_string());
        for (key, value) in ["max_tokens", "system", "tools"].iter().zip(&self.fixed) {
            out.push_str(",\"");
            out.push_str(key);
            out.push_str("\":");
            out.push_str(value);
        }
        out.push_str(",\"messages\":[");
        for (i, m) in msgs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(m);
        }
        out.push_str("]}");
        out.into_bytes()
    }

    /// True when `r` is the last request of its conversation.
    pub fn is_last_of_conversation(&self, index: usize) -> bool {
        self.requests.get(index + 1).is_none_or(|next| next.conv != self.requests[index].conv)
    }
}

/// The corpus folder: `--corpus DIR`, else `../shared/corpus/claude-code-sessions` beside the
/// repository. Fails with what to do when it is missing.
pub fn corpus_dir(arg: Option<&str>) -> Result<PathBuf> {
    let dir = match arg {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/claude-code-sessions"),
    };
    if !dir.join("cases").is_dir() {
        bail!(
            "the Claude Code sessions corpus is not at {} (expected a cases/ folder of *.json there); \
             put ../shared/corpus/claude-code-sessions beside the repository or pass --corpus DIR",
            dir.display()
        );
    }
    Ok(dir)
}

/// Every case in `dir/cases`, sorted by id.
pub fn load_all(dir: &Path) -> Result<Vec<Case>> {
    let cases = dir.join("cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&cases)
        .with_context(|| format!("reading {}", cases.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("no cases in {}", cases.display());
    }
    files.iter().map(|p| load(p).with_context(|| format!("loading {}", p.display()))).collect()
}

fn load(path: &Path) -> Result<Case> {
    let v: Value = serde_json::from_slice(&std::fs::read(path)?)?;
    let id = v["id"].as_str().context("no id")?.to_owned();
    let fixed = ["max_tokens", "system", "tools"].map(|k| v[k].to_string());
    let conversations = v["conversations"]
        .as_array()
        .context("no conversations")?
        .iter()
        .map(|c| conversation(c["messages"].as_array().map(Vec::as_slice).unwrap_or_default()))
        .collect::<Result<Vec<_>>>()?;
    let default_model = v["model"].as_str().unwrap_or_default();
    let requests = v["requests"]
        .as_array()
        .context("no requests")?
        .iter()
        .map(|r| request(r, default_model))
        .collect::<Result<Vec<_>>>()?;
    for r in &requests {
        let n = conversations.get(r.conv).map_or(0, |c| c.messages.len());
        if r.n_messages == 0 || r.n_messages > n {
            bail!("request {} names {} messages of conversation {} ({n} there)", r.k, r.n_messages, r.conv);
        }
    }
    let ttl = v["usage_summary"]["ttl"].as_str().map(str::to_owned);
    let window = requests
        .iter()
        .any(|r| r.usage.is_some_and(|u| u.context() > STANDARD_WINDOW))
        .then_some(LARGE_WINDOW);
    Ok(Case { id, ttl, window, fixed, conversations, requests })
}

fn request(r: &Value, default_model: &str) -> Result<Request> {
    let n = |k: &str| r[k].as_u64().map(|x| x as usize).with_context(|| format!("request without {k}"));
    let usage = r.get("usage").map(|u| {
        let f = |k: &str| u[k].as_u64().unwrap_or(0);
        Usage {
            input: f("input"),
            cache_write_5m: f("cache_write_5m"),
            cache_write_1h: f("cache_write_1h"),
            cache_read: f("cache_read"),
        }
    });
    let next_refs = r["next_refs"]
        .as_array()
        .map(|refs| {
            refs.iter()
                .filter_map(|x| {
                    Some(NextRef {
                        kind: x["kind"].as_str()?.to_owned(),
                        text: x["ref"].as_str()?.to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Request {
        k: n("k")?,
        conv: n("conv")?,
        n_messages: n("n_messages")?,
        model: r["model"].as_str().unwrap_or(default_model).to_owned(),
        usage,
        next_refs,
    })
}

fn conversation(messages: &[Value]) -> Result<Conversation> {
    let mut c = Conversation {
        messages: Vec::with_capacity(messages.len()),
        tokens: Vec::with_capacity(messages.len()),
        tool_names: HashMap::new(),
        outputs: HashMap::new(),
        results: Vec::new(),
        slots: HashMap::new(),
    };
    for (i, m) in messages.iter().enumerate() {
        c.messages.push(serde_json::to_string(m)?);
        c.tokens.push(u64::from(O200k::count(&message_text(m))));
        let user = m["role"] == "user";
        for (b, block) in m["content"].as_array().map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
            let id = || block["tool_use_id"].as_str().unwrap_or_default().to_owned();
            match block["type"].as_str() {
                Some("tool_use") => {
                    let id = block["id"].as_str().unwrap_or_default().to_owned();
                    c.tool_names.insert(id, block["name"].as_str().unwrap_or_default().to_owned());
                }
                Some("tool_result") if user => {
                    let parts = result_parts(block);
                    // The engine numbers a string result by its block, the parts of an array
                    // result by their index inside it.
                    if block["content"].is_string() {
                        c.slot(i, b).push((Some(id()), parts.first().cloned().unwrap_or_default()));
                    } else {
                        for (j, p) in parts.iter().enumerate() {
                            c.slot(i, j).push((Some(id()), p.clone()));
                        }
                    }
                    c.outputs.insert(id(), parts);
                    c.results.push((i, id()));
                }
                Some("text") if user => {
                    let text = block["text"].as_str().unwrap_or_default().to_owned();
                    c.slot(i, b).push((None, text));
                }
                _ => {}
            }
        }
    }
    Ok(c)
}

impl Conversation {
    fn slot(&mut self, message: usize, block: usize) -> &mut Slot {
        self.slots.entry((message as u32, block as u32)).or_default()
    }

    /// The tool_use id of the result the engine reported at (message, block) with
    /// `tokens_before` tokens; `None` for text that is not a tool result.
    pub fn result_at(&self, message: u32, block: u32, tokens_before: u32) -> Option<&str> {
        let slot = self.slots.get(&(message, block))?;
        let pick = match slot.as_slice() {
            [only] => only,
            // Rare: an array result's part index meets another block's index.
            many => many.iter().find(|(_, text)| O200k::count(text) == tokens_before)?,
        };
        pick.0.as_deref()
    }
}
