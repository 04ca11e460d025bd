//! The spend instruments of `/metrics` (registered by [`crate::metrics::Metrics`]): cost in
//! USD by provider and kind, money saved, unpriced requests, and the proxy's own refusals.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CostLabels {
    provider: &'static str,
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// Spend instruments.
#[derive(Default)]
pub struct SpendMetrics {
    cost: Family<CostLabels, Counter<f64, AtomicU64>>,
    saved: Family<CostLabels, Counter<f64, AtomicU64>>,
    unpriced: Counter,
    refused: Family<ReasonLabels, Counter>,
}

impl SpendMetrics {
    /// Register in `r`.
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "cost_usd",
            "Cost of requests in USD from provider-reported usage, by provider and kind (uncached_input, cache_read, cache_write, output)",
            self.cost.clone(),
        );
        r.register(
            "saved_usd",
            "USD saved: kind=compression (tokens removed at the input price), kind=input_bill (input billed without Headroom minus with it)",
            self.saved.clone(),
        );
        r.register(
            "unpriced_requests",
            "Requests with usage for a model without a price (cost unknown)",
            self.unpriced.clone(),
        );
        r.register(
            "refused_requests",
            "Requests the proxy refused with 429, by reason (budget, budget_per_key, rpm, tpm)",
            self.refused.clone(),
        );
    }

    pub(crate) fn cost(&self, provider: &'static str, c: &super::Cost) {
        for (kind, v) in [
            ("uncached_input", c.uncached_input),
            ("cache_read", c.cache_read),
            ("cache_write", c.cache_write),
            ("output", c.output),
        ] {
            self.cost.get_or_create(&CostLabels { provider, kind }).inc_by(v);
        }
        self.saved
            .get_or_create(&CostLabels { provider, kind: "compression" })
            .inc_by(c.saved_by_compression);
        let bill = c.input_without_headroom - c.input_billed;
        if bill > 0.0 {
            self.saved.get_or_create(&CostLabels { provider, kind: "input_bill" }).inc_by(bill);
        }
    }

    pub(crate) fn unpriced(&self) {
        self.unpriced.inc();
    }

    pub(crate) fn refused(&self, reason: &'static str) {
        self.refused.get_or_create(&ReasonLabels { reason }).inc();
    }
}
