//! The record of what `wrap` changed (`wrap-state.json` in the workspace directory): the config
//! files it edited (with their backups and the exact text it wrote) and the proxies it started.
//! `unwrap` and `doctor` read it; a wrapper that dies without cleaning up leaves it behind on
//! purpose, so `unwrap` can still undo everything.

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// The workspace directory: `HEADROOM_WORKSPACE_DIR`, else `~/.headroom`.
pub fn workspace_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("HEADROOM_WORKSPACE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Path::new(&home).join(".headroom"),
        None => PathBuf::from(".headroom"),
    }
}

/// One config file edited by a wrap.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Edit {
    /// The agent it routes (`codex`, `opencode`, ...).
    pub agent: String,
    /// The file edited.
    pub path: PathBuf,
    /// The copy of the file as it was, next to it; `None` when the file did not exist (undoing
    /// the wrap removes it).
    pub backup: Option<PathBuf>,
    /// The exact text the wrap wrote: a file that differs from it was changed by someone since.
    pub wrote: String,
    /// The wrapping process.
    pub wrapper_pid: u32,
}

/// A proxy a wrap started (a reused proxy is never recorded: it is not ours to stop).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StartedProxy {
    /// The agent it was started for.
    pub agent: String,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its process.
    pub pid: u32,
    /// The wrapping process that started it.
    pub wrapper_pid: u32,
}

/// Everything wraps have changed and not yet undone.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct State {
    /// Config files edited.
    #[serde(default)]
    pub edits: Vec<Edit>,
    /// Proxies started.
    #[serde(default)]
    pub proxies: Vec<StartedProxy>,
}

const FILE: &str = "wrap-state.json";

/// Read the record (empty when there is none).
pub fn load(ws: &Path) -> Result<State> {
    let path = ws.join(FILE);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| format!("reading {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Read, change and write the record under an exclusive lock (two wraps at once each see the
/// other's entries). The file is replaced atomically; an empty record removes it.
pub fn update<T>(ws: &Path, change: impl FnOnce(&mut State) -> Result<T>) -> Result<T> {
    fs::create_dir_all(ws).with_context(|| format!("creating the workspace directory {}", ws.display()))?;
    // The directory itself is the lock (flock on its descriptor): no lock file is left behind.
    let lock = File::open(ws).with_context(|| format!("opening {}", ws.display()))?;
    lock.lock().with_context(|| format!("locking {}", ws.display()))?;
    let mut state = load(ws)?;
    let out = change(&mut state)?;
    let path = ws.join(FILE);
    if state.edits.is_empty() && state.proxies.is_empty() {
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing {}", path.display())),
        }
    } else {
        let tmp = ws.join(format!("{FILE}.tmp{}", std::process::id()));
        fs::write(&tmp, serde_json::to_vec_pretty(&state)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        // It holds the text of config files, which may carry credentials: the user's eyes only.
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))?;
        fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(out)
}

/// Whether a recorded process (a wrapper or a proxy, both this binary) is still running: the
/// pid is alive and its command line names `headroom` (a recycled pid is some other program).
pub fn alive(pid: u32) -> bool {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| c.split(|b| *b == 0).any(|arg| String::from_utf8_lossy(arg).contains("headroom")))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_round_trips_and_empty_removes_the_file() {
        let dir = std::env::temp_dir().join(format!("headroom-state-test-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        update(&dir, |s| {
            s.proxies.push(StartedProxy { agent: "claude".into(), port: 1, pid: 2, wrapper_pid: 3 });
            Ok(())
        })
        .unwrap();
        assert_eq!(load(&dir).unwrap().proxies.len(), 1);
        update(&dir, |s| {
            s.proxies.clear();
            Ok(())
        })
        .unwrap();
        assert!(!dir.join(FILE).exists());
        let _ = fs::remove_dir_all(&dir);
    }
}
