//! The SQLite backend: originals in one file (`ccr_store.db` under the workspace directory), so
//! they survive a restart of the proxy.
//!
//! Same semantics as the memory backend: an entry is dropped once older than the TTL (checked
//! when read, and swept in bounded batches on writes), and beyond the byte budget the least
//! recently stored entries go first. An original this process wrote or refreshed within the
//! refresh interval is not written again (every turn refreshes the whole history's originals,
//! by key or, after a loss, whole); expiry allows that interval on top of the TTL. Ages are wall-clock milliseconds, since an `Instant` means
//! nothing to the next process.
//!
//! Calls run on the caller's thread under a `Mutex<Connection>`, not on the blocking pool. Each
//! one is a transaction of a few statements on indexed rows (a request's originals are stored
//! in one, and an original stored before only has its timestamp updated); in WAL mode with
//! `synchronous=NORMAL` a commit appends to the log without an fsync, so a call costs tens of
//! microseconds, less than the hop to `spawn_blocking` would and less than the engine call the
//! same handler already makes inline. The one slow operation, the checkpoint that copies the log
//! into the database and syncs it, is taken off the request path: automatic checkpoints are off
//! on this connection and a background thread runs them on its own connection.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};

use super::Tenant;

/// Why the SQLite store could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory holding the database could not be created.
    #[error("cannot create {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file could not be opened as this store's database (unreadable, not a database, or
    /// holding a table of the same name with another shape).
    #[error("cannot open {path} as the originals store: {source}")]
    Open {
        /// The database file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// The journal could not be switched to write-ahead logging.
    #[error("{path}: journal mode is `{mode}`, write-ahead logging (wal) is required")]
    NotWal {
        /// The database file.
        path: PathBuf,
        /// The mode SQLite kept.
        mode: String,
    },
    /// The background checkpoint thread could not be started.
    #[error("cannot start the checkpoint thread: {0}")]
    Thread(#[source] std::io::Error),
    /// A statement failed on an open store (disk full, I/O error, file removed, ...).
    #[error("originals store: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// The table is named for this program so the file can share a workspace with other tools.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS headroom_ccr_originals (
    id        INTEGER PRIMARY KEY,
    tenant    TEXT    NOT NULL,
    key       TEXT    NOT NULL,
    original  TEXT    NOT NULL,
    size      INTEGER NOT NULL,
    stored_ms INTEGER NOT NULL,
    UNIQUE (tenant, key)
);
CREATE INDEX IF NOT EXISTS headroom_ccr_originals_stored ON headroom_ccr_originals (stored_ms, id);
";

/// Rows deleted per statement when evicting or sweeping, so no single call runs long.
const BATCH: i64 = 256;
/// How often writes sweep expired rows.
const SWEEP_EVERY_MS: i64 = 60_000;
/// How often the background thread checkpoints the log after writes.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// How long a statement waits for another process holding the write lock (two proxies on one
/// workspace) before it fails and is counted as a fault.
const BUSY_TIMEOUT: Duration = Duration::from_millis(50);
/// The log is truncated back to this size after a checkpoint resets it.
const WAL_LIMIT_BYTES: i64 = 64 << 20;
/// An original written less than this long ago (or a tenth of the TTL, if shorter) is not
/// written again; expiry allows the same slack, so an original still lives at least the TTL
/// after the last request that cited it.
const REFRESH_EVERY_MS: i64 = 60_000;

struct Inner {
    conn: Connection,
    rows: u64,
    bytes: u64,
    last_sweep_ms: i64,
    /// When each (tenant, key) was last written or refreshed by this process, for those
    /// written within the last [`SqliteStore::refresh_ms`]: every turn refreshes its whole
    /// history's originals, and one refreshed that recently is not written again.
    recent: HashMap<String, HashMap<String, i64>>,
}

impl Inner {
    fn refreshed_since(&self, tenant: &str, key: &str, since: i64) -> bool {
        self.recent.get(tenant).and_then(|keys| keys.get(key)).is_some_and(|&at| at >= since)
    }

    fn forget(&mut self, tenant: &str, key: &str) {
        if let Some(keys) = self.recent.get_mut(tenant) {
            keys.remove(key);
        }
    }
}

/// Originals in a SQLite file.
pub struct SqliteStore {
    inner: Mutex<Inner>,
    path: PathBuf,
    ttl_ms: i64,
    max_bytes: u64,
    checkpointer: Checkpointer,
}

impl SqliteStore {
    /// Open (creating the directory and file if needed) the store at `path`.
    pub fn open(path: &Path, ttl: Duration, max_bytes: usize) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|source| StoreError::CreateDir { path: dir.to_owned(), source })?;
        }
        let open_err = |source| StoreError::Open { path: path.to_owned(), source };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open_err)?;
        // The first statement reads the header: a file that is not a database fails here.
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0)).map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::NotWal { path: path.to_owned(), mode });
        }
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(open_err)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(open_err)?;
        conn.pragma_update(None, "journal_size_limit", WAL_LIMIT_BYTES).map_err(open_err)?;
        conn.execute_batch(SCHEMA).map_err(open_err)?;
        // Also proves the table has the columns this code uses.
        let (rows, bytes): (i64, i64) = conn
            .query_row(
                "SELECT COUNT(*), COALESCE(SUM(size), 0) FROM headroom_ccr_originals \
                 WHERE tenant IS NOT NULL AND key IS NOT NULL AND original IS NOT NULL AND stored_ms IS NOT NULL",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(open_err)?;
        let checkpointer = Checkpointer::start(path)?;
        let store = Self {
            inner: Mutex::new(Inner {
                conn,
                rows: u64::try_from(rows).unwrap_or(0),
                bytes: u64::try_from(bytes).unwrap_or(0),
                last_sweep_ms: 0,
                recent: HashMap::new(),
            }),
            path: path.to_owned(),
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
            max_bytes: u64::try_from(max_bytes).unwrap_or(u64::MAX),
            checkpointer,
        };
        // Entries that expired while the proxy was down go now rather than on the first write.
        {
            let mut inner = store.lock();
            let cutoff = now_ms().saturating_sub(store.lifetime_ms());
            let (n, freed) = sweep_all(&inner.conn, cutoff).map_err(open_err)?;
            inner.rows = inner.rows.saturating_sub(n);
            inner.bytes = inner.bytes.saturating_sub(freed);
            inner.last_sweep_ms = now_ms();
        }
        Ok(store)
    }

    /// How long a write is not repeated: [`REFRESH_EVERY_MS`], or a tenth of a shorter TTL.
    fn refresh_ms(&self) -> i64 {
        REFRESH_EVERY_MS.min(self.ttl_ms / 10)
    }

    /// How long a row lives after its timestamp: the TTL, plus the refreshes skipped.
    fn lifetime_ms(&self) -> i64 {
        self.ttl_ms.saturating_add(self.refresh_ms())
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a transaction half-done (rusqlite rolls it
        // back as the panic unwinds) nor the counters wrong (they change only after a commit).
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Store an original. A key already present keeps its text (the key is a hash of it): only
    /// its timestamp moves, which restarts its TTL and makes it the most recently stored.
    pub fn put(&self, tenant: &Tenant, key: &str, original: &str) -> Result<(), StoreError> {
        self.put_many(tenant, [(key, original)])
    }

    /// [`put`](Self::put) for all the originals of one request, in one transaction: a turn
    /// that resends its whole history's (after its store lost one) costs one commit, and a
    /// timestamp update (no text written) per original stored before. Originals this process wrote within the refresh
    /// interval are skipped, so the turns of a busy conversation mostly write nothing.
    pub fn put_many<'a>(
        &self,
        tenant: &Tenant,
        items: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), StoreError> {
        let now = now_ms();
        let since = now - self.refresh_ms();
        let mut guard = self.lock();
        let inner = &mut *guard;
        let items: Vec<(&str, &str)> = items
            .into_iter()
            .filter(|(key, _)| !inner.refreshed_since(tenant.as_str(), key, since))
            .collect();
        if items.is_empty() {
            return Ok(());
        }
        let mut written = Vec::with_capacity(items.len());
        let mut evicted = false;
        let tx = inner.conn.transaction()?;
        let (mut rows, mut bytes) = (inner.rows, inner.bytes);
        {
            let mut refresh = tx.prepare_cached(
                "UPDATE headroom_ccr_originals SET stored_ms = ?3 WHERE tenant = ?1 AND key = ?2",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO headroom_ccr_originals (tenant, key, original, size, stored_ms) \
                 VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (tenant, key) DO UPDATE SET stored_ms = excluded.stored_ms",
            )?;
            for (key, original) in items {
                if refresh.execute(params![tenant.as_str(), key, now])? == 0 {
                    let size = original.len() as u64;
                    insert.execute(params![tenant.as_str(), key, original, size as i64, now])?;
                    rows += 1;
                    bytes += size;
                }
                written.push(key);
            }
        }
        while bytes > self.max_bytes {
            let (n, freed) = evict(&tx, bytes - self.max_bytes)?;
            if n == 0 {
                break;
            }
            evicted = true;
            rows = rows.saturating_sub(n);
            bytes = bytes.saturating_sub(freed);
        }
        let mut swept_at = inner.last_sweep_ms;
        let sweeping = now - inner.last_sweep_ms >= SWEEP_EVERY_MS;
        if sweeping {
            let cutoff = now.saturating_sub(self.lifetime_ms());
            let (n, freed) = sweep(&tx, cutoff)?;
            rows = rows.saturating_sub(n);
            bytes = bytes.saturating_sub(freed);
            // A full batch means more are waiting: sweep again on the next write.
            if n < BATCH as u64 {
                swept_at = now;
            }
        }
        tx.commit()?;
        inner.rows = rows;
        inner.bytes = bytes;
        inner.last_sweep_ms = swept_at;
        if evicted {
            // Which rows went is not known here: nothing counts as written recently.
            inner.recent.clear();
        } else {
            let keys = inner.recent.entry(tenant.as_str().to_owned()).or_default();
            for key in written {
                keys.insert(key.to_owned(), now);
            }
        }
        if sweeping {
            inner.recent.retain(|_, keys| {
                keys.retain(|_, at| *at >= since);
                !keys.is_empty()
            });
        }
        drop(guard);
        self.checkpointer.dirty.store(true, Ordering::Relaxed);
        Ok(())
    }

    /// Refresh the rows of `keys` as [`put_many`](Self::put_many) refreshes those it holds,
    /// without their text; whether every one was held (and not expired). Keys this process
    /// wrote or refreshed within the refresh interval cost nothing.
    pub fn refresh_many(&self, tenant: &Tenant, keys: &[String]) -> Result<bool, StoreError> {
        let now = now_ms();
        let since = now - self.refresh_ms();
        let mut guard = self.lock();
        let inner = &mut *guard;
        let stale: Vec<&String> =
            keys.iter().filter(|key| !inner.refreshed_since(tenant.as_str(), key, since)).collect();
        if stale.is_empty() {
            return Ok(true);
        }
        let alive = now.saturating_sub(self.lifetime_ms());
        let mut held = Vec::with_capacity(stale.len());
        let tx = inner.conn.transaction()?;
        {
            let mut refresh = tx.prepare_cached(
                "UPDATE headroom_ccr_originals SET stored_ms = ?3 WHERE tenant = ?1 AND key = ?2 AND stored_ms >= ?4",
            )?;
            for key in &stale {
                if refresh.execute(params![tenant.as_str(), key, now, alive])? > 0 {
                    held.push(*key);
                }
            }
        }
        tx.commit()?;
        let all = held.len() == stale.len();
        // Only what was held counts as written: a key it did not hold must be written whole
        // by the `put_many` that follows, not skipped as recent.
        let recent = inner.recent.entry(tenant.as_str().to_owned()).or_default();
        for key in held {
            recent.insert(key.clone(), now);
        }
        drop(guard);
        self.checkpointer.dirty.store(true, Ordering::Relaxed);
        Ok(all)
    }

    /// The original stored under `key` for `tenant`, if it is still there.
    pub fn get(&self, tenant: &Tenant, key: &str) -> Result<Option<String>, StoreError> {
        let mut inner = self.lock();
        let row: Option<(String, i64)> = inner
            .conn
            .prepare_cached(
                "SELECT original, stored_ms FROM headroom_ccr_originals WHERE tenant = ?1 AND key = ?2",
            )?
            .query_row(params![tenant.as_str(), key], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let Some((original, stored_ms)) = row else { return Ok(None) };
        if now_ms() - stored_ms <= self.lifetime_ms() {
            return Ok(Some(original));
        }
        inner.forget(tenant.as_str(), key);
        let freed: Option<i64> = inner
            .conn
            .prepare_cached(
                "DELETE FROM headroom_ccr_originals WHERE tenant = ?1 AND key = ?2 RETURNING size",
            )?
            .query_row(params![tenant.as_str(), key], |r| r.get(0))
            .optional()?;
        if let Some(freed) = freed {
            inner.rows = inner.rows.saturating_sub(1);
            inner.bytes = inner.bytes.saturating_sub(freed as u64);
        }
        Ok(None)
    }

    /// Entries held (expired ones count until they are read or swept).
    pub fn len(&self) -> usize {
        usize::try_from(self.lock().rows).unwrap_or(usize::MAX)
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Delete up to [`BATCH`] expired rows (stored before `cutoff`): (rows, bytes) freed.
fn sweep(conn: &Connection, cutoff: i64) -> rusqlite::Result<(u64, u64)> {
    let sizes = conn
        .prepare_cached(
            "DELETE FROM headroom_ccr_originals WHERE id IN \
             (SELECT id FROM headroom_ccr_originals WHERE stored_ms < ?1 LIMIT ?2) RETURNING size",
        )?
        .query_map(params![cutoff, BATCH], |r| r.get::<_, i64>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok((sizes.len() as u64, sizes.iter().map(|&s| s as u64).sum()))
}

/// Every expired row, in batches (used once, at start-up).
fn sweep_all(conn: &Connection, cutoff: i64) -> rusqlite::Result<(u64, u64)> {
    let (mut rows, mut bytes) = (0, 0);
    loop {
        let (n, freed) = sweep(conn, cutoff)?;
        rows += n;
        bytes += freed;
        if n < BATCH as u64 {
            return Ok((rows, bytes));
        }
    }
}

/// Delete the least recently stored rows until at least `excess` bytes are freed (up to
/// [`BATCH`] rows per call): (rows, bytes) freed.
fn evict(conn: &Connection, excess: u64) -> rusqlite::Result<(u64, u64)> {
    let oldest = conn
        .prepare_cached("SELECT id, size FROM headroom_ccr_originals ORDER BY stored_ms, id LIMIT ?1")?
        .query_map([BATCH], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut delete = conn.prepare_cached("DELETE FROM headroom_ccr_originals WHERE id = ?1")?;
    let (mut rows, mut freed) = (0, 0);
    for (id, size) in oldest {
        if freed >= excess {
            break;
        }
        delete.execute([id])?;
        rows += 1;
        freed += size as u64;
    }
    Ok((rows, freed))
}

/// Copies the log into the database off the request path, about once a second after writes.
struct Checkpointer {
    dirty: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Self, StoreError> {
        let open_err = |source| StoreError::Open { path: path.to_owned(), source };
        let conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(1)).map_err(open_err)?;
        let dirty = Arc::new(AtomicBool::new(false));
        let (stop, stopped) = mpsc::channel::<()>();
        let flag = Arc::clone(&dirty);
        let thread = std::thread::Builder::new()
            .name("headroom-ccr-checkpoint".into())
            .spawn(move || {
                loop {
                    let last =
                        !matches!(stopped.recv_timeout(CHECKPOINT_EVERY), Err(RecvTimeoutError::Timeout));
                    if flag.swap(false, Ordering::Relaxed) || last {
                        // PASSIVE never waits on the writer; a failure is retried next round, and
                        // the log stays valid either way.
                        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
                    }
                    if last {
                        return;
                    }
                }
            })
            .map_err(StoreError::Thread)?;
        Ok(Self { dirty, stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{scratch_dir, tenant};
    use super::*;

    fn open(dir: &Path, ttl: Duration, max_bytes: usize) -> SqliteStore {
        SqliteStore::open(&dir.join("ccr_store.db"), ttl, max_bytes).expect("open")
    }

    #[test]
    fn wal_mode_tenant_scoped_and_survives_reopening() {
        let dir = scratch_dir("reopen");
        let store = open(&dir, Duration::from_secs(60), 1 << 20);
        store.put(&tenant("a"), "h:1", "first original").expect("put");
        store.put(&tenant("a"), "h:1", "first original").expect("refresh");
        store.put(&tenant("b"), "h:2", "second").expect("put");
        assert_eq!(store.get(&tenant("a"), "h:1").expect("get").as_deref(), Some("first original"));
        assert_eq!(store.get(&tenant("b"), "h:1").expect("get"), None, "another tenant's key");
        assert_eq!(store.len(), 2);
        let mode: String =
            store.lock().conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("mode");
        assert_eq!(mode, "wal");
        drop(store);

        let store = open(&dir, Duration::from_secs(60), 1 << 20);
        assert_eq!(store.len(), 2);
        assert_eq!(store.get(&tenant("a"), "h:1").expect("get").as_deref(), Some("first original"));
        assert_eq!(store.get(&tenant("b"), "h:2").expect("get").as_deref(), Some("second"));
        assert_eq!(store.get(&tenant("a"), "h:2").expect("get"), None);
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn bounded_by_bytes_oldest_first() {
        let dir = scratch_dir("bounded");
        let store = open(&dir, Duration::from_secs(60), 10);
        store.put(&tenant("a"), "h:1", "12345").expect("put");
        store.put(&tenant("a"), "h:2", "678").expect("put");
        store.put(&tenant("a"), "h:3", "90ab").expect("put");
        assert_eq!(store.get(&tenant("a"), "h:1").expect("get"), None, "evicted beyond the byte budget");
        assert_eq!(store.get(&tenant("a"), "h:2").expect("get").as_deref(), Some("678"));
        assert_eq!(store.get(&tenant("a"), "h:3").expect("get").as_deref(), Some("90ab"));
        assert_eq!(store.len(), 2);
        assert_eq!(store.lock().bytes, 7);
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn expired_entries_are_gone_on_read_and_after_a_restart() {
        let dir = scratch_dir("ttl");
        let store = open(&dir, Duration::ZERO, 1 << 20);
        store.put(&tenant("a"), "h:1", "x").expect("put");
        store.put(&tenant("a"), "h:2", "y").expect("put");
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(store.get(&tenant("a"), "h:1").expect("get"), None);
        assert_eq!(store.len(), 1, "purged when read");
        drop(store);
        let store = open(&dir, Duration::ZERO, 1 << 20);
        assert_eq!(store.len(), 0, "swept at start-up");
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn refuses_files_that_are_not_its_database() {
        let dir = scratch_dir("corrupt");
        let path = dir.join("ccr_store.db");
        std::fs::write(&path, vec![0x5a; 8192]).expect("write");
        let e = SqliteStore::open(&path, Duration::from_secs(60), 1 << 20).err().expect("refused");
        assert!(matches!(e, StoreError::Open { .. }), "{e}");

        let blocker = dir.join("a-file");
        std::fs::write(&blocker, "").expect("write");
        let e = SqliteStore::open(&blocker.join("sub/ccr_store.db"), Duration::from_secs(60), 1 << 20)
            .err()
            .expect("refused");
        assert!(matches!(e, StoreError::CreateDir { .. }), "{e}");
        let _ = std::fs::remove_dir_all(dir);
    }

    fn stored_ms(store: &SqliteStore, key: &str) -> i64 {
        store
            .lock()
            .conn
            .query_row("SELECT stored_ms FROM headroom_ccr_originals WHERE key = ?1", [key], |r| r.get(0))
            .expect("row")
    }

    #[test]
    fn a_refresh_moves_the_timestamp_not_the_text() {
        let dir = scratch_dir("refresh");
        let store = open(&dir, Duration::from_secs(60), 1 << 20);
        let a = tenant("a");
        store.put(&a, "h:1", "the original").expect("put");
        store.put(&a, "h:2", "another").expect("put");
        // Both stored two minutes ago: past the TTL.
        let old = now_ms() - 120_000;
        age(&store, old);
        // The next turn resends h:1 (the same key is the same text; a different one proves it
        // is not rewritten).
        store.put(&a, "h:1", "not written").expect("refresh");
        assert!(stored_ms(&store, "h:1") > old + 100_000, "timestamp moved");
        assert_eq!(store.get(&a, "h:1").expect("get").as_deref(), Some("the original"), "TTL restarted");
        assert_eq!(store.get(&a, "h:2").expect("get"), None, "not refreshed: expired");
        let (rows, bytes) = {
            let inner = store.lock();
            (inner.rows, inner.bytes)
        };
        assert_eq!((rows, bytes), (1, 12));
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_refresh_by_key_moves_the_timestamp_and_says_what_is_missing() {
        let dir = scratch_dir("refresh-keys");
        let store = open(&dir, Duration::from_secs(60), 1 << 20);
        let a = tenant("a");
        store.put_many(&a, [("h:1", "one"), ("h:2", "two")]).expect("put");
        let keys = |k: &[&str]| k.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        // Written just now: nothing to do.
        assert!(store.refresh_many(&a, &keys(&["h:1", "h:2"])).expect("refresh"));
        // Stored 30 s ago (past the refresh interval, within the TTL): the timestamp moves.
        let old = now_ms() - 30_000;
        age(&store, old);
        assert!(store.refresh_many(&a, &keys(&["h:1"])).expect("refresh"));
        assert!(stored_ms(&store, "h:1") > old + 20_000, "timestamp moved");
        assert_eq!(stored_ms(&store, "h:2"), old, "not asked for");
        // Expired, never stored, or another tenant's: not held.
        age(&store, now_ms() - 120_000);
        assert!(!store.refresh_many(&a, &keys(&["h:1"])).expect("refresh"), "expired");
        // What a failed refresh did not hold is written whole by the put that follows.
        store.put_many(&a, [("h:1", "one")]).expect("put");
        assert_eq!(store.get(&a, "h:1").expect("get").as_deref(), Some("one"), "restored");
        assert!(store.refresh_many(&a, &keys(&["h:1"])).expect("refresh"));
        assert!(!store.refresh_many(&a, &keys(&["h:3"])).expect("refresh"), "never stored");
        assert!(!store.refresh_many(&tenant("b"), &keys(&["h:2"])).expect("refresh"), "another tenant");
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Make every row (and this process's note of its writes) look written at `at`.
    fn age(store: &SqliteStore, at: i64) {
        let mut inner = store.lock();
        inner.conn.execute("UPDATE headroom_ccr_originals SET stored_ms = ?1", [at]).expect("age");
        inner.recent.values_mut().flat_map(|keys| keys.values_mut()).for_each(|t| *t = at);
    }

    #[test]
    fn a_resend_within_the_refresh_interval_writes_nothing_and_expiry_allows_for_it() {
        let dir = scratch_dir("coalesce");
        // TTL 60 s: refreshes at most every 6 s, and a row lives 66 s after its timestamp.
        let store = open(&dir, Duration::from_secs(60), 1 << 20);
        let a = tenant("a");
        store.put(&a, "h:1", "the original").expect("put");
        let recent = now_ms() - 3_000;
        age(&store, recent);
        store.put_many(&a, [("h:1", "the original"), ("h:2", "new")]).expect("turn");
        assert_eq!(stored_ms(&store, "h:1"), recent, "refreshed 3 s ago: not written again");
        assert!(stored_ms(&store, "h:2") > recent, "a new original is written");
        assert_eq!(store.len(), 2);
        age(&store, now_ms() - 7_000);
        store.put(&a, "h:1", "the original").expect("refresh");
        assert!(stored_ms(&store, "h:1") > now_ms() - 1_000, "7 s: written again");
        age(&store, now_ms() - 63_000);
        assert_eq!(store.get(&a, "h:1").expect("get").as_deref(), Some("the original"), "within TTL + slack");
        age(&store, now_ms() - 67_000);
        assert_eq!(store.get(&a, "h:1").expect("get"), None, "past TTL + slack");
        // A row that expired is forgotten: the next turn writes it again.
        store.put(&a, "h:1", "the original").expect("put again");
        assert_eq!(store.get(&a, "h:1").expect("get").as_deref(), Some("the original"));
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn an_eviction_forgets_what_was_written_recently() {
        let dir = scratch_dir("evict-recent");
        let store = open(&dir, Duration::from_secs(600), 20);
        let a = tenant("a");
        store.put(&a, "h:1", "0123456789").expect("put");
        store.put(&a, "h:2", "abcdefghij").expect("put");
        store.put(&a, "h:3", "ABCDEFGHIJ").expect("put: evicts h:1");
        assert_eq!(store.get(&a, "h:1").expect("get"), None, "evicted");
        // The next turn cites h:1 again: it is stored again, not skipped as recent.
        store.put(&a, "h:1", "0123456789").expect("put again");
        assert_eq!(store.get(&a, "h:1").expect("get").as_deref(), Some("0123456789"));
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_batch_is_one_transaction() {
        let dir = scratch_dir("batch");
        let store = open(&dir, Duration::from_secs(60), 1 << 20);
        let a = tenant("a");
        let items: Vec<(String, String)> =
            (0..20).map(|i| (format!("h:{i}"), format!("original {i}"))).collect();
        store.put_many(&a, items.iter().map(|(k, o)| (k.as_str(), o.as_str()))).expect("put_many");
        let (n, stamps): (i64, i64) = store
            .lock()
            .conn
            .query_row("SELECT COUNT(*), COUNT(DISTINCT stored_ms) FROM headroom_ccr_originals", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .expect("count");
        assert_eq!((n, stamps), (20, 1));
        assert_eq!(store.len(), 20);
        // A failure part-way through leaves nothing of the batch behind.
        store
            .lock()
            .conn
            .execute_batch(
                "CREATE TRIGGER refuse BEFORE INSERT ON headroom_ccr_originals \
                 WHEN NEW.key = 'h:bad' BEGIN SELECT RAISE(ABORT, 'refused'); END",
            )
            .expect("trigger");
        let batch = [("h:new1", "x"), ("h:0", "refresh"), ("h:bad", "y"), ("h:new2", "z")];
        assert!(store.put_many(&a, batch).is_err());
        assert_eq!(store.len(), 20);
        assert_eq!(store.get(&a, "h:new1").expect("get"), None, "rolled back");
        let count: i64 = store
            .lock()
            .conn
            .query_row("SELECT COUNT(*) FROM headroom_ccr_originals", [], |r| r.get(0))
            .expect("count");
        assert_eq!(count, 20);
        drop(store);
        let _ = std::fs::remove_dir_all(dir);
    }
}
