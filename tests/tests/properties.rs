//! Property tests over conversations assembled from real command outputs: determinism,
//! stability across turns, never larger, valid JSON, untouched bytes, parseable markers.

use std::sync::OnceLock;

use headroom_core::marker::Marker;
use headroom_core::{Dialect, Mode, Options};
use headroom_tests::{corpus_outputs, count, native_request, openai_body, raw_messages};
use proptest::prelude::*;

fn pool() -> &'static [String] {
    static POOL: OnceLock<Vec<String>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut outputs = corpus_outputs(3000);
        // Favour the outputs big enough to be compressed.
        outputs.retain(|o| o.len() > 200);
        outputs
    })
}

/// A conversation: task, then (command, wrapped output) turns.
fn conversation() -> impl Strategy<Value = Vec<(String, String)>> {
    let n = pool().len();
    prop::collection::vec((0..n, "[a-z_]{3,12}", 0u8..3), 1..8).prop_map(|turns| {
        let mut conv = vec![
            ("system".to_owned(), "You are a helpful assistant.".to_owned()),
            ("user".to_owned(), "Fix the bug described below.".to_owned()),
        ];
        for (i, word, rc) in turns {
            conv.push(("assistant".to_owned(), format!("THOUGHT: look.\n\n```bash\ngrep -rn {word} .\n```")));
            conv.push((
                "user".to_owned(),
                format!("<returncode>{rc}</returncode>\n<output>\n{}</output>", pool()[i]),
            ));
        }
        conv
    })
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![Just(Mode::Cache), Just(Mode::Token)]
}

fn contents_tokens(body: &[u8]) -> u32 {
    let v: serde_json::Value = serde_json::from_slice(body).expect("valid JSON");
    v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| count(m["content"].as_str().unwrap_or("")))
        .sum()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn deterministic(conv in conversation(), mode in mode()) {
        let opts = Options { mode, ..Options::default() };
        let body = openai_body(&conv);
        prop_assert_eq!(native_request(Dialect::OpenAiChat, &body, &opts), native_request(Dialect::OpenAiChat, &body, &opts));
    }

    #[test]
    fn stable_across_turns_in_cache_mode(conv in conversation()) {
        let opts = Options::default();
        let n = conv.len();
        let shorter = raw_messages(&native_request(Dialect::OpenAiChat, &openai_body(&conv[..n - 2]), &opts));
        let longer = raw_messages(&native_request(Dialect::OpenAiChat, &openai_body(&conv), &opts));
        prop_assert_eq!(&longer[..shorter.len()], &shorter[..]);
    }

    #[test]
    fn never_larger_valid_json_untouched_bytes_and_parseable_markers(conv in conversation(), mode in mode()) {
        let opts = Options { mode, ..Options::default() };
        let body = openai_body(&conv);
        let out = native_request(Dialect::OpenAiChat, &body, &opts);
        prop_assert!(contents_tokens(&out) <= contents_tokens(&body));
        let (before, after) = (raw_messages(&body), raw_messages(&out));
        prop_assert_eq!(before.len(), after.len());
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        for (i, (a, b)) in before.iter().zip(&after).enumerate() {
            if a != b {
                // Only wrapped command outputs change, and only inside their output element.
                prop_assert!(conv[i].1.starts_with("<returncode>"));
                let text = v["messages"][i]["content"].as_str().expect("string");
                prop_assert!(text.starts_with(&conv[i].1[..conv[i].1.find("<output>").expect("wrapped")]));
                prop_assert!(text.ends_with("</output>"));
                let markers = Marker::find_all(text);
                prop_assert_eq!(markers.len(), text.matches("[... ").count(), "every marker parses");
            }
        }
    }
}
