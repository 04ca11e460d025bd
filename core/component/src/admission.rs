//! The `admission` export: headroom-core's manifest checks and self-test judgement for hosts
//! that cannot link headroom-core natively (the npm package).

use headroom_core::plugins::manifest::{Manifest as CoreManifest, admit, judge_self_test, parse_kind};
use headroom_core::plugins::{Placement, PluginOutcome};

use crate::exports::headroom::compress::admission::{Guest, Limits, Manifest, SelfTest};
use crate::headroom::plugin::plugins::Plugin;
use crate::headroom::plugin::types as wit;
use crate::plugin_host::kind_out;

impl Guest for crate::Engine {
    fn admit(manifest: String, component_sha256: String) -> Result<Manifest, String> {
        let m = admit(&manifest, &component_sha256).map_err(|e| e.to_string())?;
        let info = m.info()?;
        let sample_kind = parse_kind(&m.self_test.kind)?;
        Ok(Manifest {
            plugin: Plugin {
                id: info.id,
                kinds: info.kinds.iter().map(kind_out).collect(),
                placement: match info.placement {
                    Placement::Before => wit::Placement::Before,
                    Placement::Instead => wit::Placement::Instead,
                    Placement::After => wit::Placement::After,
                },
                lossy: info.lossy,
                build: info.build,
            },
            version: m.version,
            implements: m.world,
            kind_names: m.kinds,
            limits: Limits {
                fuel: m.limits.fuel,
                deadline_ms: m.limits.deadline_ms,
                memory_pages: m.limits.memory_pages,
            },
            self_test: SelfTest { sample: m.self_test.sample, kind: kind_out(&sample_kind) },
        })
    }

    fn self_test_block(sample: String) -> wit::Block {
        let key = headroom_core::offload::key_for(&sample);
        wit::Block { text: sample, key }
    }

    fn judge_self_test(manifest: String, sample: String, answer: wit::Outcome) -> Result<(), String> {
        let m = CoreManifest::parse(&manifest)?;
        let answer = match answer {
            wit::Outcome::Rewritten(r) => {
                PluginOutcome::Rewritten { text: r.text, summary: r.summary, lossy: r.lossy }
            }
            wit::Outcome::Declined(why) => PluginOutcome::Declined(why),
        };
        judge_self_test(&m, &sample, &answer)
    }
}
