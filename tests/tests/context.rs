//! Context-window management is deterministic across hosts: a real trajectory over a small
//! window gives the same bytes, report and offloads natively and through the component, in
//! every strategy, and the dropped originals come back under the marker's key.

use headroom_core::marker::{Marker, Unit};
use headroom_core::{ContextStrategy, Dialect, Options};
use headroom_tests::{corpus_conversation, count, openai_body, runtime, wit_dialect, wit_options};

const TRAJ: &str = "pytest-dev__pytest-7571.traj.json";

#[test]
fn native_and_component_drop_the_same_messages() {
    let conv = corpus_conversation(TRAJ);
    let body = openai_body(&conv);
    for strategy in [ContextStrategy::Scored, ContextStrategy::Position, ContextStrategy::Rolling] {
        for compress_first in [true, false] {
            let opts = Options {
                context_limit: Some(8_000),
                context_strategy: strategy,
                compress_first,
                ..Options::default()
            };
            let native =
                headroom_core::compress_request(Dialect::OpenAiChat, &body, &opts, &count).expect("native");
            let component = runtime()
                .compress_request(wit_dialect(Dialect::OpenAiChat), &body, &wit_options(&opts))
                .expect("no trap")
                .expect("no error");
            assert_eq!(native.body, component.body, "{strategy:?} {compress_first}");
            let model = native.model.as_ref().map(|m| (m.name.as_str(), m.window));
            assert_eq!(model, component.model.as_ref().map(|m| (m.name.as_str(), m.window)));
            assert!(model.is_some_and(|(_, window)| window.is_some()), "the corpus's model is known");
            let report = native.context.expect("managed");
            let theirs = component.context.expect("managed");
            assert_eq!(
                (report.tokens_after, report.messages_dropped, report.key.clone()),
                (theirs.tokens_after, theirs.messages_dropped, theirs.key.clone())
            );
            assert!(report.tokens_after <= 8_000, "{report:?}");
            assert!(report.messages_dropped > 0);

            let sent = String::from_utf8(native.body.expect("changed")).expect("utf8");
            let unescaped = sent.replace("\\\"", "\"");
            let marker = Marker::find_all(&unescaped)
                .into_iter()
                .find(|m| m.unit == Unit::Messages)
                .expect("a message marker");
            assert_eq!(Some(&marker.key), report.key.as_ref());
            let original = native.offloads.iter().find(|o| o.key == marker.key).expect("offloaded");
            let dropped: Vec<serde_json::Value> = serde_json::from_str(&original.original).expect("array");
            assert_eq!(dropped.len() as u32, report.messages_dropped);
        }
    }
}
