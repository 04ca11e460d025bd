//! The last body of each recent conversation, kept so that the next body of the same
//! conversation is validated and hashed only past the messages it shares with it (the rule is
//! the engine's: [`headroom_core::request::facts::Memo`]). A long conversation resends all of
//! its history every turn; without this the proxy validated and hashed every byte of it again.
//!
//! The conversation is not known before the body is read, so a body is compared with each
//! memo its key scope holds (a comparison stops at the first differing byte: only the
//! conversation's own previous body is compared in full) and the one sharing the most
//! messages is used. Bounded: a few memos per key scope, and at most the conversation
//! memory's budget in all; over it, the scope holding the most bytes loses its oldest memo,
//! so no scope can push another below a fair share.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use headroom_core::Dialect;
use headroom_core::request::facts::Memo;

use crate::ccr::Tenant;

/// Memos kept per key scope: its concurrent conversations (a main loop, subagents, the small
/// requests an agent sends beside them).
const PER_TENANT: usize = 8;

/// The memos.
pub struct ReadMemos {
    budget: usize,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: Vec<Entry>,
    clock: u64,
    bytes: usize,
}

struct Entry {
    tenant: Tenant,
    memo: Arc<Memo<Bytes>>,
    used: u64,
}

impl ReadMemos {
    /// Memos holding at most `budget` bytes in all (0: none are kept).
    pub fn new(budget: usize) -> Self {
        Self { budget, inner: Mutex::new(Inner::default()) }
    }

    /// The memo of `tenant` that shares the most leading messages with `body`, and how many.
    pub fn best(&self, tenant: &Tenant, dialect: Dialect, body: &[u8]) -> Option<(Arc<Memo<Bytes>>, usize)> {
        if self.budget == 0 {
            return None;
        }
        let candidates: Vec<Arc<Memo<Bytes>>> = {
            let inner = self.inner.lock().ok()?;
            inner.entries.iter().filter(|e| &e.tenant == tenant).map(|e| Arc::clone(&e.memo)).collect()
        };
        candidates
            .into_iter()
            .map(|memo| {
                let shared = memo.shared(dialect, body);
                (memo, shared)
            })
            .filter(|(_, shared)| *shared > 0)
            .max_by_key(|(_, shared)| *shared)
    }

    /// Keep `memo` for `tenant`, in place of `replaces` (the memo the body was read after).
    pub fn keep(&self, tenant: &Tenant, memo: Memo<Bytes>, replaces: Option<&Arc<Memo<Bytes>>>) {
        let size = memo.bytes();
        if self.budget == 0 || size > self.budget {
            return;
        }
        let Ok(mut inner) = self.inner.lock() else { return };
        inner.clock += 1;
        let used = inner.clock;
        let memo = Arc::new(memo);
        let at = replaces.and_then(|old| inner.entries.iter().position(|e| Arc::ptr_eq(&e.memo, old)));
        match at {
            Some(i) => {
                inner.bytes = inner.bytes - inner.entries[i].memo.bytes() + size;
                inner.entries[i] = Entry { tenant: tenant.clone(), memo, used };
            }
            None => {
                if inner.entries.iter().filter(|e| &e.tenant == tenant).count() >= PER_TENANT {
                    inner.evict_oldest_of(tenant);
                }
                inner.bytes += size;
                inner.entries.push(Entry { tenant: tenant.clone(), memo, used });
            }
        }
        while inner.bytes > self.budget {
            let Some(heaviest) = inner.heaviest() else { break };
            inner.evict_oldest_of(&heaviest);
        }
    }

    /// Memos kept and the bytes they hold.
    pub fn held(&self) -> (usize, usize) {
        self.inner.lock().map(|i| (i.entries.len(), i.bytes)).unwrap_or_default()
    }
}

impl Inner {
    fn evict_oldest_of(&mut self, tenant: &Tenant) {
        let oldest = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| &e.tenant == tenant)
            .min_by_key(|(_, e)| e.used)
            .map(|(i, _)| i);
        if let Some(i) = oldest {
            let gone = self.entries.swap_remove(i);
            self.bytes -= gone.memo.bytes();
        }
    }

    /// The key scope holding the most bytes.
    fn heaviest(&self) -> Option<Tenant> {
        let mut totals: Vec<(&Tenant, usize)> = Vec::new();
        for e in &self.entries {
            match totals.iter_mut().find(|(t, _)| *t == &e.tenant) {
                Some((_, n)) => *n += e.memo.bytes(),
                None => totals.push((&e.tenant, e.memo.bytes())),
            }
        }
        totals.into_iter().max_by_key(|(_, n)| *n).map(|(t, _)| t.clone())
    }
}

#[cfg(test)]
mod tests {
    use headroom_core::request::facts::Read;

    use super::*;

    fn body(first: &str, n: usize) -> Bytes {
        let list: Vec<String> =
            (0..n).map(|i| format!(r#"{{"role":"user","content":"{first} message {i}"}}"#)).collect();
        Bytes::from(format!(r#"{{"model":"gpt-4o","messages":[{}]}}"#, list.join(",")))
    }

    /// Read `body` as the proxy does and keep its memo.
    fn read(memos: &ReadMemos, tenant: &Tenant, body: Bytes) -> usize {
        let best = memos.best(tenant, Dialect::OpenAiChat, &body);
        let text = std::str::from_utf8(&body).expect("utf-8").to_owned();
        let (read, shared) =
            Read::validated_after(Dialect::OpenAiChat, &text, best.as_ref().map(|(m, _)| m.as_ref())).expect("valid");
        let (_, memo) = read.hashes_after(body.clone(), best.as_ref().map(|(m, _)| m.as_ref()), shared);
        memos.keep(tenant, memo, best.as_ref().map(|(m, _)| m));
        shared
    }

    fn tenant(key: &str) -> Tenant {
        let mut headers = http::HeaderMap::new();
        headers.insert("x-api-key", key.parse().expect("header"));
        Tenant::of(&headers)
    }

    #[test]
    fn each_conversation_finds_its_own_previous_body() {
        let memos = ReadMemos::new(1 << 20);
        let t = tenant("k1");
        assert_eq!(read(&memos, &t, body("a", 3)), 0);
        assert_eq!(read(&memos, &t, body("b", 2)), 0);
        assert_eq!(read(&memos, &t, body("a", 5)), 3, "a's turn shares a's three messages");
        assert_eq!(read(&memos, &t, body("b", 4)), 2);
        assert_eq!(memos.held().0, 2, "each conversation's memo replaced its previous one");
        assert_eq!(read(&memos, &tenant("k2"), body("a", 6)), 0, "another key scope shares nothing");
    }

    #[test]
    fn the_heaviest_key_scope_gives_way_and_none_are_kept_without_a_budget() {
        let one = body("a", 40).len() + 40 * 40 + 200;
        let memos = ReadMemos::new(3 * one);
        let (heavy, light) = (tenant("heavy"), tenant("light"));
        read(&memos, &light, body("light", 40));
        for i in 0..5 {
            read(&memos, &heavy, body(&format!("heavy{i}"), 40));
        }
        let (kept, bytes) = memos.held();
        assert!(bytes <= 3 * one && kept <= 3, "{kept} memos, {bytes} bytes");
        assert_eq!(read(&memos, &light, body("light", 41)), 40, "the light scope kept its memo");
        let none = ReadMemos::new(0);
        read(&none, &light, body("x", 3));
        assert_eq!(read(&none, &light, body("x", 4)), 0);
        assert_eq!(none.held(), (0, 0));
    }
}
