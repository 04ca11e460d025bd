//! Token mode's deep step for tool outputs the agent has already acted on: the output is
//! offloaded whole, leaving its first and last lines, every error line, and one exact
//! marker in between. Retrieval returns it byte for byte.

use super::errors::{is_error_line, is_warning_line};
use super::lines::{render_kept_with, render_with_errors_kept, split};
use super::{Ctx, Rewrite};
use crate::kind::ContentKind;
use crate::marker::{Marker, Unit};

/// Aged outputs this small stay: the marker would cost about as much as the text.
pub const MIN_TOKENS: u32 = 120;

const HEAD: usize = 3;
const FIRST_LINE_MAX: usize = 160;
const TAIL: usize = 2;
/// Warning lines kept, from the first on.
const WARNINGS: usize = 8;

/// Offload an aged block.
pub fn compress(text: &str, kind: &ContentKind, ctx: &Ctx) -> Option<Rewrite> {
    let (lines, ends_with_newline) = split(text);
    if lines.len() <= HEAD + TAIL + 2 {
        // Few but long lines: a one-line JSON or minified blob. Its kind's own transform
        // first; when that cannot shrink it, the whole output goes behind one marker (an
        // error line stays: then nothing is offloaded).
        return crate::route::run(kind, text, ctx).or_else(|| whole(&lines, kind, ctx));
    }
    // Error lines always stay (the renderer keeps them too); the first few warnings stay as
    // the anomalies a later question is most often about.
    let mut warnings = 0;
    let keep: Vec<bool> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let warning = warnings < WARNINGS && is_warning_line(line);
            warnings += usize::from(warning);
            i < HEAD || i + TAIL >= lines.len() || is_error_line(line) || warning
        })
        .collect();
    let note = format!("{} output of an earlier step", kind.name());
    let out = render_with_errors_kept(&lines, &keep, ctx.key, ends_with_newline, |_, _| Some(note.clone()))?;
    Some(Rewrite::lossy(out, format!("{}:offloaded", kind.name())))
}

/// The whole of a short output behind one marker, unless one of its lines reports an error.
fn whole(lines: &[&str], kind: &ContentKind, ctx: &Ctx) -> Option<Rewrite> {
    if lines.iter().any(|l| is_error_line(l)) {
        return None;
    }
    let marker = Marker::new(Unit::Lines, vec![(1, lines.len())], ctx.key)
        .with_note(&format!("{} output of an earlier step", kind.name()))
        .render();
    Some(Rewrite::lossy(marker, format!("{}:offloaded", kind.name())))
}

/// Offload the prose of an aged assistant turn, keeping its first line and every fenced
/// shell block (the commands it ran) verbatim, except the bodies of heredocs (files it wrote, which
/// later reads show anyway): what the agent did stays in view, the rest is one retrieval away.
pub fn reasoning(text: &str, ctx: &Ctx) -> Option<Rewrite> {
    let (lines, ends_with_newline) = split(text);
    // The opening line says what the step was for; a long one is the whole argument, not a summary.
    let first = lines.iter().position(|l| !l.trim().is_empty()).filter(|&i| lines[i].len() <= FIRST_LINE_MAX);
    // Fenced shell blocks are what the step ran; fences in other languages are quotations.
    let mut fence: Option<bool> = None;
    let mut heredoc: Option<&str> = None;
    let mut keep = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if let Some(end) = heredoc {
            let closing = line.trim() == end;
            keep.push(closing);
            if closing {
                heredoc = None;
            }
            continue;
        }
        let opener = line.trim_start().strip_prefix("```");
        let kept_fence = match (fence, opener) {
            (None, Some(info)) => {
                let shell = matches!(info.trim(), "" | "bash" | "sh" | "shell" | "zsh" | "console");
                fence = Some(shell);
                shell
            }
            (Some(shell), Some(_)) => {
                fence = None;
                shell
            }
            (Some(shell), None) => {
                if shell {
                    heredoc = heredoc_terminator(line);
                }
                shell
            }
            (None, None) => false,
        };
        keep.push(first.is_some_and(|f| i <= f) || kept_fence);
    }
    let out = render_kept_with(&lines, &keep, ctx.key, ends_with_newline, |_, _| {
        Some("reasoning or file content of an earlier step".to_owned())
    })?;
    Some(Rewrite::lossy(out, "prose:offloaded"))
}

/// The word that ends a heredoc started on this shell line (`<<EOF`, `<<'EOF'`, `<<-"END"`).
fn heredoc_terminator(line: &str) -> Option<&str> {
    let at = line.find("<<")?;
    let rest = line[at + 2..].trim_start_matches('-').trim_start();
    let rest = rest.trim_start_matches(['\'', '"']);
    let end = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marker::Marker;
    use crate::transforms::query::Query;

    #[test]
    fn keeps_head_tail_and_errors_with_one_exact_marker_per_gap() {
        let mut text = String::new();
        for i in 1..=40 {
            if i == 20 {
                text.push_str("ValueError: bad thing\n");
            } else {
                text.push_str(&format!("line {i}\n"));
            }
        }
        let q = Query::default();
        let ctx = Ctx { query: &q, key: "h:k", lossy: true };
        let out = compress(&text, &ContentKind::Prose, &ctx).expect("offloaded");
        assert!(out.lossy);
        assert!(out.text.contains("ValueError: bad thing"));
        let markers = Marker::find_all(&out.text);
        assert_eq!(markers.len(), 2);
        assert_eq!(markers[0].ranges, vec![(4, 19)]);
        assert_eq!(markers[1].ranges, vec![(21, 38)]);
    }

    #[test]
    fn a_long_one_line_output_goes_whole_unless_it_reports_an_error() {
        let q = Query::default();
        let ctx = Ctx { query: &q, key: "h:k", lossy: true };
        let blob = format!(
            "{{\"items\": [{}]}}",
            (0..200).map(|i| format!("\"v{i}\"")).collect::<Vec<_>>().join(",")
        );
        let out = compress(&blob, &ContentKind::Prose, &ctx).expect("offloaded");
        assert_eq!(
            out.text,
            "[... 1 line elided (line 1); prose output of an earlier step, retrieve: headroom_retrieve(\"h:k\") ...]"
        );
        let failed = format!("Error: request failed {}", "x".repeat(900));
        assert_eq!(compress(&failed, &ContentKind::Prose, &ctx), None);
    }

    #[test]
    fn reasoning_keeps_first_line_and_commands() {
        let mut text = String::from("THOUGHT: the bug is in the parser.\n");
        for i in 0..10 {
            text.push_str(&format!("Reason {i} about why.\n"));
        }
        text.push_str("```bash\nsed -n '10,20p' a.py\n```");
        let q = Query::default();
        let ctx = Ctx { query: &q, key: "h:k", lossy: true };
        let out = reasoning(&text, &ctx).expect("offloaded");
        assert!(
            out.text.starts_with("THOUGHT: the bug is in the parser.\n[... 10 lines elided (lines 2-11)")
        );
        assert!(out.text.ends_with("```bash\nsed -n '10,20p' a.py\n```"));
    }

    #[test]
    fn reasoning_elides_heredoc_bodies_but_keeps_the_command() {
        let mut text = String::from("THOUGHT: write the test.\n\n```bash\ncat <<'EOF' > t.py\n");
        for i in 0..6 {
            text.push_str(&format!("value_number_{i} = compute_the_value({i})\n"));
        }
        text.push_str("EOF\npython t.py\n```");
        let q = Query::default();
        let ctx = Ctx { query: &q, key: "h:k", lossy: true };
        let out = reasoning(&text, &ctx).expect("offloaded");
        assert!(out.text.contains("cat <<'EOF' > t.py\n[... 6 lines elided (lines 5-10)"), "{}", out.text);
        assert!(out.text.ends_with("EOF\npython t.py\n```"));
        assert_eq!(heredoc_terminator("cat <<-\"END\" > x"), Some("END"));
        assert_eq!(heredoc_terminator("echo a << b"), Some("b"));
    }
}
