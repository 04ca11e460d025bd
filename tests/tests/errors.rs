//! Error lines survive every lossy step, in every mode (DECISIONS D32): over the golden corpus
//! and a real PostgreSQL log (committed under `tests/clients/workdir/`) cut into many windows,
//! raw and in each agent's frame, on first sight and once offloaded, no line that
//! `is_error_line` accepts is ever elided.

use headroom_core::transforms::errors::is_error_line;
use headroom_core::{Dialect, Mode, Options};
use headroom_tests::{count, golden_cases, root};

/// The line's text as an output still shows it: without a `cat -n` / `Read` number, trimmed.
fn core_of(line: &str) -> &str {
    let t = line.trim_start();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let t = if digits > 0 && t[digits..].starts_with('\t') { &t[digits + 1..] } else { t };
    t.trim()
}

/// Whether the error line is still in `out`: verbatim, or (a structural rewrite such as a JSON
/// table or an envelope's re-encoded string) its JSON string content.
fn survives(line: &str, out: &str) -> bool {
    let core = core_of(line);
    let core = core.strip_suffix(',').unwrap_or(core);
    if out.contains(core) {
        return true;
    }
    let escaped = serde_json::to_string(core).unwrap_or_default();
    if out.contains(escaped.trim_matches('"')) {
        return true;
    }
    // `"key": "value"` of a pretty-printed record: the value is what must survive.
    core.split_once("\": ").and_then(|(_, v)| serde_json::from_str::<String>(v).ok()).is_some_and(|v| {
        out.contains(&v) || out.contains(serde_json::to_string(&v).unwrap_or_default().trim_matches('"'))
    })
}

fn assert_errors_kept(input: &str, out: &str, what: &str) {
    for line in input.lines().filter(|l| is_error_line(l)) {
        assert!(survives(line, out), "{what}: error line elided: {line:?}");
    }
}

fn pg_log() -> String {
    let path = root().join("tests/clients/workdir/postgresql.log");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn golden_inputs_keep_every_error_line() {
    for case in golden_cases().into_iter().filter(|c| c.dialect.is_none()) {
        let text = String::from_utf8_lossy(&case.input).into_owned();
        let out = headroom_core::compress_content(&text, None, &case.options, &count);
        if let Some(new) = out.text {
            assert_errors_kept(&text, &new, &case.name);
        }
    }
}

/// The log in windows of 60-400 lines, raw, numbered as `Read` shows it, behind Codex's
/// header and inside a JSON envelope: every compressed form keeps every error line.
#[test]
fn a_real_log_keeps_its_error_lines_in_every_frame() {
    let log = pg_log();
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.iter().filter(|l| is_error_line(l)).count() >= 5, "the log holds error lines");
    let mut compressed = 0;
    for (start, len) in (0..lines.len()).step_by(37).flat_map(|s| [(s, 60), (s, 400)]) {
        let window = &lines[start..(start + len).min(lines.len())];
        if !window.iter().any(|l| is_error_line(l)) {
            continue;
        }
        let raw = window.join("\n") + "\n";
        let numbered: String =
            window.iter().enumerate().map(|(i, l)| format!("{}\t{l}\n", start + i + 1)).collect();
        let codex = format!(
            "Chunk ID: 1a2b3c\nWall time: 0.0100 seconds\nProcess exited with code 0\nOriginal token count: 999\nOutput:\n{raw}"
        );
        let envelope = serde_json::json!({"returncode": 0, "output": raw}).to_string();
        for (frame, text) in [("raw", &raw), ("read", &numbered), ("codex", &codex), ("envelope", &envelope)]
        {
            for mode in [Mode::Cache, Mode::Token] {
                let opts = Options { mode, query: Some("grep duration".into()), ..Options::default() };
                let out = headroom_core::compress_content(text, None, &opts, &count);
                if let Some(new) = out.text {
                    compressed += 1;
                    assert_errors_kept(
                        &raw,
                        &new,
                        &format!("{frame} window {start}+{len} ({})", out.transform),
                    );
                }
            }
        }
    }
    assert!(compressed > 20, "only {compressed} windows were compressed");
}

/// Offloaded by token mode (every stale output at once): the outputs' error lines stay.
#[test]
fn offloaded_outputs_keep_their_error_lines() {
    let log = pg_log();
    let lines: Vec<&str> = log.lines().collect();
    let first = lines[..300].join("\n");
    let second = lines[300..700].join("\n");
    let body = serde_json::json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1000,
        "messages": [
            {"role": "user", "content": "What went wrong in the database?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "head -300 postgresql.log"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": first}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t2", "name": "Read", "input": {"file_path": "postgresql.log", "offset": 301, "limit": 400}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t2", "content": lines[300..700].iter().enumerate().map(|(i, l)| format!("{}\t{l}", 301 + i)).collect::<Vec<_>>().join("\n")}]},
            {"role": "assistant", "content": [{"type": "text", "text": "Looking further."}, {"type": "tool_use", "id": "t3", "name": "Bash", "input": {"command": "wc -l postgresql.log"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t3", "content": "868 postgresql.log"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t4", "name": "Bash", "input": {"command": "date"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t4", "content": "Fri Dec  4 21:50:00 UTC 2026"}]}
        ]
    })
    .to_string();
    let opts = Options { mode: Mode::Token, offload_batch_tokens: 0, ..Options::default() };
    let out = headroom_core::compress_request(Dialect::AnthropicMessages, body.as_bytes(), &opts, &count)
        .expect("valid request");
    let forwarded = String::from_utf8(out.body.expect("offloaded")).expect("utf-8");
    assert!(forwarded.contains("output of an earlier step"), "the outputs were offloaded");
    let decoded: serde_json::Value = serde_json::from_str(&forwarded).expect("json");
    let text = decoded.to_string();
    let all: String = decoded["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["content"].as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["content"].as_str().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("\n");
    for part in [&first, &second] {
        assert_errors_kept(part, &all, "offloaded");
    }
    assert!(!text.is_empty());
}
