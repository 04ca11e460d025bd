//! The live plugin set of a host and its reloads. A call takes the current set once (an
//! `Arc`) and keeps it to the end, so a swap never changes a call in flight; the old set is
//! dropped when its last call ends.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use headroom_runtime::plugins::{PluginEngine, PluginSet, PluginSource};
use serde_json::{Value, json};

use crate::error::LoadError;
use crate::load::load_dir;
use crate::manifest::Manifest;

/// What the last loads did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Status {
    /// Successful loads so far (the first load is 1).
    pub generation: u64,
    /// The last failed load's error, until a load succeeds.
    pub last_error: Option<String>,
    /// How long the last successful load took, verification included (ms).
    pub last_load_ms: Option<f64>,
    /// When the current set went live (Unix seconds).
    pub loaded_at: Option<u64>,
}

/// A folder of plugins and the set loaded from it.
pub struct Registry {
    dir: PathBuf,
    engine: PluginEngine,
    current: RwLock<(Arc<PluginSet>, Arc<Vec<Manifest>>)>,
    status: Mutex<Status>,
    /// One load at a time (the watcher and the admin endpoint may ask together).
    loading: Mutex<()>,
}

impl Registry {
    /// A registry for `dir`, loaded once. A failed first load leaves no plugins (and the error
    /// in [`Registry::status`]); the host runs without them.
    pub fn open(dir: &Path, cache_dir: Option<&Path>) -> Result<Arc<Self>, LoadError> {
        let engine =
            PluginEngine::new(cache_dir).map_err(|e| LoadError::Compile("*".into(), e.to_string()))?;
        let registry = Arc::new(Self {
            dir: dir.to_owned(),
            engine,
            current: RwLock::new((Arc::new(PluginSet::default()), Arc::new(Vec::new()))),
            status: Mutex::new(Status::default()),
            loading: Mutex::new(()),
        });
        let _ = registry.reload();
        Ok(registry)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Load the folder again; on success the new set replaces the old in one swap, on
    /// failure the old set stays and the error is kept for `/health`.
    pub fn reload(&self) -> Result<Status, LoadError> {
        let _one = self.loading.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let started = Instant::now();
        let loaded = load_dir(&self.dir, &self.engine);
        let mut status = self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match loaded {
            Ok((set, manifests)) => {
                let ids: Vec<String> = manifests.iter().map(|m| format!("{}@{}", m.id, m.version)).collect();
                *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) =
                    (Arc::new(set), Arc::new(manifests));
                status.generation += 1;
                status.last_error = None;
                status.last_load_ms = Some(started.elapsed().as_secs_f64() * 1000.0);
                status.loaded_at = SystemTime::now().duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs());
                tracing::info!(generation = status.generation, "plugins loaded: [{}]", ids.join(", "));
                Ok(status.clone())
            }
            Err(e) => {
                tracing::error!("plugin load failed, keeping the previous set: {e}");
                status.last_error = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// The live set.
    pub fn current(&self) -> Arc<PluginSet> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).0.clone()
    }

    /// What the last loads did.
    pub fn status(&self) -> Status {
        self.status.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Quarantined plugins of the live set.
    pub fn quarantined(&self) -> Vec<String> {
        self.current()
            .plugins()
            .filter(|(_, s)| s.snapshot().quarantined)
            .map(|(spec, _)| spec.id.clone())
            .collect()
    }

    /// The live set and the last loads, as `GET /admin/plugins` shows them.
    pub fn describe(&self) -> Value {
        let (set, manifests) = self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let status = self.status();
        let plugins: Vec<Value> = set
            .plugins()
            .zip(manifests.iter())
            .map(|((spec, stats), m)| {
                let s = stats.snapshot();
                json!({
                    "id": spec.id,
                    "version": spec.version,
                    "sha256": spec.sha256,
                    "world": m.world,
                    "kinds": m.kinds,
                    "placement": m.placement,
                    "lossy": spec.lossy,
                    "limits": { "fuel": m.limits.fuel, "deadline_ms": m.limits.deadline_ms, "memory_pages": m.limits.memory_pages },
                    "state": if s.quarantined { "quarantined" } else { "active" },
                    "calls": s.calls,
                    "rewrites": s.rewrites,
                    "failures": s.failures,
                    "rejected": s.rejected,
                })
            })
            .collect();
        json!({
            "dir": self.dir.display().to_string(),
            "set": set.identity(),
            "generation": status.generation,
            "loaded_at": status.loaded_at,
            "last_load_ms": status.last_load_ms,
            "last_error": status.last_error,
            "plugins": plugins,
        })
    }
}

impl PluginSource for Registry {
    fn current(&self) -> Arc<PluginSet> {
        Registry::current(self)
    }
}
