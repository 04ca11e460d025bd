//! The originals and the session ledger through the shared seam: written locally and to the
//! shared backend (bounded), read locally first and then from the backend. A write the backend
//! did not take is still held locally, so whatever the proxy acknowledged resolves on this
//! replica.

use crate::ccr::Tenant;
use crate::ledger::Session;
use crate::state::AppState;

impl AppState {
    /// Store a request's originals (mostly refreshes when they are a whole history's).
    pub async fn put_originals(&self, tenant: &Tenant, items: impl IntoIterator<Item = (String, String)>) {
        if !self.shared.enabled() {
            self.ccr.put_many(tenant, items);
            return;
        }
        let items: Vec<(String, String)> = items.into_iter().collect();
        if items.is_empty() {
            return;
        }
        let fresh: Vec<bool> = items.iter().map(|(k, _)| !self.ccr.contains(tenant, k)).collect();
        let ttl = self.ccr.ttl();
        // Before the request goes upstream: the answer that cites a marker reaches the client
        // only once the original is in the shared store (or the bound passed: then it is local).
        self.shared.call("originals", |b| b.put_originals(tenant.as_str(), &items, &fresh, ttl)).await;
        self.ccr.put_many(tenant, items);
    }

    /// Store the originals a turn handed over anew, and refresh those it cites from earlier
    /// turns (`kept`, by key); `false` when one of those is no longer held here: the caller
    /// then gets every original again and calls [`put_originals`](Self::put_originals). A
    /// shared backend that lost one of them gets it whole from here.
    pub async fn put_originals_next(
        &self,
        tenant: &Tenant,
        items: Vec<(String, String)>,
        kept: &[String],
    ) -> bool {
        if !self.ccr.refresh_many(tenant, kept) {
            self.put_originals(tenant, items).await;
            return false;
        }
        let mut items = items;
        if self.shared.enabled() && !kept.is_empty() {
            let ttl = self.ccr.ttl();
            let held =
                self.shared.call("originals", |b| b.refresh_originals(tenant.as_str(), kept, ttl)).await;
            for (key, _) in kept.iter().zip(held.unwrap_or_default()).filter(|(_, held)| !held) {
                if let Some(original) = self.ccr.get(tenant, key) {
                    items.push((key.clone(), original));
                }
            }
        }
        self.put_originals(tenant, items).await;
        true
    }

    /// The original stored under `key` for `tenant`: here, or by any replica.
    pub async fn get_original(&self, tenant: &Tenant, key: &str) -> Option<String> {
        if let Some(o) = self.ccr.get(tenant, key) {
            return Some(o);
        }
        self.shared.call("originals", |b| b.get_original(tenant.as_str(), key)).await.flatten()
    }

    /// Whether a request must be matched against the ledger: once anything was recorded
    /// here, and always when another replica may have recorded it.
    pub fn ledger_in_use(&self) -> bool {
        self.shared.enabled() || self.ledger.in_use()
    }

    /// `count` leading messages of `session` reached the provider untouched.
    pub async fn ledger_record(&self, session: Session, count: u32) {
        if self.shared.enabled() {
            let (tenant, id) = session.ids();
            self.shared.call("ledger", |b| b.ledger_record(tenant, &id, count)).await;
        }
        self.ledger.record(session, count);
    }

    /// Leading messages of a request in `session` with `count` messages to keep as they are
    /// (the larger of this replica's record and the shared one).
    pub async fn ledger_frozen(&self, session: &Session, count: u32) -> u32 {
        let local = self.ledger.frozen(session, count);
        if !self.shared.enabled() {
            return local;
        }
        let (tenant, id) = session.ids();
        let shared = self.shared.call("ledger", |b| b.ledger_frozen(tenant, &id)).await.unwrap_or(0);
        local.max(shared.min(count))
    }
}
