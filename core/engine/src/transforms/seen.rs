//! Runs of lines the conversation already showed become one marker pointing at the message
//! that showed them. Lossless in context: the lines are in the model's view (they were
//! indexed as forwarded), and the block's original stays retrievable under its key.

use super::lines::{render_kept_with, split};
use super::{Ctx, Rewrite};
use crate::history::{History, MIN_RUN_BYTES, MIN_RUN_LINES};

/// Elide runs of `text` found in `history` from sources placed `oldest..=newest` (see
/// [`History::add`] for what a place is).
pub fn compress(text: &str, ctx: &Ctx, history: &History, newest: i64, oldest: i64) -> Option<Rewrite> {
    let (lines, ends_with_newline) = split(text);
    let mut keep = vec![true; lines.len()];
    let mut sources: Vec<(usize, u32)> = Vec::new();
    let mut at = 0;
    while at < lines.len() {
        match history.longest_run(&lines, at, newest, oldest) {
            Some(run)
                if run.len >= MIN_RUN_LINES
                    && lines[at..at + run.len].iter().map(|l| l.len() + 1).sum::<usize>()
                        >= MIN_RUN_BYTES =>
            {
                keep[at..at + run.len].fill(false);
                sources.push((at, run.message_index));
                at += run.len;
            }
            _ => at += 1,
        }
    }
    if sources.is_empty() {
        return None;
    }
    let out = render_kept_with(&lines, &keep, ctx.key, ends_with_newline, |first, last| {
        let mut messages: Vec<u32> =
            sources.iter().filter(|(s, _)| (first..=last).contains(s)).map(|(_, m)| *m).collect();
        messages.dedup();
        let list: Vec<String> = messages.iter().map(u32::to_string).collect();
        Some(format!(
            "identical to lines shown in message{} {} above",
            if list.len() > 1 { "s" } else { "" },
            list.join(", ")
        ))
    })?;
    Some(Rewrite::lossy(out, "seen:earlier"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marker::Marker;
    use crate::transforms::query::Query;

    #[test]
    fn points_at_the_message_that_showed_the_lines() {
        let mut h = History::default();
        let file: String = (1..=30).map(|i| format!("    def method_{i}(self, other):\n")).collect();
        h.add(7, 2, file.clone());
        let text = format!("Changed line one here\n{file}");
        let q = Query::default();
        let ctx = Ctx { query: &q, key: "h:k", lossy: true };
        let out = compress(&text, &ctx, &h, i64::MAX, i64::MIN).expect("elided");
        assert!(out.text.starts_with("Changed line one here\n[... 30 lines elided (lines 2-31); identical"));
        assert!(out.text.contains("message 7 above"));
        let m = Marker::find_all(&out.text);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].ranges, vec![(2, 31)]);
    }
}
