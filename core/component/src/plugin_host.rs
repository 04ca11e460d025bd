//! The engine's `PluginHost` over the component's `plugins` import: the host dispatches to the
//! plugin instances it loaded; routing and checks stay in headroom-core.

use headroom_core::ContentKind;
use headroom_core::plugins::{Placement, PluginCall, PluginHost, PluginInfo, PluginOutcome};

use crate::headroom::plugin::plugins as host;
use crate::headroom::plugin::types as wit;

pub struct ImportedPlugins;

impl PluginHost for ImportedPlugins {
    fn loaded(&self) -> Vec<PluginInfo> {
        host::loaded()
            .into_iter()
            .map(|p| PluginInfo {
                id: p.id,
                kinds: p.kinds.into_iter().map(kind_in).collect(),
                placement: match p.placement {
                    wit::Placement::Before => Placement::Before,
                    wit::Placement::Instead => Placement::Instead,
                    wit::Placement::After => Placement::After,
                },
                lossy: p.lossy,
                build: p.build,
            })
            .collect()
    }

    fn transform(&self, id: &str, call: &PluginCall<'_>) -> Result<PluginOutcome, String> {
        let block = wit::Block { text: call.text.to_owned(), key: call.key.to_owned() };
        let context = wit::Context { query: call.query.map(str::to_owned), lossy: call.lossy };
        match host::transform(id, &block, &kind_out(call.kind), &context)? {
            wit::Outcome::Rewritten(r) => {
                Ok(PluginOutcome::Rewritten { text: r.text, summary: r.summary, lossy: r.lossy })
            }
            wit::Outcome::Declined(why) => Ok(PluginOutcome::Declined(why)),
        }
    }

    fn rejected(&self, id: &str, reason: &str) {
        host::rejected(id, reason);
    }
}

fn kind_in(k: wit::ContentKind) -> ContentKind {
    use wit::ContentKind as W;
    match k {
        W::Json => ContentKind::Json,
        W::Log => ContentKind::Log,
        W::Search => ContentKind::Search,
        W::Diff => ContentKind::Diff,
        W::Code => ContentKind::Code,
        W::StackTrace => ContentKind::StackTrace,
        W::TestOutput => ContentKind::TestOutput,
        W::Listing => ContentKind::Listing,
        W::Prose => ContentKind::Prose,
        W::Other(s) => ContentKind::Other(s),
    }
}

pub(crate) fn kind_out(k: &ContentKind) -> wit::ContentKind {
    use wit::ContentKind as W;
    match k {
        ContentKind::Json => W::Json,
        ContentKind::Log => W::Log,
        ContentKind::Search => W::Search,
        ContentKind::Diff => W::Diff,
        ContentKind::Code => W::Code,
        ContentKind::StackTrace => W::StackTrace,
        ContentKind::TestOutput => W::TestOutput,
        ContentKind::Listing => W::Listing,
        ContentKind::Prose => W::Prose,
        ContentKind::Other(s) => W::Other(s.clone()),
    }
}
