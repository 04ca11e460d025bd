//! Conversations keep the plugin set they started with. A block's rewrite depends on the
//! block, its past and the plugin set; if a swap changed the set mid-conversation, earlier
//! blocks would be rewritten differently from how the provider saw them (a prompt-cache miss,
//! and a history the model never read). So each conversation (the ledger's session: what
//! opens it) is pinned to the set live at its first request; new conversations get the new
//! set. A pinned set lives as long as a conversation uses it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use headroom_plugins::Registry;
use headroom_runtime::plugins::{PluginSet, PluginSource};
use headroom_runtime::wit::Dialect;

use crate::ccr::Tenant;
use crate::ledger::{Session, session_of};

/// Conversations pinned at most; past it pins start afresh (a forgotten conversation moves to
/// the live set: one cache miss, never a wrong request).
const MAX_PINS: usize = 65_536;

/// The registry, with conversations pinned to their first set.
pub struct SessionPins {
    registry: Arc<Registry>,
    pins: Mutex<HashMap<Session, Arc<PluginSet>>>,
}

impl SessionPins {
    /// Pins over `registry`.
    pub fn new(registry: Arc<Registry>) -> Self {
        Self { registry, pins: Mutex::new(HashMap::new()) }
    }
}

impl PluginSource for SessionPins {
    fn current(&self) -> Arc<PluginSet> {
        self.registry.current()
    }

    fn for_request(&self, dialect: Dialect, body: &[u8]) -> Arc<PluginSet> {
        let live = self.registry.current();
        // The session is what opens the conversation; the tenant is not known here, and two
        // tenants sharing an opening only share which (valid) set they run.
        let Some((session, _)) = session_of(&Tenant::of(&http::HeaderMap::new()), dialect, body) else {
            return live;
        };
        let Ok(mut pins) = self.pins.lock() else { return live };
        if pins.len() >= MAX_PINS && !pins.contains_key(&session) {
            pins.clear();
        }
        pins.entry(session).or_insert(live).clone()
    }
}
