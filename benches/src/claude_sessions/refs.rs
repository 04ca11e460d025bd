//! Next-step fidelity: where each string the agent's next turn used ended up in the body the
//! engine forwarded.

use headroom_core::Offload;
use headroom_core::marker::Marker;
use serde_json::Value;

use super::text::{all_text, forwarded_text};

/// Where a next ref is in the forwarded request. Each ref gets exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fate {
    /// Verbatim in the system prompt or the messages (`build.py`'s `score_next_refs`).
    Kept,
    /// Not there, but somewhere else in the forwarded request (tool definitions, say).
    InView,
    /// Out of view, but a marker in the forwarded messages retrieves an original holding it.
    BehindMarker,
    /// Nowhere the model can see or retrieve.
    Lost,
}

impl Fate {
    /// Every fate, in report order.
    pub const ALL: [Fate; 4] = [Fate::Kept, Fate::InView, Fate::BehindMarker, Fate::Lost];

    /// Column name.
    pub fn name(self) -> &'static str {
        match self {
            Fate::Kept => "kept",
            Fate::InView => "in view",
            Fate::BehindMarker => "behind a marker",
            Fate::Lost => "lost",
        }
    }
}

/// Classifies refs against one forwarded body.
pub struct Scorer<'a> {
    text: String,
    rest: String,
    behind: Vec<&'a str>,
}

impl<'a> Scorer<'a> {
    /// `body`: the forwarded request; `offloads`: the originals its markers retrieve.
    pub fn new(body: &Value, offloads: &'a [Offload]) -> Self {
        let text = forwarded_text(body);
        let behind = Marker::find_all(&text)
            .iter()
            .filter_map(|m| offloads.iter().find(|o| o.key == m.key))
            .map(|o| o.original.as_str())
            .collect();
        Self { rest: all_text(body), text, behind }
    }

    /// Where `reference` is.
    pub fn fate(&self, reference: &str) -> Fate {
        if self.text.contains(reference) {
            Fate::Kept
        } else if self.rest.contains(reference) {
            Fate::InView
        } else if self.behind.iter().any(|o| o.contains(reference)) {
            Fate::BehindMarker
        } else {
            Fate::Lost
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn each_ref_gets_one_fate() {
        let marker = Marker::new(headroom_core::marker::Unit::Lines, vec![(2, 2)], "h:aa").render();
        let body = json!({"system": "s", "tools": [{"description": "tool words"}],
            "messages": [{"role": "user", "content": format!("head\n{marker}")}]});
        let offloads = vec![Offload { key: "h:aa".into(), original: "head\nhidden line\n".into() }];
        let s = Scorer::new(&body, &offloads);
        assert_eq!(s.fate("head"), Fate::Kept);
        assert_eq!(s.fate("tool words"), Fate::InView);
        assert_eq!(s.fate("hidden line"), Fate::BehindMarker);
        assert_eq!(s.fate("nowhere"), Fate::Lost);
    }
}
