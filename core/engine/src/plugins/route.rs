//! The plugin routing table: which loaded plugin sees which block, in which order, and what
//! happens to its answer. Plugins run in the order the host lists them within a placement.

use super::{Placement, PluginCall, PluginHost, PluginInfo, PluginOutcome, check};
use crate::kind::ContentKind;
use crate::offload::key_for;
use crate::transforms::{Ctx, Rewrite};

/// The plugins of one engine call.
pub struct Plugins<'h> {
    host: &'h dyn PluginHost,
    list: Vec<PluginInfo>,
}

impl<'h> Plugins<'h> {
    /// Ask `host` once for its plugins.
    pub fn new(host: &'h dyn PluginHost) -> Self {
        Self { host, list: host.loaded() }
    }

    fn at(&self, placement: Placement) -> impl Iterator<Item = &PluginInfo> {
        self.list.iter().filter(move |p| p.placement == placement)
    }

    /// Run the `before` filters over a block, in order; each sees the previous one's output.
    /// Returns the filtered text and the ids of the filters that changed it, or `None` when
    /// none did. `kind` is asked only when a filter is offered specific kinds.
    pub fn filter(
        &self,
        text: &str,
        kind: &dyn Fn() -> ContentKind,
        query: &str,
        lossy: bool,
    ) -> Option<(String, Vec<String>)> {
        let mut current: Option<String> = None;
        let mut by = Vec::new();
        for p in self.at(Placement::Before) {
            let k = kind();
            if !p.offered(&k) {
                continue;
            }
            let input = current.as_deref().unwrap_or(text);
            let key = key_for(input);
            let call = PluginCall {
                text: input,
                key: &key,
                kind: &k,
                query: non_empty(query),
                lossy: lossy && p.lossy,
            };
            if let Some((out, _)) = self.call(p, &call)
                && out != input
            {
                current = Some(out);
                by.push(p.id.clone());
            }
        }
        current.map(|t| (t, by))
    }

    /// The plugins, as the host listed them.
    pub fn list(&self) -> &[PluginInfo] {
        &self.list
    }

    /// Whether any filter runs before the built-ins.
    pub fn has_filters(&self) -> bool {
        self.list.iter().any(|p| p.placement == Placement::Before)
    }

    /// The transform of a block of `kind`: the `instead` plugins offered it (the first rewrite
    /// wins), else the built-in, else the `after` plugins offered it.
    pub fn route(
        &self,
        kind: &ContentKind,
        text: &str,
        query: &str,
        ctx: &Ctx<'_>,
        builtin: impl FnOnce() -> Option<Rewrite>,
    ) -> Option<Rewrite> {
        if self.list.is_empty() {
            return builtin();
        }
        let first_of = |placement| {
            self.at(placement).filter(|p| p.offered(kind)).find_map(|p| {
                let lossy = ctx.lossy && p.lossy;
                let call = PluginCall { text, key: ctx.key, kind, query: non_empty(query), lossy };
                self.call(p, &call).map(|(text, (summary, lossy))| Rewrite {
                    text,
                    transform: format!("plugin:{}:{summary}", p.id),
                    lossy,
                })
            })
        };
        first_of(Placement::Instead).or_else(builtin).or_else(|| first_of(Placement::After))
    }

    /// Call one plugin and check its rewrite: `(text, (summary, lossy))`, or `None` when it
    /// declined, failed (the host counts that) or was refused (reported to the host).
    fn call(&self, p: &PluginInfo, call: &PluginCall<'_>) -> Option<(String, (String, bool))> {
        match self.host.transform(&p.id, call) {
            Ok(PluginOutcome::Rewritten { text, summary, lossy }) => {
                match check(call.text, call.key, &text, lossy, call.lossy, p.placement) {
                    Ok(()) => Some((text, (summary, lossy))),
                    Err(reason) => {
                        self.host.rejected(&p.id, &reason.to_string());
                        None
                    }
                }
            }
            Ok(PluginOutcome::Declined(_)) | Err(_) => None,
        }
    }
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}
