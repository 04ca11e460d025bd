//! Sizes of the JSON transform on Headroom's parity fixtures, next to Headroom's own output, and
//! whether the fidelity cases' evidence survives lossy sampling. Reads
//! `../shared/corpus/headroom-parity` (fails clearly without it) and prints a report:
//! `cargo run --release -p headroom-benches --bin json_parity` (`SHOW=PREFIX` also prints the
//! lossy output of the fixtures whose name starts with PREFIX).

use std::path::Path;

use anyhow::{Context, Result};
use headroom_core::{ContentKind, Options, compress_content};
use headroom_tokenizer::O200k;
use serde_json::Value;

fn count(s: &str) -> u32 {
    O200k::count(s)
}

/// The text the engine forwards for `input` as JSON, lossless or lossy, with `query`.
fn run(input: &str, lossy: bool, query: &str) -> String {
    let opts = Options { lossy, query: (!query.is_empty()).then(|| query.to_owned()), ..Options::default() };
    compress_content(input, Some(ContentKind::Json), &opts, &count).text.unwrap_or_else(|| input.to_owned())
}

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/headroom-parity");
    let dir = std::fs::read_dir(root.join("smart_crusher")).with_context(|| {
        format!("this measurement reads Headroom's parity fixtures at {}: put ../shared/corpus beside the repository", root.display())
    })?;
    let mut paths: Vec<_> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    println!("{:<45} {:>7} {:>9} {:>7} {:>8}", "fixture", "input", "lossless", "lossy", "headroom");
    for path in paths {
        let fixture: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        let input = fixture["input"]["content"].as_str().context("fixture without input.content")?;
        let headroom = fixture["output"]["compressed"].as_str().context("fixture without output")?.len();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        println!(
            "{name:<45} {:>7} {:>9} {:>7} {headroom:>8}",
            input.len(),
            run(input, false, "").len(),
            run(input, true, "").len()
        );
        if std::env::var("SHOW").is_ok_and(|s| name.starts_with(&s)) {
            println!("{}", run(input, true, ""));
        }
    }
    let cases: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("fidelity_golden_cases.json"))?)?;
    for case in cases.as_array().context("fidelity cases are a list")? {
        let input = case["content"].to_string();
        let text = run(&input, true, case["question"].as_str().unwrap_or_default());
        let evidence = case["answer_evidence"].as_array().context("evidence")?;
        let missing: Vec<&Value> =
            evidence.iter().filter(|e| !text.contains(e.as_str().unwrap_or("?"))).collect();
        println!("{:<20} {:>6} -> {:>5} missing evidence: {missing:?}", case["id"], input.len(), text.len());
        println!("{text}");
    }
    Ok(())
}
