//! The plugin golden cases (`tests/golden-plugins/`) through the proxy's runtime with the real
//! plugins loaded: the forwarded body must be `expected.json` byte for byte. The npm package
//! checks the same files in Node and Chromium. `HEADROOM_BLESS=1` rewrites the expected files
//! from this path (the native one is the reference).

mod support;

use std::path::Path;

use headroom_plugins::Registry;
use headroom_runtime::default_options;
use headroom_runtime::wit::{Dialect, Mode};
use support::*;

#[test]
fn plugin_golden_cases_are_byte_identical() {
    let cases = root().join("tests/golden-plugins");
    let mut names: Vec<_> = std::fs::read_dir(&cases)
        .expect("tests/golden-plugins")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("case.json").is_file())
        .collect();
    names.sort();
    assert!(names.len() >= 2, "{names:?}");
    let bless = std::env::var_os("HEADROOM_BLESS").is_some();
    for case in names {
        check_case(&case, bless);
    }
}

fn check_case(case: &Path, bless: bool) {
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(case.join("case.json")).expect("case.json")).expect("json");
    let dialect = match meta["dialect"].as_str() {
        Some("anthropic") => Dialect::AnthropicMessages,
        Some("openai-chat") => Dialect::OpenaiChat,
        Some("openai-responses") => Dialect::OpenaiResponses,
        other => panic!("{}: dialect {other:?}", case.display()),
    };
    let mut opts = default_options();
    opts.mode = Some(if meta["mode"] == "token" { Mode::Token } else { Mode::Cache });
    let dir = fresh_dir("golden");
    for id in meta["plugins"].as_array().expect("plugins") {
        install(&dir, id.as_str().expect("id"), |m| m);
    }
    let registry = Registry::open(&dir, None).expect("registry");
    assert_eq!(registry.status().last_error, None);
    let runtime = support::runtime();
    assert!(runtime.use_plugins(registry.clone()));
    let input = std::fs::read(case.join("input.json")).expect("input.json");
    let out = runtime.compress_request(dialect, &input, &opts).expect("no trap").expect("compressed");
    let sent = out.body.unwrap_or(input);
    let expected_path = case.join("expected.json");
    if bless {
        std::fs::write(&expected_path, &sent).expect("bless");
    }
    let expected = std::fs::read(&expected_path).expect("expected.json (HEADROOM_BLESS=1 writes it)");
    assert!(
        sent == expected,
        "{}: differs from expected.json\n{}",
        case.display(),
        String::from_utf8_lossy(&sent)
    );
    let stats = registry.describe();
    assert!(
        stats["plugins"]
            .as_array()
            .expect("plugins")
            .iter()
            .all(|p| p["failures"] == 0 && p["rejected"] == 0),
        "{stats}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
