//! Folder watching by polling: the folder's files (names, sizes, modification times) are
//! fingerprinted every [`POLL`]; a change is loaded once the folder has stayed the same for
//! [`SETTLE`] (a copy in progress is not loaded half-way). Polling needs no platform API and
//! costs a few `stat` calls.

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use crate::registry::Registry;

/// How often the folder is looked at.
pub const POLL: Duration = Duration::from_millis(200);
/// How long a change must hold before it is loaded.
pub const SETTLE: Duration = Duration::from_millis(300);

/// Watch the registry's folder until the registry is dropped.
pub fn watch(registry: &Arc<Registry>) {
    let weak: Weak<Registry> = Arc::downgrade(registry);
    let mut seen = fingerprint(registry);
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(POLL);
            let Some(registry) = weak.upgrade() else { return };
            let now = fingerprint(&registry);
            if now == seen {
                continue;
            }
            // Debounce: wait until the folder stops changing.
            let mut settled = now;
            loop {
                std::thread::sleep(SETTLE);
                let again = fingerprint(&registry);
                if again == settled {
                    break;
                }
                settled = again;
            }
            seen = settled;
            tracing::info!("plugin folder changed: reloading");
            let _ = registry.reload();
        }
    });
}

type Fingerprint = Vec<(String, u64, Option<SystemTime>)>;

fn fingerprint(registry: &Registry) -> Fingerprint {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(registry.dir()) else { return out };
    for folder in entries.filter_map(Result::ok) {
        let name = folder.file_name().to_string_lossy().into_owned();
        out.push((name.clone(), 0, folder.metadata().ok().and_then(|m| m.modified().ok())));
        let Ok(files) = std::fs::read_dir(folder.path()) else { continue };
        for f in files.filter_map(Result::ok) {
            let meta = f.metadata().ok();
            out.push((
                format!("{name}/{}", f.file_name().to_string_lossy()),
                meta.as_ref().map_or(0, std::fs::Metadata::len),
                meta.and_then(|m| m.modified().ok()),
            ));
        }
    }
    out.sort();
    out
}
