//! Routing through a host whose plugins are plain Rust closures.

use std::cell::RefCell;

use super::*;
use crate::marker::{Marker, Unit};
use crate::{Options, compress_content, compress_content_plugins};

type Answer = Box<dyn Fn(&PluginCall<'_>) -> Result<PluginOutcome, String>>;

#[derive(Default)]
struct Host {
    plugins: Vec<(PluginInfo, Answer)>,
    calls: RefCell<Vec<String>>,
    rejected: RefCell<Vec<(String, String)>>,
}

impl Host {
    fn with(
        mut self,
        id: &str,
        kinds: Vec<ContentKind>,
        placement: Placement,
        lossy: bool,
        f: Answer,
    ) -> Self {
        self.plugins.push((PluginInfo { id: id.into(), kinds, placement, lossy, build: "test".into() }, f));
        self
    }
}

impl PluginHost for Host {
    fn loaded(&self) -> Vec<PluginInfo> {
        self.plugins.iter().map(|(p, _)| p.clone()).collect()
    }
    fn transform(&self, id: &str, call: &PluginCall<'_>) -> Result<PluginOutcome, String> {
        self.calls.borrow_mut().push(id.into());
        let (_, f) = self.plugins.iter().find(|(p, _)| p.id == id).ok_or("unknown")?;
        f(call)
    }
    fn rejected(&self, id: &str, reason: &str) {
        self.rejected.borrow_mut().push((id.into(), reason.into()));
    }
}

fn count(s: &str) -> u32 {
    u32::try_from(s.len() / 4).unwrap_or(u32::MAX)
}

fn rewritten(text: impl Into<String>, lossy: bool) -> Result<PluginOutcome, String> {
    Ok(PluginOutcome::Rewritten { text: text.into(), summary: "t".into(), lossy })
}

fn log_text() -> String {
    (0..400).map(|i| format!("2024-01-01 INFO worker {} finished job {i}\n", i % 3)).collect()
}

#[test]
fn a_filter_rewrites_even_a_tiny_block_and_nothing_is_stored() {
    let host = Host::default().with(
        "mask",
        vec![],
        Placement::Before,
        false,
        Box::new(|c| rewritten(c.text.replace("hunter2", "[secret: password masked]"), false)),
    );
    let out = compress_content_plugins("password=hunter2\n", None, &Options::default(), &count, &host);
    assert_eq!(out.text.as_deref(), Some("password=[secret: password masked]\n"));
    assert_eq!(out.transform, "plugin:mask");
    assert!(out.offloads.is_empty());
}

#[test]
fn a_filter_s_output_is_what_built_ins_and_offloads_see() {
    let host = Host::default().with(
        "mask",
        vec![],
        Placement::Before,
        false,
        Box::new(|c| rewritten(c.text.replace("worker 1", "worker X"), false)),
    );
    let out = compress_content_plugins(&log_text(), None, &Options::default(), &count, &host);
    assert!(out.transform.starts_with("plugin:mask+log:"), "{}", out.transform);
    let text = out.text.unwrap_or_default();
    assert!(!text.contains("worker 1"));
    assert!(out.offloads.iter().all(|o| !o.original.contains("worker 1")));
}

#[test]
fn instead_wins_and_a_decline_falls_back_to_the_built_in() {
    let text = log_text();
    let short = "2024-01-01 INFO 400 jobs finished\n";
    let host = Host::default().with("mine", vec![ContentKind::Log], Placement::Instead, false, {
        Box::new(move |_| rewritten(short, false))
    });
    let out = compress_content_plugins(&text, None, &Options::default(), &count, &host);
    assert_eq!(out.text.as_deref(), Some(short));
    assert_eq!(out.transform, "plugin:mine:t");
    let declining = Host::default().with(
        "mine",
        vec![ContentKind::Log],
        Placement::Instead,
        false,
        Box::new(|_| Ok(PluginOutcome::Declined("no".into()))),
    );
    let with = compress_content_plugins(&text, None, &Options::default(), &count, &declining);
    assert_eq!(with, compress_content(&text, None, &Options::default(), &count));
}

#[test]
fn only_offered_kinds_reach_a_plugin() {
    let host = Host::default().with(
        "json-only",
        vec![ContentKind::Json],
        Placement::Instead,
        false,
        Box::new(|_| rewritten("x", false)),
    );
    let text = log_text();
    let out = compress_content_plugins(&text, None, &Options::default(), &count, &host);
    assert!(host.calls.borrow().is_empty());
    assert_eq!(out, compress_content(&text, None, &Options::default(), &count));
}

#[test]
fn after_runs_only_when_the_built_ins_decline() {
    let prose: String = (0..60).map(|i| format!("Zebra{i} quokka{i} lemur{i} ")).collect();
    let host = Host::default().with(
        "late",
        vec![],
        Placement::After,
        false,
        Box::new(|_| rewritten("short", false)),
    );
    let opts = Options { lossy: false, ..Options::default() };
    let plain = compress_content(&prose, None, &opts, &count);
    let out = compress_content_plugins(&prose, None, &opts, &count, &host);
    if plain.text.is_none() {
        assert_eq!(out.text.as_deref(), Some("short"));
    } else {
        assert_eq!(out, plain);
    }
    let log = compress_content_plugins(&log_text(), None, &Options::default(), &count, &host);
    assert!(log.transform.starts_with("log:"), "{}", log.transform);
}

#[test]
fn refused_answers_are_reported_and_the_block_goes_on_without_them() {
    let text = log_text();
    let host = Host::default().with(
        "bad",
        vec![],
        Placement::Instead,
        true,
        Box::new(|_| {
            let m = Marker::new(Unit::Lines, vec![(1, 2)], "h:ffffffffffffffffffffffff").render();
            rewritten(format!("{m}\n"), true)
        }),
    );
    let out = compress_content_plugins(&text, None, &Options::default(), &count, &host);
    assert_eq!(out, compress_content(&text, None, &Options::default(), &count));
    assert_eq!(host.rejected.borrow().len(), 1);
    assert!(host.rejected.borrow()[0].1.contains("key"), "{:?}", host.rejected.borrow());
}

#[test]
fn a_lossy_plugin_s_original_is_stored_under_the_block_s_key() {
    let text = log_text();
    let host = Host::default().with(
        "cut",
        vec![],
        Placement::Instead,
        true,
        Box::new(|c| {
            let m = Marker::new(Unit::Lines, vec![(2, 400)], c.key).render();
            rewritten(format!("{}\n{m}\n", c.text.lines().next().unwrap_or_default()), true)
        }),
    );
    let out = compress_content_plugins(&text, None, &Options::default(), &count, &host);
    assert_eq!(out.transform, "plugin:cut:t");
    assert_eq!(out.offloads.len(), 1);
    assert_eq!(out.offloads[0].original, text);
    let strict = Options { lossy: false, ..Options::default() };
    let out = compress_content_plugins(&text, None, &strict, &count, &host);
    assert_eq!(out, compress_content(&text, None, &strict, &count));
    assert!(host.rejected.borrow().iter().any(|(_, r)| r.contains("none is allowed")), "{:?}", host.rejected);
}

#[test]
fn failed_calls_cost_nothing() {
    let text = log_text();
    let host =
        Host::default().with("trap", vec![], Placement::Before, false, Box::new(|_| Err("trapped".into())));
    let out = compress_content_plugins(&text, None, &Options::default(), &count, &host);
    assert_eq!(out, compress_content(&text, None, &Options::default(), &count));
}

#[test]
fn in_a_request_the_stored_original_is_the_filtered_block() {
    let host = Host::default().with(
        "mask",
        vec![],
        Placement::Before,
        false,
        Box::new(|c| rewritten(c.text.replace("worker 1", "worker X"), false)),
    );
    let body = format!(
        r#"{{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{{"role":"user","content":"go"}},{{"role":"assistant","content":[{{"type":"tool_use","id":"t","name":"Bash","input":{{}}}}]}},{{"role":"user","content":[{{"type":"tool_result","tool_use_id":"t","content":{}}}]}}]}}"#,
        serde_json::to_string(&log_text()).unwrap_or_default()
    );
    let opts = Options { mode: crate::Mode::Token, offload_batch_tokens: 0, ..Options::default() };
    let with = |memory: Option<&mut crate::session::Memory>| match memory {
        Some(m) => crate::compress_request_in_plugins(
            m,
            crate::Dialect::AnthropicMessages,
            body.as_bytes(),
            &opts,
            &count,
            &host,
        )
        .map(|(o, _)| o),
        None => crate::compress_request_plugins(
            crate::Dialect::AnthropicMessages,
            body.as_bytes(),
            &opts,
            &count,
            &host,
        ),
    };
    let mut memory = crate::session::Memory::default();
    for out in [with(None), with(Some(&mut memory)), with(Some(&mut memory))] {
        let out = out.expect("compressed");
        let sent = String::from_utf8(out.body.expect("rewritten")).unwrap_or_default();
        assert!(!sent.contains("worker 1 "), "{sent}");
        assert!(!out.offloads.is_empty(), "a lossy built-in ran");
        assert!(
            out.offloads.iter().all(|o| !o.original.contains("worker 1 ")),
            "the unfiltered block was stored"
        );
    }
}
