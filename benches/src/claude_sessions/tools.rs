//! Tool outputs one by one: which tool produced them, what the engine did with them, and
//! whether their error lines survived.

use headroom_core::transforms::errors::is_error_line;

/// Claude Code's tool names, grouped as the corpus README counts them.
pub fn group(tool: &str) -> &'static str {
    match tool {
        "Read" => "Read",
        "Bash" | "BashOutput" => "Bash",
        "Grep" => "Grep",
        "Glob" | "LS" => "Glob/LS",
        "Agent" | "Task" => "Agent/Task",
        "WebFetch" => "WebFetch",
        "WebSearch" => "WebSearch",
        "Edit" | "MultiEdit" | "Write" | "NotebookEdit" => "Edit/Write",
        t if t.starts_with("mcp__") => "mcp__*",
        _ => "other",
    }
}

/// Groups in report order.
pub const GROUPS: &[&str] = &[
    "Read",
    "Bash",
    "Grep",
    "Glob/LS",
    "Agent/Task",
    "WebFetch",
    "WebSearch",
    "Edit/Write",
    "mcp__*",
    "other",
];

/// What happened to one tool output, from the engine's block reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Rewritten by this transform.
    Compressed(String),
    /// Looked at and left, for this reason (`no-transform`, `below-threshold`, ...).
    Declined(&'static str),
    /// Never looked at: under the byte gate, or in a message dropped to fit the window.
    NotConsidered,
}

/// The error lines of `original`, each trimmed of surrounding whitespace (a numbered listing
/// may lose its padding losslessly), and how many of them `forwarded` still holds verbatim.
pub fn error_lines_kept<'a>(original: &'a str, forwarded: &str) -> (Vec<&'a str>, usize) {
    let lines: Vec<&str> =
        original.lines().filter(|l| is_error_line(l)).map(str::trim).filter(|l| !l.is_empty()).collect();
    let lost: Vec<&str> = lines.iter().copied().filter(|l| !forwarded.contains(l)).collect();
    (lost, lines.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_claude_code_tools() {
        assert_eq!(group("Read"), "Read");
        assert_eq!(group("Task"), "Agent/Task");
        assert_eq!(group("mcp__linear__get_issue"), "mcp__*");
        assert_eq!(group("TodoWrite"), "other");
        assert!(GROUPS.contains(&group("Glob")));
    }

    #[test]
    fn finds_error_lines_that_went() {
        let original = "ok\nerror: it broke\nfine\n";
        assert_eq!(error_lines_kept(original, "ok\nerror: it broke\n"), (vec![], 1));
        assert_eq!(error_lines_kept(original, "ok\n[... 2 lines elided ...]"), (vec!["error: it broke"], 1));
    }
}
