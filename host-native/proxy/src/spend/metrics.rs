//! The spend instruments of `/metrics` (registered by [`crate::metrics::Metrics`]): cost in
//! USD by provider and kind, money saved, unpriced requests, and the proxy's own refusals.

use std::sync::OnceLock;
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
    /// The series every priced request adds to, resolved once per provider.
    series: crate::metrics::PerProvider<CostSeries>,
}

type UsdCounter = Counter<f64, AtomicU64>;

#[derive(Default)]
struct CostSeries {
    uncached_input: OnceLock<UsdCounter>,
    cache_read: OnceLock<UsdCounter>,
    cache_write: OnceLock<UsdCounter>,
    output: OnceLock<UsdCounter>,
    compression: OnceLock<UsdCounter>,
    input_bill: OnceLock<UsdCounter>,
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
        use crate::metrics::series;
        let s = self.series.of(provider);
        let labels = |kind| move || CostLabels { provider, kind };
        series(&s.uncached_input, &self.cost, labels("uncached_input")).inc_by(c.uncached_input);
        series(&s.cache_read, &self.cost, labels("cache_read")).inc_by(c.cache_read);
        series(&s.cache_write, &self.cost, labels("cache_write")).inc_by(c.cache_write);
        series(&s.output, &self.cost, labels("output")).inc_by(c.output);
        series(&s.compression, &self.saved, labels("compression")).inc_by(c.saved_by_compression);
        let bill = c.input_without_headroom - c.input_billed;
        if bill > 0.0 {
            series(&s.input_bill, &self.saved, labels("input_bill")).inc_by(bill);
        }
    }

    pub(crate) fn unpriced(&self) {
        self.unpriced.inc();
    }

    pub(crate) fn refused(&self, reason: &'static str) {
        self.refused.get_or_create(&ReasonLabels { reason }).inc();
    }
}
