//! Token mode's deep step for tool outputs the agent has already acted on: the output is
//! offloaded whole, leaving its first and last lines, every error line, and one exact
//! marker in between. Retrieval returns it byte for byte.

use super::lines::{render_kept_with, split};
use super::{Ctx, Rewrite};
use crate::kind::ContentKind;

/// Aged outputs this small stay: the marker would cost about as much as the text.
pub const MIN_TOKENS: u32 = 120;

const HEAD: usize = 3;
const TAIL: usize = 2;

/// Offload an aged block.
pub fn compress(text: &str, kind: &ContentKind, ctx: &Ctx) -> Option<Rewrite> {
    let (lines, ends_with_newline) = split(text);
    if lines.len() <= HEAD + TAIL + 2 {
        // Few but long lines: the body of a one-line JSON or minified blob. Keep the
        // kind's own transform for these.
        return crate::route::run(kind, text, ctx);
    }
    let keep: Vec<bool> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| i < HEAD || i + TAIL >= lines.len() || is_error_line(line))
        .collect();
    let note = format!("{} output of an earlier step", kind.name());
    let out = render_kept_with(&lines, &keep, ctx.key, ends_with_newline, |_, _| {
        Some(note.clone())
    })?;
    Some(Rewrite::lossy(out, format!("{}:offloaded", kind.name())))
}

/// Error lines survive offloading: they are what a later step most often needs.
fn is_error_line(line: &str) -> bool {
    let l = line.trim_start();
    l.starts_with("Error")
        || l.starts_with("error")
        || l.starts_with("FAILED")
        || l.starts_with("E ")
        || l.contains("Error:")
        || l.contains("Exception:")
        || l.starts_with("Traceback")
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
        let ctx = Ctx {
            query: &q,
            key: "h:k",
            lossy: true,
        };
        let out = compress(&text, &ContentKind::Prose, &ctx).expect("offloaded");
        assert!(out.lossy);
        assert!(out.text.contains("ValueError: bad thing"));
        let markers = Marker::find_all(&out.text);
        assert_eq!(markers.len(), 2);
        assert_eq!(markers[0].ranges, vec![(4, 19)]);
        assert_eq!(markers[1].ranges, vec![(21, 38)]);
    }
}
