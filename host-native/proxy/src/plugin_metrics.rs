//! Plugin series on `/metrics`, read from the live set at each scrape: calls, rewrites,
//! failures, refused answers and whether each plugin is quarantined. The only label is the
//! plugin id (a loaded manifest's: lower-case letters, digits and `-`), so the series are
//! bounded by the plugin folder. A reload starts a new set, and its counters start from zero
//! (Prometheus reads that as a counter reset).

use std::sync::{Arc, OnceLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::{MetricType, TypedMetric};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    plugin: String,
}

/// The collector; it reports nothing until a plugin registry is handed to it.
#[derive(Default)]
pub struct PluginMetrics {
    registry: OnceLock<Arc<headroom_plugins::Registry>>,
}

impl std::fmt::Debug for PluginMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginMetrics").field("watching", &self.registry.get().is_some()).finish()
    }
}

impl PluginMetrics {
    /// Report the plugins of `registry` from now on.
    pub fn watch(&self, registry: Arc<headroom_plugins::Registry>) {
        let _ = self.registry.set(registry);
    }
}

impl Collector for PluginMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(registry) = self.registry.get() else { return Ok(()) };
        let set = registry.current();
        let rows: Vec<(PluginLabels, headroom_runtime::plugins::StatsSnapshot)> = set
            .plugins()
            .map(|(spec, stats)| (PluginLabels { plugin: spec.id.clone() }, stats.snapshot()))
            .collect();
        type Pick = fn(&headroom_runtime::plugins::StatsSnapshot) -> u64;
        let counters: [(&str, &str, Pick); 4] = [
            (
                "plugin_calls",
                "Calls made to each plugin of the live set (quarantined ones not included)",
                |s| s.calls,
            ),
            ("plugin_rewrites", "Calls that returned a rewrite", |s| s.rewrites),
            (
                "plugin_failures",
                "Calls that trapped, ran out of fuel, passed their deadline or returned an error",
                |s| s.failures,
            ),
            ("plugin_rejected", "Rewrites the engine refused (counted as failures for quarantine)", |s| {
                s.rejected
            }),
        ];
        for (name, help, pick) in counters {
            let mut metric = encoder.encode_descriptor(name, help, None, ConstCounter::<u64>::TYPE)?;
            for (labels, s) in &rows {
                ConstCounter::new(pick(s)).encode(metric.encode_family(labels)?)?;
            }
        }
        let mut metric = encoder.encode_descriptor(
            "plugin_quarantined",
            "1 while a plugin is quarantined (three failures in a row; until the next load)",
            None,
            MetricType::Gauge,
        )?;
        for (labels, s) in &rows {
            ConstGauge::new(i64::from(s.quarantined)).encode(metric.encode_family(labels)?)?;
        }
        let metric = encoder.encode_descriptor(
            "plugin_loads",
            "Successful loads of the plugin folder (the live set's generation)",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(i64::try_from(registry.status().generation).unwrap_or(i64::MAX)).encode(metric)?;
        Ok(())
    }
}
