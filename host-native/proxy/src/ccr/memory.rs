//! The in-memory backend: originals evicted least recently stored first beyond a byte budget,
//! and dropped once older than the TTL (checked when read).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Tenant;

struct Entry {
    original: String,
    stored: Instant,
}

struct Inner {
    entries: HashMap<(Tenant, String), Entry>,
    order: VecDeque<(Tenant, String)>,
    bytes: usize,
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
            inner: Mutex::new(Inner { entries: HashMap::new(), order: VecDeque::new(), bytes: 0 }),
            ttl,
            max_bytes,
        }
    }

    /// Store an original (a key already present is refreshed).
    pub fn put(&self, tenant: &Tenant, key: &str, original: String) {
        let Ok(mut inner) = self.inner.lock() else { return };
        let id = (tenant.clone(), key.to_owned());
        if let Some(old) = inner.entries.remove(&id) {
            inner.bytes -= old.original.len();
            inner.order.retain(|k| k != &id);
        }
        inner.bytes += original.len();
        inner.entries.insert(id.clone(), Entry { original, stored: Instant::now() });
        inner.order.push_back(id);
        while inner.bytes > self.max_bytes {
            let Some(oldest) = inner.order.pop_front() else { break };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.bytes -= e.original.len();
            }
        }
    }

    /// The original stored under `key` for `tenant`, if it is still there.
    pub fn get(&self, tenant: &Tenant, key: &str) -> Option<String> {
        let mut inner = self.inner.lock().ok()?;
        let id = (tenant.clone(), key.to_owned());
        let expired = inner.entries.get(&id)?.stored.elapsed() > self.ttl;
        if expired {
            if let Some(e) = inner.entries.remove(&id) {
                inner.bytes -= e.original.len();
            }
            inner.order.retain(|k| k != &id);
            return None;
        }
        inner.entries.get(&id).map(|e| e.original.clone())
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
}
