//! Headers and wrappers around a command's output, kept byte for byte:
//! - Codex `exec_command` / `shell` / `apply_patch`: `Key: value` lines (`Chunk ID`, `Wall
//!   time`, `Process exited with code 0`, `Original token count`, `Exit code`) up to a line
//!   `Output:`, and the note after it when Codex cut the output (`Warning: truncated output
//!   ...`, `Total output lines: N`, a blank line); its code mode's `Script completed` /
//!   `Wall time 0.1 seconds` / `Output:` part;
//! - Claude Code `Bash`: `Exit code N` before a failed command's output;
//! - Claude Code `Bash` over its limit: `<persisted-output>` with the path of the full
//!   output and a preview, up to `</persisted-output>`.

/// Header lines Codex writes before `Output:` (each line starts with one of these).
const CODEX_KEYS: &[&str] = &[
    "Script completed",
    "Script failed",
    "Wall time ",
    "Chunk ID:",
    "Wall time:",
    "Process exited with code",
    "Process running with session ID",
    "Exit code:",
    "Original token count:",
    "Total output lines:",
    "Warning:",
    "Command:",
    "Duration:",
];
/// Lines a Codex header may hold before `Output:`.
const MAX_HEADER_LINES: usize = 10;

const PERSISTED_OPEN: &str = "<persisted-output>\n";
const PERSISTED_PREVIEW: &str = "Preview (first ";
const PERSISTED_CLOSE: &str = "</persisted-output>";

/// `(head, output, tail)` of a framed command output; `None` when `text` has no header.
pub(super) fn split(text: &str) -> Option<(&str, &str, &str)> {
    codex(text).or_else(|| exit_code(text)).or_else(|| persisted(text))
}

fn codex(text: &str) -> Option<(&str, &str, &str)> {
    // Code mode sends the note without a header, in a part of its own.
    if text.starts_with("Warning: truncated output") {
        let head = truncation_note(text);
        return (head > 0 && head < text.len()).then(|| (&text[..head], &text[head..], ""));
    }
    if !CODEX_KEYS.iter().any(|k| text.starts_with(k)) {
        return None;
    }
    let mut at = 0;
    for _ in 0..MAX_HEADER_LINES {
        let end = at + text[at..].find('\n')?;
        let line = text[at..end].trim_end_matches('\r');
        if line == "Output:" {
            let head_end = end + 1 + truncation_note(&text[end + 1..]);
            let inner = &text[head_end..];
            return (!inner.is_empty()).then_some((&text[..head_end], inner, ""));
        }
        if !CODEX_KEYS.iter().any(|k| line.starts_with(k)) {
            return None;
        }
        at = end + 1;
    }
    None
}

/// Bytes of the note Codex puts after `Output:` when it cut the output to its token budget:
/// `Warning: truncated output (original token count: N)`, `Total output lines: N`, a blank line.
fn truncation_note(text: &str) -> usize {
    let mut at = 0;
    for prefix in ["Warning: truncated output", "Total output lines:"] {
        match text[at..].find('\n') {
            Some(nl) if text[at..].starts_with(prefix) => at += nl + 1,
            _ => return at,
        }
    }
    if text[at..].starts_with('\n') { at + 1 } else { at }
}

fn exit_code(text: &str) -> Option<(&str, &str, &str)> {
    let rest = text.strip_prefix("Exit code ")?;
    let nl = rest.find('\n')?;
    let code = &rest[..nl];
    if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        return None;
    }
    let head_len = "Exit code ".len() + nl + 1;
    let inner = &text[head_len..];
    (!inner.is_empty()).then_some((&text[..head_len], inner, ""))
}

fn persisted(text: &str) -> Option<(&str, &str, &str)> {
    if !text.starts_with(PERSISTED_OPEN) {
        return None;
    }
    let preview = text.find(PERSISTED_PREVIEW)?;
    let start = preview + text[preview..].find('\n')? + 1;
    let close = text.rfind(PERSISTED_CLOSE).filter(|c| *c >= start)?;
    Some((&text[..start], &text[start..close], &text[close..]))
}
