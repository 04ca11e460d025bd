//! Memories of many conversations within a byte budget, shared fairly between tenants.
//!
//! Least recently used conversations go first, and always from the tenant holding the most:
//! a tenant that keeps no more than its share (the budget over the tenants present) never
//! loses a memory to another tenant's traffic. Losing a memory costs time, never bytes: the
//! next request of that conversation is processed in full, with the same outcome.
//!
//! Use is counted by a call counter, not a clock (the engine reads none).

use std::collections::HashMap;

use super::Memory;

/// Default budget: about 40 conversations of 300 KB, or a dozen near a 200k-token window (a
/// memory holds about three times its conversation's bytes).
pub const DEFAULT_BUDGET_BYTES: usize = 32 << 20;

/// A conversation: the tenant (a hashed key scope; never a key) and the conversation's id.
pub type ConversationId = (String, String);

struct Entry {
    memory: Memory,
    bytes: usize,
    used: u64,
}

/// What the store holds, for `/health`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Conversations remembered.
    pub conversations: u64,
    /// Tenants with at least one.
    pub tenants: u64,
    /// Bytes held.
    pub bytes: u64,
    /// The budget.
    pub budget: u64,
    /// Memories dropped to stay within the budget.
    pub evictions: u64,
    /// Requests that found their conversation's memory.
    pub hits: u64,
    /// Requests that did not (a new conversation, an eviction, a restart).
    pub misses: u64,
}

/// Memories by conversation.
pub struct Store {
    budget: usize,
    clock: u64,
    entries: HashMap<ConversationId, Entry>,
    tenants: HashMap<String, usize>,
    stats: StoreStats,
}

impl Default for Store {
    fn default() -> Self {
        Self::new(DEFAULT_BUDGET_BYTES)
    }
}

impl Store {
    /// An empty store holding at most `budget` bytes.
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            clock: 0,
            entries: HashMap::new(),
            tenants: HashMap::new(),
            stats: StoreStats { budget: budget as u64, ..StoreStats::default() },
        }
    }

    /// Change the budget (memories beyond it go at the next [`Self::put`]).
    pub fn set_budget(&mut self, budget: usize) {
        self.budget = budget;
        self.stats.budget = budget as u64;
    }

    /// Take a conversation's memory out (an empty one if there is none); give it back with
    /// [`Self::put`] once the request is done.
    pub fn take(&mut self, id: &ConversationId) -> Memory {
        match self.entries.remove(id) {
            Some(e) => {
                self.stats.hits += 1;
                self.release(&id.0, e.bytes);
                e.memory
            }
            None => {
                self.stats.misses += 1;
                Memory::default()
            }
        }
    }

    /// Keep a conversation's memory, evicting others as needed (see the module's rule).
    pub fn put(&mut self, id: ConversationId, memory: Memory) {
        let bytes = memory.bytes();
        if bytes > self.budget {
            return;
        }
        self.clock += 1;
        *self.tenants.entry(id.0.clone()).or_default() += bytes;
        self.entries.insert(id, Entry { memory, bytes, used: self.clock });
        while self.held() > self.budget {
            if !self.evict_one() {
                break;
            }
        }
    }

    /// Forget everything (a new engine configuration).
    pub fn clear(&mut self) {
        self.entries.clear();
        self.tenants.clear();
    }

    /// What the store holds.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            conversations: self.entries.len() as u64,
            tenants: self.tenants.len() as u64,
            bytes: self.held() as u64,
            ..self.stats
        }
    }

    fn held(&self) -> usize {
        self.tenants.values().sum()
    }

    fn release(&mut self, tenant: &str, bytes: usize) {
        if let Some(held) = self.tenants.get_mut(tenant) {
            *held = held.saturating_sub(bytes);
            if *held == 0 {
                self.tenants.remove(tenant);
            }
        }
    }

    /// Drop the least recently used memory of the tenant holding the most.
    fn evict_one(&mut self) -> bool {
        let Some(tenant) = self
            .tenants
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(t, _)| t.clone())
        else {
            return false;
        };
        let Some(id) = self
            .entries
            .iter()
            .filter(|(id, _)| id.0 == tenant)
            .min_by_key(|(_, e)| e.used)
            .map(|(id, _)| id.clone())
        else {
            self.tenants.remove(&tenant);
            return true;
        };
        if let Some(e) = self.entries.remove(&id) {
            self.release(&id.0, e.bytes);
            self.stats.evictions += 1;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dialect, Options};

    fn memory_of(bytes: usize) -> Memory {
        let body = format!(
            r#"{{"model":"m","messages":[{{"role":"user","content":{}}}]}}"#,
            serde_json::to_string(&"x".repeat(bytes)).expect("json")
        );
        let mut m = Memory::default();
        let count = |s: &str| s.len() as u32 / 4;
        crate::compress_request_in(&mut m, Dialect::OpenAiChat, body.as_bytes(), &Options::default(), &count)
            .expect("compressed");
        m
    }

    fn id(tenant: &str, conv: u32) -> ConversationId {
        (tenant.to_owned(), conv.to_string())
    }

    #[test]
    fn a_tenant_within_its_share_keeps_its_memories() {
        let one = memory_of(10_000).bytes();
        let mut store = Store::new(one * 10);
        for c in 0..3 {
            store.put(id("quiet", c), memory_of(10_000));
        }
        for c in 0..50 {
            store.put(id("busy", c), memory_of(10_000));
        }
        let s = store.stats();
        assert!(s.bytes as usize <= one * 10);
        assert_eq!(s.evictions, 43, "the busy tenant's oldest went");
        for c in 0..3 {
            assert!(store.entries.contains_key(&id("quiet", c)), "quiet tenant's memory {c} kept");
        }
        assert!(store.entries.contains_key(&id("busy", 49)));
        assert!(!store.entries.contains_key(&id("busy", 0)));
    }

    #[test]
    fn take_then_put_counts_hits_and_misses() {
        let mut store = Store::default();
        let m = store.take(&id("t", 1));
        assert_eq!(m.bytes(), 0);
        store.put(id("t", 1), memory_of(1000));
        let m = store.take(&id("t", 1));
        assert!(m.bytes() > 1000);
        assert_eq!(store.stats().bytes, 0, "a taken memory is not counted twice");
        store.put(id("t", 1), m);
        let s = store.stats();
        assert_eq!((s.hits, s.misses, s.conversations, s.tenants), (1, 1, 1, 1));
    }

    #[test]
    fn a_memory_larger_than_the_budget_is_not_kept() {
        let mut store = Store::new(1000);
        store.put(id("t", 1), memory_of(10_000));
        assert_eq!(store.stats().conversations, 0);
    }
}
