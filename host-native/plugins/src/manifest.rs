//! `plugin.toml` as this host uses it. Parsing and every check live in headroom-core
//! (`plugins::manifest`), which the npm package reaches through the component: one
//! implementation for every host. What is here only converts to the runtime's types.

use std::time::Duration;

use headroom_core::ContentKind as CoreKind;
pub use headroom_core::plugins::manifest::{Limits, Manifest, SelfTest, WORLD, parse_kind};
use headroom_runtime::plugin_wit::{ContentKind, Placement};
use headroom_runtime::plugins::PluginLimits;

/// Bytes in a wasm page.
const PAGE: usize = 64 << 10;

/// The manifest's limits as the runtime takes them.
pub fn runtime_limits(m: &Manifest) -> PluginLimits {
    PluginLimits {
        fuel: m.limits.fuel,
        deadline: Duration::from_millis(m.limits.deadline_ms),
        memory_bytes: m.limits.memory_pages as usize * PAGE,
    }
}

/// A kind as the runtime's bindings spell it.
pub fn wit_kind(kind: &CoreKind) -> ContentKind {
    match kind {
        CoreKind::Json => ContentKind::Json,
        CoreKind::Log => ContentKind::Log,
        CoreKind::Search => ContentKind::Search,
        CoreKind::Diff => ContentKind::Diff,
        CoreKind::Code => ContentKind::Code,
        CoreKind::StackTrace => ContentKind::StackTrace,
        CoreKind::TestOutput => ContentKind::TestOutput,
        CoreKind::Listing => ContentKind::Listing,
        CoreKind::Prose => ContentKind::Prose,
        CoreKind::Other(n) => ContentKind::Other(n.clone()),
    }
}

/// A placement as the runtime's bindings spell it.
pub fn wit_placement(p: headroom_core::plugins::Placement) -> Placement {
    match p {
        headroom_core::plugins::Placement::Before => Placement::Before,
        headroom_core::plugins::Placement::Instead => Placement::Instead,
        headroom_core::plugins::Placement::After => Placement::After,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_convert_to_bytes() {
        let text = r#"
sha256 = "0000000000000000000000000000000000000000000000000000000000000000"
id = "t"
version = "0.1.0"
world = "headroom:plugin/plugin@0.1.0"
kinds = ["*"]
lossy = false
placement = "before"
[limits]
deadline_ms = 50
memory_pages = 16
[self_test]
sample = "s.txt"
kind = "log"
"#;
        let m = Manifest::parse(text).expect("valid");
        assert_eq!(runtime_limits(&m).memory_bytes, 16 << 16);
        assert!(
            matches!(wit_kind(&parse_kind("other:csv").expect("kind")), ContentKind::Other(n) if n == "csv")
        );
    }
}
