//! The Markdown report of a replay.

use std::fmt::Write as _;

use headroom_core::Mode;

use super::refs::Fate;
use super::tally::Tally;
use super::tools::GROUPS;
use crate::billing::pct;

/// One session's results in one mode.
pub struct CaseResult {
    /// Case id.
    pub id: String,
    /// Its TTL (`usage_summary.ttl`).
    pub ttl: String,
    /// The context window it was replayed with.
    pub window: String,
    /// What it measured.
    pub tally: Tally,
}

/// One mode's results: the sum and each session's.
pub struct ModeResult {
    /// The mode.
    pub mode: Mode,
    /// All sessions together.
    pub total: Tally,
    /// Each session, in case order.
    pub cases: Vec<CaseResult>,
}

/// Where and how the run happened, for the report's header.
pub struct RunInfo {
    /// CPU, cores and memory.
    pub machine: String,
    /// The engine's commit, and whether its sources were modified.
    pub revision: String,
    /// Wall-clock seconds of the whole replay.
    pub wall_seconds: f64,
    /// Worker threads.
    pub threads: usize,
    /// Sessions replayed.
    pub sessions: usize,
}

/// Details lists are capped: enough to see the patterns.
const DETAILS_CAP: usize = 40;
/// Rows of the by-kind table.
const KIND_ROWS: usize = 25;

/// A saving against direct, worded so a negative one reads as dearer.
fn billed(saving: f64) -> String {
    if saving >= 0.0 { format!("{saving:.1}% fewer") } else { format!("{:.1}% more", -saving) }
}

fn mode_name(m: Mode) -> &'static str {
    if m == Mode::Cache { "cache" } else { "token" }
}

/// Render the whole report.
pub fn render(modes: &[ModeResult], info: &RunInfo) -> String {
    let mut r = String::new();
    let requests = modes.first().map_or(0, |m| m.total.requests);
    let _ = writeln!(r, "# Claude Code sessions benchmark\n");
    let _ = writeln!(
        r,
        "Measured with `claude_sessions` (run by `just bench`) on {}; engine at {}. The replay took {:.0} s of wall time on {} threads \
         ({} sessions, {} requests per mode).\n",
        info.machine, info.revision, info.wall_seconds, info.threads, info.sessions, requests
    );
    r.push_str(DEFINITIONS);
    summary(&mut r, modes);
    fidelity_by_kind(&mut r, modes);
    per_session(&mut r, modes);
    for m in modes {
        by_tool(&mut r, m);
    }
    for m in modes {
        by_kind(&mut r, m);
    }
    for m in modes {
        lost_refs(&mut r, m);
    }
    for m in modes {
        lost_lines(&mut r, m);
    }
    run_time(&mut r, modes, info);
    r
}

const DEFINITIONS: &str = "\
Corpus: the real Claude Code sessions of `shared/corpus/claude-code-sessions` (see its README). Every \
request k is replayed in session order as the Anthropic Messages body `build.py` materialises \
(`{model, max_tokens, system, tools, messages[:n]}`), through `headroom_core::compress_request` natively \
with exact o200k_base counts, once per mode. This is the engine alone: the retrieval tool the proxy adds \
to `tools` is not counted.

- **Tokens**: o200k_base tokens of the messages' content (text blocks, each tool call's name and input \
JSON, each tool result's text), summed over requests. The system prompt and tool schemas (placeholders, \
identical with and without the engine, about 690 tokens a request) are left out.
- **Billed vs direct**: the input bill under prompt caching, with the engine against without it. Per \
request, the messages it shares with the previous request (a common leading prefix, byte for byte) are \
read at 0.1x, the rest written at the session's real TTL price: 2.0x when the real call wrote at the \
1-hour TTL, 1.25x at 5 minutes (a call that wrote nothing keeps the session's last TTL). Where the real \
call found the cache cold (cache read under 50% of min(previous call's context, its own), as `build.py` \
marks cold calls) the whole request is written, with and without the engine; a new conversation after a \
compaction shares no prefix, so it is written whole too.
- **Window**: a session whose real calls held more than 200,000 tokens ran with the 1M-token window \
(Claude Code's `context-1m` beta); it is replayed with `context_limit` 1,000,000, as the proxy passes it \
for such requests. Other sessions get the engine's window for their model.
- **Prefix kept**: consecutive requests of one conversation where every forwarded message of the earlier \
one is byte-identical, in order, at the start of the later one.
- **Next-step fidelity** (requests with `next_refs`: strings the agent's next turn used that only the \
newest output held): *kept* when verbatim in the forwarded system prompt and messages (`build.py`'s \
`score_next_refs`), *in view* when only elsewhere in the forwarded request, *behind a marker* when out of \
view but a marker in the forwarded messages retrieves an original holding it, else *lost*. A `line` ref \
is a whole output line; a grep hit `path:N:text` regrouped under a `path` heading (lossless \
`search:grouped`) no longer holds it verbatim.
- **Error lines**: every line of a tool output that `transforms::errors::is_error_line` accepts, trimmed, \
must still be verbatim in each distinct compressed form of that output the replay forwarded. Lines that \
are not are split by the form: *reformatted losslessly* (no marker: nothing was elided, the line was \
reshaped, e.g. a grep hit's path moved to a heading) or *elided*.

";

fn summary(r: &mut String, modes: &[ModeResult]) {
    r.push_str("## Whole sessions\n\n");
    r.push_str(
        "| mode | requests | tokens before | tokens after | saved | billed vs direct | prefix kept | \
         refs kept | in view | behind a marker | lost | error lines kept verbatim | not verbatim: \
         reformatted losslessly / elided | over the window |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for m in modes {
        let t = &m.total;
        let refs = t.refs_total();
        let _ = writeln!(
            r,
            "| {} | {} | {} | {} | {:.1}% | {} | {:.2}% ({} of {}) | {:.1}% ({}) | {} | {} | {} | \
             {:.2}% ({} of {}) | {} / {} | {} ({} deeper, {} messages dropped) |",
            mode_name(m.mode),
            t.requests,
            t.tokens_before,
            t.tokens_after,
            pct(t.tokens_before.saturating_sub(t.tokens_after), t.tokens_before),
            billed(t.billed_saving()),
            pct(t.prefix_kept, t.pairs),
            t.prefix_kept,
            t.pairs,
            pct(t.refs_with(Fate::Kept), refs),
            t.refs_with(Fate::Kept),
            t.refs_with(Fate::InView),
            t.refs_with(Fate::BehindMarker),
            t.refs_with(Fate::Lost),
            pct(t.error_lines_kept, t.error_lines),
            t.error_lines_kept,
            t.error_lines,
            t.error_lines_reformatted,
            t.error_lines - t.error_lines_kept - t.error_lines_reformatted,
            t.over_window,
            t.compressed_deeper,
            t.messages_dropped,
        );
    }
    if let Some(m) = modes.first() {
        let _ = writeln!(
            r,
            "\n{} of {} requests were served cold by the provider (whole request written on both sides). \
             {} next refs in {} requests.\n",
            m.total.cold,
            m.total.requests,
            m.total.refs_total(),
            m.total.ref_steps
        );
    }
    for m in modes {
        let _ = writeln!(
            r,
            "- {} mode: every ref kept in {} of {} requests ({:.1}%); {} distinct compressed forms of tool outputs \
             checked for error lines.",
            mode_name(m.mode),
            m.total.ref_steps_all_kept,
            m.total.ref_steps,
            pct(m.total.ref_steps_all_kept, m.total.ref_steps),
            m.total.forms_checked
        );
    }
}

fn fidelity_by_kind(r: &mut String, modes: &[ModeResult]) {
    r.push_str(
        "\n## Next-step fidelity by ref kind (kept / in view / behind a marker / lost)\n\n| kind | refs |",
    );
    for m in modes {
        let _ = write!(r, " {} |", mode_name(m.mode));
    }
    r.push_str("\n|---|---|");
    r.push_str(&"---|".repeat(modes.len()));
    r.push('\n');
    let Some(first) = modes.first() else { return };
    let mut kinds: Vec<&String> = first.total.refs.keys().map(|(k, _)| k).collect();
    kinds.dedup();
    for kind in kinds {
        let n = |t: &Tally, f: Fate| t.refs.get(&(kind.clone(), f)).copied().unwrap_or(0);
        let total: u64 = Fate::ALL.iter().map(|f| n(&first.total, *f)).sum();
        let _ = write!(r, "| {kind} | {total} |");
        for m in modes {
            let cells: Vec<String> = Fate::ALL.iter().map(|f| n(&m.total, *f).to_string()).collect();
            let _ = write!(r, " {} |", cells.join(" / "));
        }
        r.push('\n');
    }
}

fn per_session(r: &mut String, modes: &[ModeResult]) {
    r.push_str(
        "\n## Per session (tokens saved, bill saved against direct: negative is dearer, prefix kept)\n\n\
         | case | TTL | window | requests | cold | tokens before |",
    );
    for m in modes {
        let name = mode_name(m.mode);
        let _ = write!(r, " {name}: saved | {name}: bill saved | {name}: prefix kept |");
    }
    r.push_str("\n|---|---|---|---|---|---|");
    r.push_str(&"---|---|---|".repeat(modes.len()));
    r.push('\n');
    let Some(first) = modes.first() else { return };
    for (i, c) in first.cases.iter().enumerate() {
        let t0 = &c.tally;
        let _ = write!(
            r,
            "| {} | {} | {} | {} | {} | {} |",
            c.id, c.ttl, c.window, t0.requests, t0.cold, t0.tokens_before
        );
        for m in modes {
            let t = &m.cases[i].tally;
            let _ = write!(
                r,
                " {:.1}% | {:.1}% | {:.1}% |",
                pct(t.tokens_before.saturating_sub(t.tokens_after), t.tokens_before),
                t.billed_saving(),
                pct(t.prefix_kept, t.pairs)
            );
        }
        r.push('\n');
    }
}

const REASONS: [&str; 4] = ["no-transform", "below-threshold", "not-smaller", "protected"];

fn by_tool(r: &mut String, m: &ModeResult) {
    let _ = writeln!(
        r,
        "\n## By tool, {} mode (each distinct tool output once, as forwarded in its conversation's last request)\n",
        mode_name(m.mode)
    );
    r.push_str(
        "| tool | outputs | tokens before | share | tokens after | saved | compressed | declined: no-transform | \
         below-threshold | not-smaller | protected | not considered (byte gate) | dropped (window) |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let all: u64 = m.total.by_tool.values().map(|t| t.tokens_before).sum();
    for g in GROUPS {
        let Some(t) = m.total.by_tool.get(g) else { continue };
        let _ = write!(
            r,
            "| {g} | {} | {} | {:.1}% | {} | {:.1}% | {} |",
            t.outputs,
            t.tokens_before,
            pct(t.tokens_before, all),
            t.tokens_after,
            pct(t.tokens_before.saturating_sub(t.tokens_after), t.tokens_before),
            t.compressed
        );
        for reason in REASONS {
            let _ = write!(r, " {} |", t.declined.get(reason).copied().unwrap_or(0));
        }
        let _ = writeln!(r, " {} | {} |", t.not_considered, t.dropped);
    }
}

fn by_kind(r: &mut String, m: &ModeResult) {
    let _ = writeln!(
        r,
        "\n## By tool and detected kind, {} mode (the {KIND_ROWS} largest by tokens before)\n",
        mode_name(m.mode)
    );
    r.push_str(
        "| tool | kind | outputs | tokens before | tokens after | saved |\n|---|---|---|---|---|---|\n",
    );
    let mut rows: Vec<_> = m.total.by_kind.iter().collect();
    rows.sort_by(|a, b| b.1.1.cmp(&a.1.1).then_with(|| a.0.cmp(b.0)));
    for ((tool, kind), (n, before, after)) in rows.into_iter().take(KIND_ROWS) {
        let _ = writeln!(
            r,
            "| {tool} | {kind} | {n} | {before} | {after} | {:.1}% |",
            pct(before.saturating_sub(*after), *before)
        );
    }
}

/// Markdown table cells hold one line; pipes would split the cell.
fn cell(s: &str, max: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .take(max)
        .collect::<String>()
        .replace('|', "\\|");
    let more = if s.chars().count() > max { "…" } else { "" };
    // A code span holding backticks needs a longer fence, padded so the text's own stay literal.
    if one_line.contains('`') { format!("`` {one_line} ``{more}") } else { format!("`{one_line}`{more}") }
}

fn lost_refs(r: &mut String, m: &ModeResult) {
    let lost = &m.total.lost_refs;
    let _ = writeln!(
        r,
        "\n## Next refs lost, {} mode ({} in all{})\n",
        mode_name(m.mode),
        lost.len(),
        if lost.len() > DETAILS_CAP { format!("; the first {DETAILS_CAP}") } else { String::new() }
    );
    if lost.is_empty() {
        return;
    }
    r.push_str("| case | k | kind | ref | newest outputs: what the engine did |\n|---|---|---|---|---|\n");
    for l in lost.iter().take(DETAILS_CAP) {
        let _ = writeln!(
            r,
            "| {} | {} | {} | {} | {} |",
            l.case,
            l.k,
            l.kind,
            cell(&l.text, 120),
            cell(&l.newest, 160)
        );
    }
}

fn lost_lines(r: &mut String, m: &ModeResult) {
    let lost = &m.total.lost_lines;
    let _ = writeln!(
        r,
        "\n## Error lines lost, {} mode ({} in all{})\n",
        mode_name(m.mode),
        lost.len(),
        if lost.len() > DETAILS_CAP { format!("; the first {DETAILS_CAP}") } else { String::new() }
    );
    if lost.is_empty() {
        return;
    }
    r.push_str("| case | k | tool | transform | form | line |\n|---|---|---|---|---|---|\n");
    for l in lost.iter().take(DETAILS_CAP) {
        let _ = writeln!(
            r,
            "| {} | {} | {} | {} | {} | {} |",
            l.case,
            l.k,
            l.tool,
            cell(&l.transform, 60),
            if l.lossy { "elided" } else { "lossless" },
            cell(&l.line, 140)
        );
    }
}

fn run_time(r: &mut String, modes: &[ModeResult], info: &RunInfo) {
    r.push_str(
        "\n## Run time\n\n| mode | replay seconds (summed over sessions) | requests/s |\n|---|---|---|\n",
    );
    for m in modes {
        let _ = writeln!(
            r,
            "| {} | {:.1} | {:.0} |",
            mode_name(m.mode),
            m.total.seconds,
            m.total.requests as f64 / m.total.seconds.max(1e-9)
        );
    }
    let _ = writeln!(
        r,
        "\nWall time {:.1} s on {} threads, loading the corpus included. The token counter is `O200k::count` \
         (memoised by content hash), as native hosts run it.",
        info.wall_seconds, info.threads
    );
}
