//! Savings of all replicas: each request's counts summed in this process and added to the
//! hour's counters in the shared store once a second (one pipeline, off every request's path),
//! and summed for `/stats` (`cluster`). The per-process history (`/stats-history`, the savings
//! file) stays per replica.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use super::Shared;
use crate::accounting::{Record, Sink};

/// How often the summed counts go to the shared store.
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// The accounting sink feeding the shared counters.
pub struct SavingsSink {
    pending: Arc<Pending>,
}

#[derive(Default)]
struct Pending {
    requests: AtomicU64,
    tokens_before: AtomicU64,
    tokens_after: AtomicU64,
    tokens_saved: AtomicU64,
}

impl Pending {
    fn take(&self) -> [(&'static str, u64); 4] {
        [
            ("requests", self.requests.swap(0, Ordering::Relaxed)),
            ("tokens_before", self.tokens_before.swap(0, Ordering::Relaxed)),
            ("tokens_after", self.tokens_after.swap(0, Ordering::Relaxed)),
            ("tokens_saved", self.tokens_saved.swap(0, Ordering::Relaxed)),
        ]
    }

    fn give_back(&self, fields: &[(&'static str, u64)]) {
        for (name, n) in fields {
            let counter = match *name {
                "requests" => &self.requests,
                "tokens_before" => &self.tokens_before,
                "tokens_after" => &self.tokens_after,
                _ => &self.tokens_saved,
            };
            counter.fetch_add(*n, Ordering::Relaxed);
        }
    }
}

impl SavingsSink {
    /// The sink, and its flushing task (which ends with the shared store).
    pub fn start(shared: &Arc<Shared>) -> Self {
        let pending = Arc::new(Pending::default());
        let (weak, counts) = (Arc::downgrade(shared), Arc::clone(&pending));
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                loop {
                    tokio::time::sleep(FLUSH_EVERY).await;
                    let Some(shared) = weak.upgrade() else { return };
                    let fields = counts.take();
                    if fields[0].1 == 0 {
                        continue;
                    }
                    let hour = unix_now() / 3600 * 3600;
                    if shared.call("savings", |b| b.savings_add(hour, &fields)).await.is_none() {
                        // Kept for the next flush: counts are not lost to an outage.
                        counts.give_back(&fields);
                    }
                }
            });
        }
        Self { pending }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Sink for SavingsSink {
    fn record(&self, r: &Record) {
        let p = &self.pending;
        p.requests.fetch_add(1, Ordering::Relaxed);
        p.tokens_before.fetch_add(r.tokens_before, Ordering::Relaxed);
        p.tokens_after.fetch_add(r.tokens_after, Ordering::Relaxed);
        p.tokens_saved.fetch_add(r.tokens_saved, Ordering::Relaxed);
    }
}

/// The `/stats` block: the last 24 hours over every replica sharing the store (`null` when
/// nothing is shared or it did not answer in time).
pub async fn cluster(shared: &Shared) -> Value {
    if !shared.enabled() {
        return Value::Null;
    }
    let now_hour = unix_now() / 3600 * 3600;
    let since = now_hour - 23 * 3600;
    match shared.call("savings", |b| b.savings_since(since, now_hour)).await {
        Some(fields) => {
            let mut v = json!({"window_hours": 24});
            for (k, n) in fields {
                v[k] = json!(n);
            }
            v
        }
        None => Value::Null,
    }
}
