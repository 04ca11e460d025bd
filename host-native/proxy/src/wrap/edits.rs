//! Config-file edits: made with a backup next to the file and recorded before the file is
//! written, printed as a diff, and undone only when the file is still what the wrap wrote
//! (anything else is someone's later change, which is never overwritten without `--force`).

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::state::{self, Edit};

/// A file edit worked out but not yet made.
#[derive(Debug, Clone)]
pub struct PlannedEdit {
    /// The agent it routes.
    pub agent: &'static str,
    /// The file.
    pub path: PathBuf,
    /// Its text now (`None`: it does not exist and will be created).
    pub before: Option<String>,
    /// Its text once routed.
    pub after: String,
}

/// A unified diff between two texts, labelled with the file's path.
pub fn diff(path: &Path, from: &str, to: &str, from_label: &str, to_label: &str) -> String {
    let p = path.display();
    similar::TextDiff::from_lines(from, to)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{p} ({from_label})"), &format!("{p} ({to_label})"))
        .to_string()
}

/// The planned change as a diff.
pub fn planned_diff(e: &PlannedEdit) -> String {
    let from = e.before.as_deref().unwrap_or("");
    let label = if e.before.is_some() { "as it is" } else { "absent" };
    diff(&e.path, from, &e.after, label, "routed through headroom")
}

/// Where the backup of `path` goes: next to it.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".headroom-backup");
    path.with_file_name(name)
}

/// Refuse before anything is changed: a read-only file (no write bit for anyone: its owner
/// asked for it to stay as it is, even when we run as root), a leftover backup (an earlier wrap
/// that was not undone).
pub fn check(e: &PlannedEdit) -> Result<()> {
    if let Ok(meta) = fs::metadata(&e.path)
        && meta.permissions().readonly()
    {
        bail!(
            "{} is read-only (mode {:o}); not editing it. Make it writable or route {} yourself (headroom wrap {} --dry-run prints the change)",
            e.path.display(),
            meta.permissions().mode() & 0o777,
            e.agent,
            e.agent
        );
    }
    let backup = backup_path(&e.path);
    if backup.exists() {
        bail!(
            "{} exists: an earlier wrap of {} was not undone; run `headroom unwrap {}` first",
            backup.display(),
            e.agent,
            e.agent
        );
    }
    Ok(())
}

/// Make the edit: record it, back the file up, write the new text (atomically, with the
/// file's permissions).
pub fn apply(ws: &Path, e: &PlannedEdit) -> Result<Edit> {
    check(e)?;
    let backup = e.before.as_ref().map(|_| backup_path(&e.path));
    let edit = Edit {
        agent: e.agent.to_owned(),
        path: e.path.clone(),
        backup: backup.clone(),
        wrote: e.after.clone(),
        wrapper_pid: std::process::id(),
    };
    // Recorded first: a crash from here on leaves a record `unwrap` can act on.
    state::update(ws, |s| {
        if let Some(other) = s.edits.iter().find(|x| x.path == e.path) {
            bail!(
                "{} is already routed by a wrap of {} (pid {}); run `headroom unwrap {}` if that wrap is gone",
                e.path.display(),
                other.agent,
                other.wrapper_pid,
                other.agent
            );
        }
        s.edits.push(edit.clone());
        Ok(())
    })?;
    let written = (|| -> Result<()> {
        if let Some(dir) = e.path.parent() {
            fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        if let Some(b) = &backup {
            fs::copy(&e.path, b)
                .with_context(|| format!("backing {} up to {}", e.path.display(), b.display()))?;
        }
        write_atomic(&e.path, &e.after)
    })();
    if let Err(err) = written {
        // Nothing was changed that the record would describe: take it back.
        if let Some(b) = &backup {
            let _ = fs::remove_file(b);
        }
        let _ = state::update(ws, |s| {
            s.edits.retain(|x| x != &edit);
            Ok(())
        });
        return Err(err);
    }
    Ok(edit)
}

/// Replace `path`'s content through a temporary file in the same directory, keeping the
/// permissions the file had.
fn write_atomic(path: &Path, text: &str) -> Result<()> {
    let mode = fs::metadata(path).ok().map(|m| m.permissions());
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(format!(".headroom-tmp{}", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    fs::write(&tmp, text).with_context(|| format!("writing {}", tmp.display()))?;
    if let Some(perm) = mode {
        fs::set_permissions(&tmp, perm)
            .with_context(|| format!("setting permissions of {}", tmp.display()))?;
    }
    fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// What undoing an edit would do, or did.
#[derive(Debug)]
pub enum Undo {
    /// The file gets its backup back (or is removed when the wrap created it); the diff from
    /// its current text.
    Restore { diff: String },
    /// The file was never written (the wrap stopped first): only the backup goes.
    NothingWritten,
    /// The file changed since the wrap wrote it: left alone. The diff shows the later change.
    Changed { diff: String },
}

fn read_opt(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Work out how to undo an edit (`force` restores even a file changed since).
pub fn plan_undo(edit: &Edit, force: bool) -> Result<Undo> {
    let current = read_opt(&edit.path)?;
    let original = match &edit.backup {
        Some(b) => Some(read_opt(b)?.with_context(|| {
            format!(
                "the backup {} of {} is missing; restore the file by hand",
                b.display(),
                edit.path.display()
            )
        })?),
        None => None,
    };
    let cur = current.as_deref().unwrap_or("");
    let orig = original.as_deref().unwrap_or("");
    if current.as_deref() == Some(edit.wrote.as_str()) || force {
        let to = if original.is_some() { "restored from backup" } else { "removed (wrap created it)" };
        return Ok(Undo::Restore { diff: diff(&edit.path, cur, orig, "as it is", to) });
    }
    if current == original {
        return Ok(Undo::NothingWritten);
    }
    Ok(Undo::Changed { diff: diff(&edit.path, &edit.wrote, cur, "as wrap wrote it", "as it is now") })
}

/// Carry out an undo worked out by `plan_undo`, and drop the edit from the record.
pub fn undo(ws: &Path, edit: &Edit, how: &Undo) -> Result<()> {
    match how {
        Undo::Changed { .. } => {
            bail!("{} changed since it was wrapped; not restoring it", edit.path.display())
        }
        Undo::Restore { .. } => match &edit.backup {
            Some(b) => fs::rename(b, &edit.path)
                .with_context(|| format!("restoring {} from {}", edit.path.display(), b.display()))?,
            None => match fs::remove_file(&edit.path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("removing {}", edit.path.display())),
            },
        },
        Undo::NothingWritten => {
            if let Some(b) = &edit.backup {
                fs::remove_file(b).with_context(|| format!("removing {}", b.display()))?;
            }
        }
    }
    state::update(ws, |s| {
        s.edits.retain(|x| x != edit);
        Ok(())
    })
}
