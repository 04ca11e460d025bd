//! Savings of all replicas: each request's counts added to the hour's counters in the shared
//! store (off the request's path), and summed for `/stats` (`cluster`). The per-process
//! history (`/stats-history`, the savings file) stays per replica.

use std::sync::Arc;

use serde_json::{Value, json};

use super::Shared;
use crate::accounting::{Record, Sink};

/// The accounting sink feeding the shared counters.
pub struct SavingsSink(pub Arc<Shared>);

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Sink for SavingsSink {
    fn record(&self, r: &Record) {
        let hour = unix_now() / 3600 * 3600;
        let fields = [
            ("requests", 1),
            ("tokens_before", r.tokens_before),
            ("tokens_after", r.tokens_after),
            ("tokens_saved", r.tokens_saved),
        ];
        self.0.spawn("savings", move |b| Box::pin(async move { b.savings_add(hour, &fields).await }));
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
