//! The memory's index of earlier text is the index a stateless walk of the same request
//! builds, text for text, on every turn: outputs alone could not show it, as a text missing
//! from the index changes nothing until a later block looks it up.

use super::Memory;
use crate::{Dialect, Options, compress_request_in};

fn count(s: &str) -> u32 {
    (s.len() / 4) as u32
}

/// A conversation of command outputs (with lines repeated from earlier turns, so later
/// blocks look them up), typed messages long enough to be indexed, and assistant replies.
fn bodies(turns: usize) -> Vec<Vec<u8>> {
    let mut messages = vec![serde_json::json!({"role": "system", "content": "You are a coding agent."})];
    let mut out = Vec::new();
    for t in 0..turns {
        let shared: String =
            (0..12).map(|i| format!("    shared_config_line_{i} = load(settings, {i})\n")).collect();
        let own: String = (0..40)
            .map(|i| format!("2026-12-05 10:{t:02}:{i:02} INFO worker {t} processed item {i} ok\n"))
            .collect();
        let output = if t % 2 == 0 { format!("{own}{shared}") } else { format!("{shared}{own}") };
        messages.push(serde_json::json!({
            "role": "user",
            "content": format!("<returncode>0</returncode>\n<output>\n{output}</output>"),
        }));
        if t % 3 == 0 {
            let typed: String = (0..6)
                .map(|i| format!("Please also check the handling of case {t}.{i} in the parser. "))
                .collect();
            messages.push(serde_json::json!({"role": "user", "content": typed}));
        }
        out.push(
            serde_json::to_vec(&serde_json::json!({"model": "gpt-4o", "messages": messages})).expect("json"),
        );
        messages.push(serde_json::json!({"role": "assistant", "content": format!("THOUGHT: step {t} looks fine; next I run the tests again to see what changed.\n\n```bash\npytest -q tests/test_{t}.py\n```")}));
    }
    out
}

#[test]
fn the_index_a_memory_keeps_is_the_one_a_stateless_walk_builds() {
    for opts in [
        Options { offload_batch_tokens: 0, ..Options::default() },
        Options::default(),
        Options { mode: crate::Mode::Cache, ..Options::default() },
    ] {
        let mut memory = Memory::default();
        let mut recalled = 0;
        for (k, body) in bodies(40).iter().enumerate() {
            let (with_memory, reuse) =
                compress_request_in(&mut memory, Dialect::OpenAiChat, body, &opts, &count).expect("memory");
            let mut fresh = Memory::default();
            let (stateless, _) =
                compress_request_in(&mut fresh, Dialect::OpenAiChat, body, &opts, &count).expect("stateless");
            assert_eq!(with_memory, stateless, "turn {k} under {:?}", opts.mode);
            assert_eq!(
                memory.history.texts(),
                fresh.history.texts(),
                "turn {k}: the index under {:?}",
                opts.mode
            );
            recalled += reuse.segments;
        }
        assert!(recalled > 0, "the memory was used under {:?}", opts.mode);
    }
}
