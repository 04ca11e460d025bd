//! What a replay measures, summed over requests, and summable over sessions.

use std::collections::BTreeMap;

use super::refs::Fate;

/// A ref the forwarded request no longer held in any form.
#[derive(Debug, Clone)]
pub struct LostRef {
    /// Case id.
    pub case: String,
    /// Request number.
    pub k: usize,
    /// Ref kind.
    pub kind: String,
    /// The ref.
    pub text: String,
    /// What the engine did to the newest outputs (tool: outcome).
    pub newest: String,
}

/// An error line a compressed output no longer held verbatim.
#[derive(Debug, Clone)]
pub struct LostLine {
    /// Case id.
    pub case: String,
    /// Request number where the form that lost it was first forwarded.
    pub k: usize,
    /// Tool name.
    pub tool: String,
    /// Transform (or engine outcome) that produced that form.
    pub transform: String,
    /// The line, trimmed.
    pub line: String,
    /// The form carries a marker (something was elided); otherwise it was a lossless
    /// reformatting that moved part of the line (a grouped search hit's path, say).
    pub lossy: bool,
}

/// One row of the by-tool table.
#[derive(Debug, Clone, Default)]
pub struct ToolRow {
    /// Distinct tool outputs.
    pub outputs: u64,
    /// o200k tokens as the agent sent them.
    pub tokens_before: u64,
    /// o200k tokens as forwarded in the conversation's last request.
    pub tokens_after: u64,
    /// Outputs rewritten.
    pub compressed: u64,
    /// Outputs looked at and left, by reason.
    pub declined: BTreeMap<&'static str, u64>,
    /// Outputs the engine never looked at (under the byte gate).
    pub not_considered: u64,
    /// Outputs whose message was dropped to fit the model's window.
    pub dropped: u64,
}

impl ToolRow {
    fn add(&mut self, o: &ToolRow) {
        self.outputs += o.outputs;
        self.tokens_before += o.tokens_before;
        self.tokens_after += o.tokens_after;
        self.compressed += o.compressed;
        for (k, v) in &o.declined {
            *self.declined.entry(k).or_default() += v;
        }
        self.not_considered += o.not_considered;
        self.dropped += o.dropped;
    }
}

/// Everything one replay (one or more sessions, one mode) measured.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    /// Requests replayed.
    pub requests: u64,
    /// Requests the provider served cold (whole request written, both sides).
    pub cold: u64,
    /// Summed o200k tokens of the messages as the agent sent them.
    pub tokens_before: u64,
    /// Summed o200k tokens of the messages as forwarded.
    pub tokens_after: u64,
    /// Bill without the engine, in base-input token equivalents.
    pub bill_direct: f64,
    /// Bill of what the engine forwarded.
    pub bill_proxy: f64,
    /// Consecutive request pairs within one conversation.
    pub pairs: u64,
    /// Pairs whose earlier forwarded messages are a byte-identical prefix of the later one's.
    pub prefix_kept: u64,
    /// Requests with next refs.
    pub ref_steps: u64,
    /// Of those, requests with every ref kept.
    pub ref_steps_all_kept: u64,
    /// Next refs by (kind, fate).
    pub refs: BTreeMap<(String, Fate), u64>,
    /// Lost refs, in session order.
    pub lost_refs: Vec<LostRef>,
    /// Error lines of compressed outputs (each distinct forwarded form of an output counted).
    pub error_lines: u64,
    /// Those still verbatim in the forwarded form.
    pub error_lines_kept: u64,
    /// Error lines not verbatim in a form that elided nothing (reformatted losslessly).
    pub error_lines_reformatted: u64,
    /// Distinct compressed forms of tool outputs checked.
    pub forms_checked: u64,
    /// Error lines that went.
    pub lost_lines: Vec<LostLine>,
    /// By tool group, over distinct outputs of each conversation's last request.
    pub by_tool: BTreeMap<&'static str, ToolRow>,
    /// By tool group and detected kind: (outputs, tokens before, tokens after).
    pub by_kind: BTreeMap<(&'static str, String), (u64, u64, u64)>,
    /// Requests over their model's window (context management ran).
    pub over_window: u64,
    /// Of those, compressed deeper first.
    pub compressed_deeper: u64,
    /// Messages dropped to fit windows.
    pub messages_dropped: u64,
    /// Seconds the replay took on its thread.
    pub seconds: f64,
}

impl Tally {
    /// Add another replay's figures.
    pub fn add(&mut self, o: &Tally) {
        self.requests += o.requests;
        self.cold += o.cold;
        self.tokens_before += o.tokens_before;
        self.tokens_after += o.tokens_after;
        self.bill_direct += o.bill_direct;
        self.bill_proxy += o.bill_proxy;
        self.pairs += o.pairs;
        self.prefix_kept += o.prefix_kept;
        self.ref_steps += o.ref_steps;
        self.ref_steps_all_kept += o.ref_steps_all_kept;
        for (k, v) in &o.refs {
            *self.refs.entry(k.clone()).or_default() += v;
        }
        self.lost_refs.extend(o.lost_refs.iter().cloned());
        self.error_lines += o.error_lines;
        self.error_lines_kept += o.error_lines_kept;
        self.error_lines_reformatted += o.error_lines_reformatted;
        self.forms_checked += o.forms_checked;
        self.lost_lines.extend(o.lost_lines.iter().cloned());
        for (k, v) in &o.by_tool {
            self.by_tool.entry(k).or_default().add(v);
        }
        for (k, (n, b, a)) in &o.by_kind {
            let row = self.by_kind.entry(k.clone()).or_default();
            row.0 += n;
            row.1 += b;
            row.2 += a;
        }
        self.over_window += o.over_window;
        self.compressed_deeper += o.compressed_deeper;
        self.messages_dropped += o.messages_dropped;
        self.seconds += o.seconds;
    }

    /// Refs with this fate, over all kinds.
    pub fn refs_with(&self, fate: Fate) -> u64 {
        self.refs.iter().filter(|((_, f), _)| *f == fate).map(|(_, n)| n).sum()
    }

    /// Every ref.
    pub fn refs_total(&self) -> u64 {
        self.refs.values().sum()
    }

    /// The bill with the engine, as a saving against direct (percent; negative is dearer).
    pub fn billed_saving(&self) -> f64 {
        if self.bill_direct == 0.0 { 0.0 } else { 100.0 * (1.0 - self.bill_proxy / self.bill_direct) }
    }
}
