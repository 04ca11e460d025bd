//! Originals of lossy edits (compress, cache, retrieve), stored under keys scoped to the
//! caller's API key, so one tenant cannot read another's originals.
//!
//! Two backends behind one facade: memory (the default) and a SQLite file,
//! `<workspace>/ccr_store.db`, when a workspace directory is configured, so originals survive a
//! restart. A storage fault never costs a request: a store that cannot be opened leaves the
//! proxy on memory (said once at start-up), and a write that fails at run time is counted,
//! logged and kept in memory instead.

mod memory;
mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

pub use memory::MemoryStore;
pub use sqlite::{SqliteStore, StoreError};

/// The database file inside the workspace directory (the name the reference product uses).
pub const DB_FILE: &str = "ccr_store.db";
/// How long an original stays retrievable unless configured otherwise.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30 * 60);
/// Bytes of originals kept per backend before the least recently stored go.
pub const DEFAULT_MAX_BYTES: usize = 256 << 20;

/// A tenant: a hash of the caller's API key (never the key itself), 16 hex digits kept inline.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tenant(arrayvec::ArrayString<16>);

impl Tenant {
    /// The tenant of a request, from `x-api-key` or `Authorization: Bearer`.
    pub fn of(headers: &http::HeaderMap) -> Self {
        let key = headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .or_else(|| {
                headers
                    .get(http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| v.strip_prefix("Bearer ").unwrap_or(v))
            })
            .unwrap_or("");
        Self(arrayvec::ArrayString::from(&blake3::hash(key.as_bytes()).to_hex()[..16]).unwrap_or_default())
    }

    /// The hashed key scope (never the key itself).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The `--ccr-backend` flag.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendArg {
    /// In this process only.
    Memory,
    /// `ccr_store.db` in the workspace directory (`~/.headroom` when none is given).
    Sqlite,
}

/// Where originals are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CcrBackend {
    /// In memory.
    Memory,
    /// In this SQLite file.
    Sqlite(PathBuf),
}

/// Resolved store settings.
#[derive(Debug, Clone)]
pub struct CcrConfig {
    /// The backend.
    pub backend: CcrBackend,
    /// How long an original stays retrievable.
    pub ttl: Duration,
    /// Byte budget (per backend).
    pub max_bytes: usize,
}

impl Default for CcrConfig {
    fn default() -> Self {
        Self { backend: CcrBackend::Memory, ttl: DEFAULT_TTL, max_bytes: DEFAULT_MAX_BYTES }
    }
}

impl CcrConfig {
    /// A workspace directory turns persistence on; `--ccr-backend` overrides either way
    /// (`sqlite` without a workspace uses `~/.headroom`, as the reference product does).
    pub fn resolve(workspace_dir: Option<PathBuf>, backend: Option<BackendArg>, ttl: Duration) -> Self {
        let workspace = workspace_dir.filter(|d| !d.as_os_str().is_empty());
        let backend = match (backend, workspace) {
            (Some(BackendArg::Memory), _) | (None, None) => CcrBackend::Memory,
            (_, Some(dir)) => CcrBackend::Sqlite(dir.join(DB_FILE)),
            (Some(BackendArg::Sqlite), None) => {
                let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
                CcrBackend::Sqlite(home.join(".headroom").join(DB_FILE))
            }
        };
        Self { backend, ttl, max_bytes: DEFAULT_MAX_BYTES }
    }
}

enum Backend {
    Memory(MemoryStore),
    /// `spill` holds what the database failed to take, so a fault loses nothing this run.
    Sqlite {
        db: Box<SqliteStore>,
        spill: MemoryStore,
    },
}

/// The store the handlers use.
pub struct CcrStore {
    backend: Backend,
    ttl: Duration,
    faults: AtomicU64,
    fallback: Option<String>,
}

impl CcrStore {
    /// An in-memory store keeping entries for `ttl`, evicting least recently stored beyond
    /// `max_bytes`.
    pub fn new(ttl: Duration, max_bytes: usize) -> Self {
        Self {
            backend: Backend::Memory(MemoryStore::new(ttl, max_bytes)),
            ttl,
            faults: AtomicU64::new(0),
            fallback: None,
        }
    }

    /// The configured store; one that cannot be opened falls back to memory, saying why.
    pub fn open(config: &CcrConfig) -> Self {
        let CcrBackend::Sqlite(path) = &config.backend else {
            return Self::new(config.ttl, config.max_bytes);
        };
        match SqliteStore::open(path, config.ttl, config.max_bytes) {
            Ok(db) => {
                tracing::info!(path = %path.display(), ttl_s = config.ttl.as_secs(), "originals stored on disk");
                Self {
                    backend: Backend::Sqlite {
                        db: Box::new(db),
                        spill: MemoryStore::new(config.ttl, config.max_bytes),
                    },
                    ttl: config.ttl,
                    faults: AtomicU64::new(0),
                    fallback: None,
                }
            }
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "originals kept in memory for this run, not persisted (fix the path or permissions, \
                     or unset HEADROOM_WORKSPACE_DIR)"
                );
                Self { fallback: Some(e.to_string()), ..Self::new(config.ttl, config.max_bytes) }
            }
        }
    }

    /// Store an original. A key already present (keys are hashes of the original) keeps its
    /// text and is only refreshed: its TTL restarts and it becomes the most recently stored.
    pub fn put(&self, tenant: &Tenant, key: &str, original: String) {
        self.put_many(tenant, [(key.to_owned(), original)]);
    }

    /// Store all the `(key, original)` pairs of one request at once (one SQLite transaction).
    /// An original held already is refreshed: a timestamp, or nothing when recent. A turn hands
    /// over only its new originals (the others are refreshed by key, [`Self::refresh_many`]),
    /// or all of them when the store lost one.
    pub fn put_many(&self, tenant: &Tenant, items: impl IntoIterator<Item = (String, String)>) {
        match &self.backend {
            Backend::Memory(m) => m.put_many(tenant, items),
            Backend::Sqlite { db, spill } => {
                let items: Vec<(String, String)> = items.into_iter().collect();
                if items.is_empty() {
                    return;
                }
                if let Err(e) = db.put_many(tenant, items.iter().map(|(k, o)| (k.as_str(), o.as_str()))) {
                    // The transaction rolled back: the whole batch goes to memory.
                    self.fault(&e);
                    spill.put_many(tenant, items);
                }
            }
        }
    }

    /// Refresh the originals held under `keys` (handed over before, not resent) as
    /// [`put_many`](Self::put_many) refreshes them; whether every one is held. When one is not,
    /// the caller gets the originals again and puts them.
    pub fn refresh_many(&self, tenant: &Tenant, keys: &[String]) -> bool {
        if keys.is_empty() {
            return true;
        }
        match &self.backend {
            Backend::Memory(m) => m.refresh_many(tenant, keys),
            Backend::Sqlite { db, spill } => match db.refresh_many(tenant, keys) {
                Ok(all) => all,
                Err(e) => {
                    self.fault(&e);
                    spill.refresh_many(tenant, keys)
                }
            },
        }
    }

    /// The original stored under `key` for `tenant`, if it is still there.
    pub fn get(&self, tenant: &Tenant, key: &str) -> Option<String> {
        match &self.backend {
            Backend::Memory(m) => m.get(tenant, key),
            Backend::Sqlite { db, spill } => match db.get(tenant, key) {
                Ok(Some(original)) => Some(original),
                Ok(None) => spill.get(tenant, key),
                Err(e) => {
                    self.fault(&e);
                    spill.get(tenant, key)
                }
            },
        }
    }

    /// Whether `key` is held for `tenant` (a refresh rather than a new original).
    pub fn contains(&self, tenant: &Tenant, key: &str) -> bool {
        match &self.backend {
            Backend::Memory(m) => m.contains(tenant, key),
            Backend::Sqlite { db, spill } => {
                spill.contains(tenant, key) || db.get(tenant, key).is_ok_and(|o| o.is_some())
            }
        }
    }

    fn fault(&self, e: &StoreError) {
        let n = self.faults.fetch_add(1, Ordering::Relaxed) + 1;
        // Powers of two: a failing disk is reported without flooding the log.
        if n.is_power_of_two() {
            tracing::error!(faults = n, error = %e, "originals store fault (requests go on, originals kept in memory)");
        }
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        match &self.backend {
            Backend::Memory(m) => m.len(),
            Backend::Sqlite { db, spill } => db.len() + spill.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `"memory"` or `"sqlite"`: the backend in use (after any fallback).
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Memory(_) => "memory",
            Backend::Sqlite { .. } => "sqlite",
        }
    }

    /// The database file, when persisting.
    pub fn path(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Memory(_) => None,
            Backend::Sqlite { db, .. } => Some(db.path()),
        }
    }

    /// Why persistence was configured but is off.
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// Storage faults since start (each cost one original its persistence, not a request).
    pub fn faults(&self) -> u64 {
        self.faults.load(Ordering::Relaxed)
    }

    /// How long originals stay retrievable.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn tenant(key: &str) -> Tenant {
        let mut h = http::HeaderMap::new();
        h.insert("x-api-key", key.parse().expect("header"));
        Tenant::of(&h)
    }

    /// A fresh directory under the system temp dir (the caller removes it).
    pub(crate) fn scratch_dir(name: &str) -> PathBuf {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "headroom-ccr-{name}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    fn sqlite_config(dir: &Path) -> CcrConfig {
        CcrConfig::resolve(Some(dir.to_owned()), None, Duration::from_secs(60))
    }

    #[test]
    fn a_workspace_turns_persistence_on_and_the_flag_overrides() {
        let ttl = DEFAULT_TTL;
        assert_eq!(CcrConfig::resolve(None, None, ttl).backend, CcrBackend::Memory);
        assert_eq!(CcrConfig::resolve(Some(PathBuf::new()), None, ttl).backend, CcrBackend::Memory);
        assert_eq!(
            CcrConfig::resolve(Some("/w".into()), None, ttl).backend,
            CcrBackend::Sqlite("/w/ccr_store.db".into())
        );
        assert_eq!(
            CcrConfig::resolve(Some("/w".into()), Some(BackendArg::Memory), ttl).backend,
            CcrBackend::Memory
        );
        let CcrBackend::Sqlite(home) = CcrConfig::resolve(None, Some(BackendArg::Sqlite), ttl).backend else {
            panic!("sqlite expected")
        };
        assert!(home.ends_with(".headroom/ccr_store.db"), "{}", home.display());
    }

    #[test]
    fn originals_survive_a_new_store_on_the_same_file() {
        let dir = scratch_dir("facade-reopen");
        let store = CcrStore::open(&sqlite_config(&dir));
        assert_eq!(store.backend_name(), "sqlite");
        store.put(&tenant("a"), "h:1", "the original".into());
        drop(store);
        let store = CcrStore::open(&sqlite_config(&dir));
        assert_eq!(store.get(&tenant("a"), "h:1").as_deref(), Some("the original"));
        assert_eq!(store.get(&tenant("b"), "h:1"), None);
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn an_unusable_file_falls_back_to_memory_and_keeps_serving() {
        let dir = scratch_dir("facade-corrupt");
        std::fs::write(dir.join(DB_FILE), b"not a database, not even close".repeat(200)).expect("write");
        let store = CcrStore::open(&sqlite_config(&dir));
        assert_eq!(store.backend_name(), "memory");
        assert!(
            store.fallback_reason().is_some_and(|r| r.contains("ccr_store.db")),
            "{:?}",
            store.fallback_reason()
        );
        store.put(&tenant("a"), "h:1", "kept".into());
        assert_eq!(store.get(&tenant("a"), "h:1").as_deref(), Some("kept"));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_fault_at_run_time_is_counted_and_the_original_kept_in_memory() {
        let dir = scratch_dir("facade-fault");
        let store = CcrStore::open(&sqlite_config(&dir));
        assert_eq!(store.backend_name(), "sqlite");
        // Another process breaks the file under the running proxy.
        let other = rusqlite::Connection::open(dir.join(DB_FILE)).expect("open");
        other.execute_batch("DROP TABLE headroom_ccr_originals").expect("drop");
        store.put(&tenant("a"), "h:1", "still here".into());
        assert!(store.faults() >= 1);
        assert_eq!(store.get(&tenant("a"), "h:1").as_deref(), Some("still here"));
        assert_eq!(store.get(&tenant("b"), "h:1"), None);
        // A failed batch is kept whole.
        store.put_many(&tenant("a"), [("h:2".into(), "two".into()), ("h:3".into(), "three".into())]);
        assert_eq!(store.get(&tenant("a"), "h:2").as_deref(), Some("two"));
        assert_eq!(store.get(&tenant("a"), "h:3").as_deref(), Some("three"));
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
