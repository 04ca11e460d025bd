//! The in-memory backend: originals evicted least recently stored first beyond a byte budget,
//! and dropped once older than the TTL (checked when read).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Tenant;

type Id = (Tenant, String);

struct Entry {
    original: String,
    stored: Instant,
    /// The store that put this entry last: only the queue slot with this number is live.
    generation: u64,
}

/// Eviction order by lazy deletion: a refresh pushes a new slot rather than searching the
/// queue for the old one, and slots whose generation is no longer their entry's are skipped
/// when they reach the front (or dropped by an occasional compaction).
struct Inner {
    entries: HashMap<Id, Entry>,
    order: VecDeque<(Id, u64)>,
    bytes: usize,
    next_generation: u64,
}

/// Stale slots tolerated beyond one per entry before the queue is compacted; compaction is
/// linear but runs at most once per this many refreshes, so a put stays O(1) amortised.
const SLACK: usize = 1024;

impl Inner {
    fn is_live(&self, id: &Id, generation: u64) -> bool {
        self.entries.get(id).is_some_and(|e| e.generation == generation)
    }

    /// Restart a held entry's TTL and make it the most recently stored; whether it was held.
    fn touch(&mut self, id: &Id, now: Instant) -> bool {
        let generation = self.next_generation;
        let Some(e) = self.entries.get_mut(id) else { return false };
        e.stored = now;
        e.generation = generation;
        self.next_generation += 1;
        self.order.push_back((id.clone(), generation));
        true
    }

    fn put(&mut self, tenant: &Tenant, key: &str, original: String, now: Instant, max_bytes: usize) {
        let id = (tenant.clone(), key.to_owned());
        // Keys are hashes of the original: a held one is already this text.
        if !self.touch(&id, now) {
            let generation = self.next_generation;
            self.next_generation += 1;
            self.bytes += original.len();
            self.entries.insert(id.clone(), Entry { original, stored: now, generation });
            self.order.push_back((id, generation));
        }
        while self.bytes > max_bytes {
            let Some((oldest, generation)) = self.order.pop_front() else { break };
            if self.is_live(&oldest, generation)
                && let Some(e) = self.entries.remove(&oldest)
            {
                self.bytes -= e.original.len();
            }
        }
        self.compact();
    }

    fn compact(&mut self) {
        if self.order.len() > 2 * self.entries.len() + SLACK {
            let entries = &self.entries;
            self.order.retain(|(id, g)| entries.get(id).is_some_and(|e| e.generation == *g));
        }
    }
}

/// Originals held in this process only.
pub struct MemoryStore {
    inner: Mutex<Inner>,
    ttl: Duration,
    max_bytes: usize,
}

impl MemoryStore {
    /// A store keeping entries for `ttl`, evicting least recently stored beyond `max_bytes`.
    pub fn new(ttl: Duration, max_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                order: VecDeque::new(),
                bytes: 0,
                next_generation: 0,
            }),
            ttl,
            max_bytes,
        }
    }

    /// Store an original. A key already present keeps its text (the key is a hash of it) and
    /// is only refreshed: stored now, last in the eviction order, its TTL restarted.
    pub fn put(&self, tenant: &Tenant, key: &str, original: String) {
        self.put_many(tenant, [(key.to_owned(), original)]);
    }

    /// [`put`](Self::put) for several originals under one lock.
    pub fn put_many(&self, tenant: &Tenant, items: impl IntoIterator<Item = (String, String)>) {
        let Ok(mut inner) = self.inner.lock() else { return };
        let now = Instant::now();
        for (key, original) in items {
            inner.put(tenant, &key, original, now, self.max_bytes);
        }
    }

    /// Refresh the originals held under `keys` as [`put`](Self::put) would, without their text;
    /// whether every one was held (and not expired).
    pub fn refresh_many(&self, tenant: &Tenant, keys: &[String]) -> bool {
        let Ok(mut inner) = self.inner.lock() else { return false };
        let now = Instant::now();
        let mut all = true;
        for key in keys {
            let id = (tenant.clone(), key.clone());
            let alive =
                inner.entries.get(&id).is_some_and(|e| now.saturating_duration_since(e.stored) <= self.ttl);
            all &= alive && inner.touch(&id, now);
        }
        inner.compact();
        all
    }

    /// The original stored under `key` for `tenant`, if it is still there.
    pub fn get(&self, tenant: &Tenant, key: &str) -> Option<String> {
        let mut inner = self.inner.lock().ok()?;
        let id = (tenant.clone(), key.to_owned());
        let expired = inner.entries.get(&id)?.stored.elapsed() > self.ttl;
        if expired {
            // Its queue slot goes stale and is skipped when it reaches the front.
            if let Some(e) = inner.entries.remove(&id) {
                inner.bytes -= e.original.len();
            }
            return None;
        }
        inner.entries.get(&id).map(|e| e.original.clone())
    }

    /// Whether `key` is held for `tenant` and not expired (without copying the original).
    pub fn contains(&self, tenant: &Tenant, key: &str) -> bool {
        let Ok(inner) = self.inner.lock() else { return false };
        inner.entries.get(&(tenant.clone(), key.to_owned())).is_some_and(|e| e.stored.elapsed() <= self.ttl)
    }

    /// Entries held (expired ones count until they are read).
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.entries.len()).unwrap_or(0)
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::tenant;
    use super::*;

    #[test]
    fn scoped_by_tenant_bounded_and_expiring() {
        let store = MemoryStore::new(Duration::from_secs(60), 10);
        store.put(&tenant("a"), "h:1", "12345".into());
        assert_eq!(store.get(&tenant("a"), "h:1").as_deref(), Some("12345"));
        assert_eq!(store.get(&tenant("b"), "h:1"), None);
        store.put(&tenant("a"), "h:2", "678901".into());
        assert_eq!(store.get(&tenant("a"), "h:1"), None, "evicted beyond the byte budget");
        let short = MemoryStore::new(Duration::ZERO, 100);
        short.put(&tenant("a"), "h:1", "x".into());
        std::thread::sleep(Duration::from_millis(2));
        assert_eq!(short.get(&tenant("a"), "h:1"), None);
    }

    #[test]
    fn a_refresh_by_key_keeps_what_is_held_and_says_what_is_not() {
        let store = MemoryStore::new(Duration::from_millis(50), 12);
        let a = tenant("a");
        store.put(&a, "h:1", "12345".into());
        store.put(&a, "h:2", "67890".into());
        let keys = |k: &[&str]| k.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        assert!(store.refresh_many(&a, &keys(&["h:1"])));
        assert!(!store.refresh_many(&a, &keys(&["h:1", "h:3"])), "h:3 was never stored");
        assert!(!store.refresh_many(&tenant("b"), &keys(&["h:1"])), "another tenant's");
        // The refresh made h:1 the most recently stored: a new entry evicts h:2 first.
        store.put(&a, "h:4", "abc".into());
        assert_eq!(store.get(&a, "h:2"), None);
        assert_eq!(store.get(&a, "h:1").as_deref(), Some("12345"));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!store.refresh_many(&a, &keys(&["h:1"])), "expired");
    }

    #[test]
    fn a_refresh_keeps_one_copy_counted_once() {
        let store = MemoryStore::new(Duration::from_secs(60), 100);
        let a = tenant("a");
        for _ in 0..5 {
            store.put(&a, "h:1", "12345".into());
        }
        let inner = store.inner.lock().expect("lock");
        assert_eq!((inner.entries.len(), inner.bytes), (1, 5));
        drop(inner);
        assert_eq!(store.get(&a, "h:1").as_deref(), Some("12345"));
    }

    #[test]
    fn eviction_follows_the_last_store_not_the_first() {
        let store = MemoryStore::new(Duration::from_secs(60), 12);
        let a = tenant("a");
        store.put(&a, "h:1", "aaaa".into());
        store.put(&a, "h:2", "bbbb".into());
        store.put(&a, "h:3", "cccc".into());
        // h:1 is stored again (the next turn resends it): h:2 is now the least recently stored.
        store.put(&a, "h:1", "aaaa".into());
        store.put(&a, "h:4", "dddd".into());
        assert_eq!(store.get(&a, "h:2"), None);
        assert_eq!(store.get(&a, "h:1").as_deref(), Some("aaaa"));
        store.put(&a, "h:5", "eeee".into());
        assert_eq!(store.get(&a, "h:3"), None);
        for k in ["h:1", "h:4", "h:5"] {
            assert!(store.get(&a, k).is_some(), "{k}");
        }
        assert_eq!(store.inner.lock().expect("lock").bytes, 12);
    }

    #[test]
    fn refreshes_do_not_grow_the_queue_without_bound() {
        let store = MemoryStore::new(Duration::from_secs(60), 1 << 20);
        let a = tenant("a");
        for round in 0..50 {
            store.put_many(&a, (0..100).map(|i| (format!("h:{i}"), format!("original {i}"))));
            let inner = store.inner.lock().expect("lock");
            assert!(inner.order.len() <= 2 * inner.entries.len() + SLACK + 1, "round {round}");
        }
        assert_eq!(store.len(), 100);
        // The queue still evicts in order after compactions: the oldest refresh goes first.
        let tight = MemoryStore::new(Duration::from_secs(60), 100 * 10);
        for _ in 0..30 {
            tight.put_many(&a, (0..100).map(|i| (format!("h:{i:02}"), "0123456789".to_owned())));
        }
        tight.put(&a, "h:new", "0123456789".into());
        assert_eq!(tight.get(&a, "h:00"), None);
        assert!(tight.get(&a, "h:01").is_some());
        assert!(tight.get(&a, "h:new").is_some());
    }
}
