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
