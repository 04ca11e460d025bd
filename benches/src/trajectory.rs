//! mini-swe-agent trajectories (`../shared/corpus/swe-agent-trajectories`) as request bodies.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde_json::{Value, json};

/// One trajectory: role and text of each message.
pub struct Trajectory {
    /// File name.
    pub name: String,
    /// (role, content) pairs.
    pub messages: Vec<(String, String)>,
}

impl Trajectory {
    /// Indices k where message k is a command output answering message k-1 and the agent
    /// issued another command at k+1: the points where a request is sent upstream.
    pub fn steps(&self) -> Vec<usize> {
        (2..self.messages.len())
            .filter(|&k| self.messages[k].0 == "user" && self.messages[k].1.starts_with("<returncode>"))
            .collect()
    }

    /// The OpenAI Chat request an agent sends at step k (messages 0..=k).
    pub fn openai_request(&self, k: usize) -> Vec<u8> {
        let messages: Vec<Value> = self.messages[..=k]
            .iter()
            .map(|(role, content)| json!({"role": role, "content": content}))
            .collect();
        serde_json::to_vec(&json!({"model": "gpt-4o", "messages": messages})).unwrap_or_default()
    }
}

/// The corpus directory, found from the workspace.
pub fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/swe-agent-trajectories")
}

/// Load every `*.traj.json`, sorted by name.
pub fn load_all(dir: &Path) -> Result<Vec<Trajectory>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".traj.json"))
        .collect();
    files.sort();
    files.iter().map(|p| load(p)).collect()
}

fn load(path: &Path) -> Result<Trajectory> {
    let value: Value = serde_json::from_slice(&std::fs::read(path)?)?;
    let messages = value["messages"]
        .as_array()
        .context("no messages")?
        .iter()
        .map(|m| {
            (
                m["role"].as_str().unwrap_or_default().to_owned(),
                m["content"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Trajectory { name, messages })
}

/// Message contents of an OpenAI Chat body.
pub fn contents(body: &[u8]) -> Vec<String> {
    let value: Value = serde_json::from_slice(body).unwrap_or_default();
    value["messages"]
        .as_array()
        .map(|ms| ms.iter().map(|m| m["content"].as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

/// What one turn of the synthetic conversation adds.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Added {
    /// A real command output of 8-12 KB (the turn the engine has work on).
    Output10k,
    /// A real output under 300 bytes: nothing to compress.
    Small,
}

/// One turn of the synthetic conversation: what it added, the history's tokens, the body.
pub struct SyntheticTurn {
    /// What the turn added.
    pub added: Added,
    /// Tokens of the history's messages, this turn's included.
    pub tokens: usize,
    /// The request body.
    pub body: Vec<u8>,
}

/// A long OpenAI Chat conversation grown from real outputs: the opening (system prompt and task)
/// of the longest trajectory, then real (command, output) pairs of the whole corpus in order,
/// alternating an output of 8-12 KB with one under 300 bytes, until the messages hold `tokens`
/// tokens (`count`). `tag` goes into the system prompt, so that each pass is its own conversation.
pub fn synthetic(all: &[Trajectory], tokens: usize, tag: &str, count: impl Fn(&str) -> u32) -> Vec<SyntheticTurn> {
    let Some(longest) = all.iter().max_by_key(|t| t.steps().len()) else { return Vec::new() };
    let pairs = |fits: fn(usize) -> bool| {
        all.iter()
            .flat_map(|t| t.steps().into_iter().map(move |k| (t, k)))
            .filter(move |(t, k)| fits(t.messages[*k].1.len()) && t.messages[k - 1].0 == "assistant")
            .map(|(t, k)| [t.messages[k - 1].clone(), t.messages[k].clone()])
    };
    let mut big = pairs(|n| (8_000..=12_000).contains(&n));
    let mut small = pairs(|n| n < 300);
    let mut messages: Vec<(String, String)> = longest.messages.iter().take(2).cloned().collect();
    if let Some(system) = messages.first_mut() {
        system.1 = format!("{} [{tag}]", system.1);
    }
    let mut total: usize = messages.iter().map(|(_, c)| count(c) as usize).sum();
    let mut turns = Vec::new();
    while total < tokens {
        let added = if turns.len() % 2 == 0 { Added::Output10k } else { Added::Small };
        let Some(pair) = (if added == Added::Output10k { big.next() } else { small.next() }) else { break };
        total += pair.iter().map(|(_, c)| count(c) as usize).sum::<usize>();
        messages.extend(pair);
        let t = Trajectory { name: String::new(), messages: messages.clone() };
        turns.push(SyntheticTurn { added, tokens: total, body: t.openai_request(messages.len() - 1) });
    }
    turns
}
