//! Every tool output of a JSONL file (`{"tool", "query", "text"}` per line) through
//! `compress_content`, one output at a time as it first arrives, for tuning:
//! `cargo run --release -p headroom-core --example outputs -- FILE [--mode token] [--show TOOL]`.
//! Prints, by tool, outputs, how many were compressed, tokens before and after, the
//! transforms used, and every error line that a rewrite lost (there must be none).

use std::collections::BTreeMap;

use headroom_core::transforms::errors::is_error_line;
use headroom_core::{Mode, Options};

#[derive(Default)]
struct Row {
    n: u64,
    compressed: u64,
    before: u64,
    after: u64,
    transforms: BTreeMap<String, u64>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).cloned().unwrap_or_default();
    let show = args.iter().position(|a| a == "--show").and_then(|i| args.get(i + 1)).cloned();
    let mode = if args.iter().any(|a| a == "token") { Mode::Token } else { Mode::Cache };
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let count = |s: &str| headroom_tokenizer::O200k::count(s);
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let mut lost = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let tool = v["tool"].as_str().unwrap_or("?");
        let tool = if tool.starts_with("mcp__") { "mcp__*" } else { tool };
        let body = v["text"].as_str().unwrap_or("");
        let opts = Options { mode, query: v["query"].as_str().map(str::to_owned), ..Options::default() };
        let out = headroom_core::compress_content(body, None, &opts, &count);
        let row = rows.entry(tool.to_owned()).or_default();
        row.n += 1;
        row.before += u64::from(out.tokens_before);
        row.after += u64::from(out.tokens_after);
        row.compressed += u64::from(out.text.is_some());
        *row.transforms.entry(format!("{}/{}", out.kind.name(), out.transform)).or_default() += 1;
        if let Some(new) = &out.text {
            for l in body.lines().filter(|l| is_error_line(l)) {
                if !new.contains(l) {
                    lost += 1;
                    println!("LOST ERROR LINE ({tool}, {}): {l}", out.transform);
                }
            }
            if show.as_deref() == Some(tool) {
                println!(
                    "===== {tool} {} {} -> {}\n{}\n----- became\n{}",
                    out.transform, out.tokens_before, out.tokens_after, body, new
                );
            }
        } else if show.as_deref() == Some(tool) && out.tokens_before > 300 {
            println!(
                "===== {tool} {} kind {} {} tokens\n{}",
                out.transform,
                out.kind.name(),
                out.tokens_before,
                &body[..body.len().min(1500)]
            );
        }
    }
    let (mut b, mut a) = (0, 0);
    for (tool, r) in &rows {
        b += r.before;
        a += r.after;
        let pct = 100.0 * (r.before - r.after) as f64 / r.before.max(1) as f64;
        println!(
            "{tool:16} n={:5} compressed={:5} {:>9} -> {:>9} ({pct:.1}%)",
            r.n, r.compressed, r.before, r.after
        );
        let mut t: Vec<_> = r.transforms.iter().collect();
        t.sort_by(|x, y| y.1.cmp(x.1));
        for (name, n) in t.iter().take(8) {
            println!("    {n:5} {name}");
        }
    }
    println!("all: {b} -> {a} ({:.1}%), error lines lost: {lost}", 100.0 * (b - a) as f64 / b.max(1) as f64);
}
