//! Per-session record of messages forwarded untouched (a bypass header, or a compression that
//! failed or ran out of time). The engine rewrites blocks the same way on every turn, but it
//! cannot know that a block went to the provider in its original form; without this record
//! the next turn would compress it and change a prefix the provider has cached. Recorded
//! sessions get those leading messages frozen (`frozen-count`) from then on.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use headroom_runtime::wit::Dialect;

use crate::ccr::Tenant;
use headroom_core::request::facts::Read;

/// Sessions remembered at most; past it the record starts afresh (a forgotten session only
/// risks one cache miss, never a wrong request).
const MAX_SESSIONS: usize = 65_536;

/// A conversation: the tenant and a hash of what opens it (up to the first user message),
/// which stay the same on every turn of an agent loop.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Session(Tenant, [u8; 32]);

impl Session {
    /// The tenant and the conversation's id (hex), as the engine's conversation memories
    /// are keyed.
    pub fn ids(&self) -> (&str, String) {
        (self.0.as_str(), blake3::Hash::from_bytes(self.1).to_hex().to_string())
    }
}

/// A request's session and how many messages (or Responses input items) it holds, from its
/// validated read; `None` without a message list.
pub fn session_in(tenant: &Tenant, read: &Read<'_>) -> Option<(Session, u32)> {
    Some((Session(tenant.clone(), read.opening()?), read.messages()?))
}

/// [`session_in`] of a body not read yet (validated here).
pub fn session_of(tenant: &Tenant, dialect: Dialect, body: &[u8]) -> Option<(Session, u32)> {
    session_in(tenant, &crate::facts::read(dialect, body)?)
}

impl Session {
    /// A short, stable identifier for display (a hash: it names neither the key nor content).
    pub fn id(&self) -> String {
        let mut hasher = blake3::Hasher::new();
        hasher.update(self.0.as_str().as_bytes());
        hasher.update(&self.1);
        // The first 12 hex digits, without writing out all 64.
        let mut id = String::with_capacity(12);
        crate::hex::push_bytes(&mut id, &hasher.finalize().as_bytes()[..6]);
        id
    }
}

/// The record.
#[derive(Default)]
pub struct Ledger {
    frozen: Mutex<HashMap<Session, u32>>,
    /// Lets the common case (nothing ever forwarded untouched) skip parsing the body.
    used: AtomicBool,
}

impl Ledger {
    /// True once anything was recorded.
    pub fn in_use(&self) -> bool {
        self.used.load(Ordering::Relaxed)
    }

    /// `count` leading messages of `session` reached the provider untouched.
    pub fn record(&self, session: Session, count: u32) {
        let Ok(mut map) = self.frozen.lock() else { return };
        if map.len() >= MAX_SESSIONS {
            map.clear();
        }
        let entry = map.entry(session).or_insert(0);
        *entry = (*entry).max(count);
        self.used.store(true, Ordering::Relaxed);
    }

    /// Leading messages of a request in `session` with `count` messages to keep as they are.
    pub fn frozen(&self, session: &Session, count: u32) -> u32 {
        self.frozen.lock().ok().and_then(|m| m.get(session).copied()).map_or(0, |n| n.min(count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_follow_the_opening_not_the_length() {
        let t = Tenant::of(&http::HeaderMap::new());
        let a = br#"{"system":"s","messages":[{"role":"user","content":"task"}]}"#;
        let b = br#"{"system":"s","messages":[{"role":"user","content":"task"},{"role":"assistant","content":"x"}]}"#;
        let c = br#"{"system":"other","messages":[{"role":"user","content":"task"}]}"#;
        let (sa, na) = session_of(&t, Dialect::AnthropicMessages, a).unwrap();
        let (sb, nb) = session_of(&t, Dialect::AnthropicMessages, b).unwrap();
        let (sc, _) = session_of(&t, Dialect::AnthropicMessages, c).unwrap();
        assert_eq!((sa.clone(), na, nb), (sb.clone(), 1, 2));
        assert_ne!(sa, sc);
        let ledger = Ledger::default();
        assert!(!ledger.in_use());
        ledger.record(sa, 1);
        assert_eq!(ledger.frozen(&sb, 2), 1);
        assert_eq!(ledger.frozen(&sc, 1), 0);
        // A moved cache breakpoint is the same conversation.
        let marked = br#"{"system":"s","messages":[{"role":"user","content":[{"type":"text","text":"task","cache_control":{"type":"ephemeral"}}]}]}"#;
        let plain = br#"{"system":"s","messages":[{"role":"user","content":[{"type":"text","text":"task"}]},{"role":"assistant","content":"x"}]}"#;
        let (sm, _) = session_of(&t, Dialect::AnthropicMessages, marked).unwrap();
        let (sp, _) = session_of(&t, Dialect::AnthropicMessages, plain).unwrap();
        assert_eq!(sm.id(), sp.id());
        // The id is the hash's first 12 hex digits.
        let mut hasher = blake3::Hasher::new();
        hasher.update(sm.0.as_str().as_bytes());
        hasher.update(&sm.1);
        assert_eq!(sm.id(), hasher.finalize().to_hex()[..12]);
    }
}
