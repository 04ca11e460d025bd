//! Loading and verification: the real plugins load and run through the core component; every
//! bad folder is refused with an error naming the plugin and the check, and keeps the old set.

mod support;

use std::sync::Arc;

use headroom_plugins::{LoadError, Registry};
use headroom_runtime::default_options;
use headroom_runtime::wit::Dialect;
use support::*;

const SECRETS: &str =
    "deploy log\nAWS_ACCESS_KEY_ID=AKIAQ3EGT5KXJZ7YBN2M\nDB=postgres://app:Xk92-pqL7vW@db:5432/app\nok\n";

fn body(tool_output: &str) -> Vec<u8> {
    serde_json::json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "deploy it"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "./deploy"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": tool_output}]}
        ]
    })
    .to_string()
    .into_bytes()
}

#[test]
fn the_real_plugins_load_and_redact_through_the_component() {
    let dir = fresh_dir("load");
    install(&dir, "redact-secrets", |m| m);
    install(&dir, "csv-table", |m| m);
    let registry = Registry::open(&dir, None).expect("registry");
    assert_eq!(registry.status().last_error, None);
    assert_eq!(registry.current().plugins().count(), 2);
    let runtime = support::runtime();
    assert!(runtime.use_plugins(registry.clone()));
    let out = runtime
        .compress_request(Dialect::AnthropicMessages, &body(SECRETS), &default_options())
        .expect("no trap")
        .expect("compressed");
    let sent = String::from_utf8(out.body.expect("rewritten")).expect("utf8");
    assert!(sent.contains("AWS_ACCESS_KEY_ID=[secret: aws-access-key masked]"), "{sent}");
    assert!(sent.contains("postgres://app:[secret: password masked]@db"), "{sent}");
    assert!(!sent.contains("AKIAQ3EGT5KXJZ7YBN2M") && !sent.contains("Xk92-pqL7vW"));
    assert!(out.offloads.iter().all(|o| !o.original.contains("Xk92-pqL7vW")), "a secret was stored");
    let described = registry.describe();
    assert_eq!(described["plugins"][1]["id"], "redact-secrets");
    assert!(described["plugins"][1]["rewrites"].as_u64() >= Some(1), "{described}");
}

#[test]
fn no_plugins_change_nothing() {
    let dir = fresh_dir("empty");
    let registry = Registry::open(&dir, None).expect("registry");
    let runtime = support::runtime();
    let plain = runtime.compress_request(Dialect::AnthropicMessages, &body(SECRETS), &default_options());
    runtime.use_plugins(registry);
    let with = runtime.compress_request(Dialect::AnthropicMessages, &body(SECRETS), &default_options());
    assert_eq!(format!("{plain:?}"), format!("{with:?}"));
}

fn refused(dir: &std::path::Path) -> (Arc<Registry>, LoadError) {
    let registry = Registry::open(dir, None).expect("registry");
    let e = registry.reload().expect_err("refused");
    assert!(registry.current().is_empty(), "a refused folder loads nothing");
    assert_eq!(registry.status().last_error, Some(e.to_string()));
    (registry, e)
}

#[test]
fn a_hash_mismatch_is_refused() {
    let dir = fresh_dir("hash");
    install(&dir, "redact-secrets", |m| with_sha(&m, &"0".repeat(64)));
    let (_, e) = refused(&dir);
    assert!(matches!(&e, LoadError::HashMismatch { id, .. } if id == "redact-secrets"), "{e}");
}

#[test]
fn a_wrong_world_version_is_refused() {
    let dir = fresh_dir("world");
    install(&dir, "redact-secrets", |m| {
        m.replace("headroom:plugin/plugin@0.1.0", "headroom:plugin/plugin@0.2.0")
    });
    let (_, e) = refused(&dir);
    assert!(
        e.to_string()
            .contains("targets headroom:plugin/plugin@0.2.0, this host runs headroom:plugin/plugin@0.1.0"),
        "{e}"
    );
    // A component of another world (the core itself) with a matching hash does not link.
    let dir = fresh_dir("world2");
    let to = install(&dir, "redact-secrets", |m| m);
    let core = std::fs::read(root().join("target/wasm/headroom-core.wasm")).expect("core");
    std::fs::write(to.join("plugin.wasm"), &core).expect("write");
    let manifest = std::fs::read_to_string(to.join("plugin.toml")).expect("manifest");
    std::fs::write(to.join("plugin.toml"), with_sha(&manifest, &sha256_hex(&core))).expect("write");
    let (_, e) = refused(&dir);
    assert!(matches!(e, LoadError::Compile(..)), "{e}");
}

#[test]
fn unknown_manifest_fields_are_named() {
    let dir = fresh_dir("unknown");
    install(&dir, "csv-table", |m| m.replace("lossy = true", "lossy = true\ncolour = \"red\""));
    let (_, e) = refused(&dir);
    assert!(e.to_string().contains("colour"), "{e}");
}

#[test]
fn a_failed_self_test_is_refused() {
    let dir = fresh_dir("selftest");
    let to = install(&dir, "redact-secrets", |m| m);
    std::fs::write(to.join("self-test.txt"), "nothing secret here\n").expect("write");
    let (_, e) = refused(&dir);
    assert!(e.to_string().contains("self-test failed: expected rewritten"), "{e}");
}

#[test]
fn a_failed_reload_keeps_the_old_set() {
    let dir = fresh_dir("keep");
    install(&dir, "csv-table", |m| m);
    let registry = Registry::open(&dir, None).expect("registry");
    let before = registry.current();
    assert_eq!(before.plugins().count(), 1);
    install(&dir, "redact-secrets", |m| with_sha(&m, &"1".repeat(64)));
    assert!(registry.reload().is_err());
    assert!(Arc::ptr_eq(&before, &registry.current()));
    assert!(registry.status().last_error.is_some_and(|e| e.contains("sha256 mismatch")));
    std::fs::remove_dir_all(dir.join("redact-secrets")).expect("remove");
    registry.reload().expect("good again");
    assert_eq!(registry.status().last_error, None);
}
