//! A misbehaving plugin costs no request: each fault leaves the block as the built-ins leave
//! it, moves a counter, and a plugin that keeps failing is quarantined until the next load.

mod support;

use std::time::{Duration, Instant};

use headroom_plugins::Registry;
use headroom_runtime::default_options;
use headroom_runtime::plugins::QUARANTINE_AFTER;
use headroom_runtime::wit::Options;
use support::*;

fn opts() -> Options {
    Options { min_tokens: Some(0), ..default_options() }
}

/// A log long enough for the built-ins, with the fault's trigger in it.
fn block(trigger: &str) -> String {
    let mut s = format!("{trigger}\n");
    for i in 0..200 {
        s.push_str(&format!("2026-11-02 10:00:{:02} INFO worker {} finished job {i}\n", i % 60, i % 3));
    }
    s
}

fn registry(name: &str) -> std::sync::Arc<Registry> {
    let dir = fresh_dir(name);
    install(&dir, "faulty", |m| m);
    let registry = Registry::open(&dir, None).expect("registry");
    assert_eq!(registry.status().last_error, None, "{:?}", registry.status());
    registry
}

fn stats(registry: &Registry) -> headroom_runtime::plugins::StatsSnapshot {
    registry.current().plugins().next().expect("one plugin").1.snapshot()
}

#[test]
fn every_fault_falls_back_to_the_built_ins_and_is_counted() {
    let runtime = support::runtime();
    for (trigger, refused) in [
        ("FAULT:trap", false),
        ("FAULT:loop", false),
        ("FAULT:bomb", false),
        ("FAULT:utf8", false),
        ("FAULT:error", false),
        ("FAULT:larger", true),
        ("FAULT:foreign", true),
        ("FAULT:broken", true),
    ] {
        let registry = registry("fault");
        let text = block(trigger);
        let plain = runtime.compress_content_with(&text, None, &opts(), None).expect("no trap").expect("ok");
        let set = registry.current();
        let started = Instant::now();
        let with =
            runtime.compress_content_with(&text, None, &opts(), Some(&set)).expect("no trap").expect("ok");
        let took = started.elapsed();
        assert_eq!(format!("{with:?}"), format!("{plain:?}"), "{trigger}");
        let s = stats(&registry);
        assert_eq!(s.calls, 1, "{trigger}");
        if refused {
            assert_eq!((s.failures, s.rejected), (0, 1), "{trigger}");
        } else {
            assert_eq!((s.failures, s.rejected), (1, 0), "{trigger}");
        }
        // The fixture's deadline is 200 ms: a loop costs about that, not more.
        assert!(took < Duration::from_millis(1500), "{trigger} took {took:?}");
    }
}

#[test]
fn a_plugin_that_keeps_failing_is_quarantined_until_the_next_load() {
    let runtime = support::runtime();
    let registry = registry("quarantine");
    runtime.use_plugins(registry.clone());
    let bad = block("FAULT:trap");
    for _ in 0..QUARANTINE_AFTER + 2 {
        runtime.compress_content(&bad, None, &opts()).expect("no trap").expect("ok");
    }
    let s = stats(&registry);
    assert!(s.quarantined);
    assert_eq!(s.calls, u64::from(QUARANTINE_AFTER), "a quarantined plugin is not called");
    assert_eq!(registry.quarantined(), ["faulty"]);
    assert_eq!(registry.describe()["plugins"][0]["state"], "quarantined");
    // A good block is not offered to it either, until a reload brings it back.
    let good = block("STAMP-ME");
    let out = runtime.compress_content(&good, None, &opts()).expect("no trap").expect("ok");
    assert!(!out.text.unwrap_or_default().contains("STAMP:"));
    registry.reload().expect("reload");
    assert!(!stats(&registry).quarantined);
    let out = runtime.compress_content(&good, None, &opts()).expect("no trap").expect("ok");
    assert!(out.text.unwrap_or_default().contains("STAMP:0000000000"));
}

#[test]
fn good_calls_between_failures_end_the_streak() {
    let runtime = support::runtime();
    let registry = registry("streak");
    runtime.use_plugins(registry.clone());
    for _ in 0..4 {
        for text in [block("FAULT:foreign"), block("FAULT:trap"), block("STAMP-ME")] {
            runtime.compress_content(&text, None, &opts()).expect("no trap").expect("ok");
        }
    }
    let s = stats(&registry);
    assert!(!s.quarantined, "{s:?}");
    assert_eq!((s.failures, s.rejected, s.rewrites), (4, 4, 8));
}
