//! What a conversation's last request left behind, so that the next request of the same
//! conversation only does the work that is new in it.
//!
//! Agents resend their whole history every turn. A block's outcome depends only on the block,
//! the text before it and where it stands against token mode's boundaries ([`Standing`]), so
//! a block that reaches the engine again with the same bytes, behind the same earlier text and
//! with the same standing, gets the same outcome: it is taken from the memory instead of being
//! detected, counted and transformed again, and the index of earlier text ([`History`]) is
//! taken as it was left instead of being rebuilt. Nothing is trusted: each block's raw bytes
//! are compared with the bytes the memory kept, and the first difference ends the reuse (the
//! index is cut back to what preceded it). With an empty memory the work is exactly the
//! stateless engine's, so the outcome is byte-identical either way (a test replays both
//! corpora both ways).

pub mod store;
#[cfg(test)]
mod tests;

use std::ops::Range;

use crate::context::quick::TallyMemo;
use crate::history::{History, Place, Source};
use crate::kind::ContentKind;
use crate::options::Options;
use crate::pipeline::{Seed, Standing, Status};
use crate::plugins::PluginInfo;
use crate::request::{Dialect, Kept, Layout, Origin};

/// One conversation's memory.
#[derive(Default)]
pub struct Memory {
    /// What the records were made under (the plugin set included); a request under other
    /// settings starts afresh.
    under: Option<(Dialect, Options, Vec<PluginInfo>)>,
    /// The last request's body, which the records' spans point into.
    body: String,
    records: Vec<Record>,
    history: History,
    /// Where the last request's messages are, so the next one reads only what follows them.
    layout: Layout,
    /// The last forwarded body's token counts, for the window check.
    pub(crate) tally: TallyMemo,
    /// Keys of every original the last request's outcome cited, handed to the host then or
    /// before (kept across
    /// a change of settings: it says what the host was given, not how).
    pub(crate) handed: std::collections::HashSet<String>,
    /// Requests that reused at least one block, and blocks reused, since the memory was made.
    pub(crate) reused_requests: u64,
    pub(crate) reused_blocks: u64,
}

/// How a request used the memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reuse {
    /// Segments (blocks and read-only texts) taken from the memory.
    pub segments: u32,
    /// Segments processed.
    pub total: u32,
    /// Messages (Responses: input items) whose bytes were not read again, because the
    /// previous request held them byte for byte (0: the whole body was read).
    pub unread_messages: u32,
}

/// One segment of the last request, in conversation order.
pub(crate) struct Record {
    /// Texts the index held before this segment.
    pub history_before: usize,
    pub what: Recorded,
}

pub(crate) enum Recorded {
    /// Text only read.
    Seen { message_index: u32, position: u32, text: String },
    /// A block and its outcome.
    Block { key: BlockKey, outcome: BlockOutcome },
}

/// Everything that decides a block's outcome besides the text before it.
#[derive(PartialEq, Eq)]
pub(crate) struct BlockKey {
    pub message_index: u32,
    pub block_index: u32,
    /// Its raw JSON string in the memory's body.
    pub span: Range<usize>,
    pub query: String,
    pub position: u32,
    pub protected: bool,
    pub tool_protected: bool,
    pub origin: Origin,
    pub standing: Option<Standing>,
}

/// What the engine did with a block.
#[derive(Default)]
pub(crate) struct BlockOutcome {
    /// The new raw JSON string, when the block changed.
    pub edit: Option<String>,
    /// One line per piece considered: kind, status, tokens before and after.
    pub reports: Vec<(ContentKind, Status, u32, u32)>,
    /// Originals to hand to the host, key and text. Kept decoded: a long history in token
    /// mode offloads most of its blocks, and decoding each one's JSON string again on every
    /// turn was most of what a remembered turn cost beyond comparing bytes.
    pub offloads: Vec<(String, String)>,
    /// Shown to the model as it is (typed by a person, or protected): its whole text went
    /// into the index whatever its standing.
    pub shown_as_is: bool,
    /// What working out each of its ranges learnt, for offloading it later.
    pub seeds: Vec<Seed>,
}

impl Memory {
    /// Bytes held, for hosts that bound what they keep.
    pub fn bytes(&self) -> usize {
        let records: usize = self
            .records
            .iter()
            .map(|r| {
                64 + match &r.what {
                    Recorded::Seen { text, .. } => text.len(),
                    Recorded::Block { key, outcome } => {
                        key.query.len()
                            + outcome.edit.as_ref().map_or(0, String::len)
                            + outcome.reports.len() * 48
                            + outcome.offloads.iter().map(|o| 64 + o.1.len()).sum::<usize>()
                            + outcome.seeds.iter().map(Seed::bytes).sum::<usize>()
                    }
                }
            })
            .sum();
        let handed: usize = self.handed.iter().map(|k| 32 + k.len()).sum();
        self.body.len() + records + self.history.bytes() + self.tally.bytes() + self.layout.bytes() + handed
    }

    /// Requests that reused earlier work, and blocks taken from the memory, since it was made.
    pub fn reused(&self) -> (u64, u64) {
        (self.reused_requests, self.reused_blocks)
    }

    /// Start a request: the records and index to reuse, if it runs under the same settings.
    pub(crate) fn begin(&mut self, dialect: Dialect, opts: &Options, plugins: &[PluginInfo]) -> Previous {
        // The frozen prefix may grow between turns (a turn forwarded untouched): each block's
        // key records whether it was protected, so a change there stops reuse at the first
        // block it touches instead of forgetting the whole conversation.
        let settings = Options { frozen_count: 0, ..opts.clone() };
        let same =
            self.under.as_ref().is_some_and(|(d, o, p)| *d == dialect && *o == settings && p == plugins);
        if !same {
            self.under = Some((dialect, settings, plugins.to_vec()));
            self.records.clear();
            self.body.clear();
            self.history = History::default();
            self.layout = Layout::default();
            self.tally = TallyMemo::default();
        }
        Previous {
            body: std::mem::take(&mut self.body),
            common: 0,
            records: std::mem::take(&mut self.records),
            history: std::mem::take(&mut self.history),
            layout: std::mem::take(&mut self.layout),
            matching: true,
            known: 0..0,
            after: None,
        }
    }

    /// End a request: keep what it left. The previous body's buffer takes the new body, so a
    /// long conversation does not allocate (and fault in) a fresh buffer on every turn.
    pub(crate) fn end(
        &mut self,
        body: &str,
        records: Vec<Record>,
        layout: Layout,
        previous: Previous,
        reuse: Reuse,
    ) {
        self.layout = layout;
        let mut buffer = previous.body;
        buffer.clear();
        buffer.push_str(body);
        self.body = buffer;
        self.records = records;
        self.history = previous.history;
        if reuse.segments > 0 {
            self.reused_requests += 1;
            self.reused_blocks += u64::from(reuse.segments);
        }
    }
}

/// The last request's records while a new request is walked.
pub(crate) struct Previous {
    body: String,
    /// Bytes the request's body shares with `body` from the start.
    common: usize,
    records: Vec<Record>,
    pub history: History,
    layout: Layout,
    /// Every segment so far matched its record.
    matching: bool,
    /// Segments whose bytes are known to be their records' ([`Layout::kept`]): compared by
    /// place, not byte by byte.
    known: Range<usize>,
    /// Past the first mismatch: what the index held then, to rebuild it from.
    after: Option<Detached>,
}

/// The previous request's index past the first segment that did not match (a token-mode
/// boundary that moved changes the standing of the blocks it offloads): later segments that
/// are the same block, in the same standing as far as their outcome goes and with the same
/// texts in view, still take their outcome from the memory and keep their texts.
struct Detached {
    /// Where each text of the previous index was placed, its uid, whether still shown.
    places: Vec<Place>,
    /// Those places never go back.
    in_order: bool,
    /// While `Some(n)`: the index still holds the previous request's texts in order, and
    /// this request's are its first `n` (nothing has replaced one yet; a turn that only moves
    /// token mode's boundary never does).
    synced: Option<usize>,
    /// Texts among those first `n` have been marked gone since (first sights no longer
    /// needed): windows are then compared text by text, not by where the cursor stands.
    forgot: bool,
    /// Otherwise: the previous request's texts from `base` on, each until it is put back or
    /// replaced.
    texts: Vec<Option<Source>>,
    base: usize,
}

/// What a segment past the first mismatch takes from the memory.
pub(crate) enum Recall {
    /// Its outcome: its texts are in the index.
    Outcome(BlockOutcome),
    /// Its first-sight texts as they are to be (in the index, or no longer needed): it is
    /// newly offloaded, so only its offloaded outcome is to be worked out, knowing what its
    /// earlier work learnt.
    Offload(Vec<Seed>),
    /// Nothing: work it out, then [`Previous::adopt`] its texts.
    Compute,
}

impl Previous {
    /// A stateless walk: nothing to reuse.
    pub fn none() -> Self {
        Self {
            body: String::new(),
            common: 0,
            records: Vec::new(),
            history: History::default(),
            layout: Layout::default(),
            matching: false,
            known: 0..0,
            after: None,
        }
    }

    /// This request listed segments `known` from the previous one's records (see
    /// [`Layout::kept`]).
    pub fn know(&mut self, known: Range<usize>) {
        self.known = known;
    }

    /// `body` as a text, validated only where it differs from the previous request's (which
    /// was valid): the part an agent's next turn repeats is not read again. Remembers how much
    /// it repeats, for [`Self::before`].
    pub fn text_of<'b>(&mut self, body: &'b [u8]) -> Result<&'b str, std::str::Utf8Error> {
        let (text, common) = crate::bytes::utf8_after(body, &self.body)?;
        self.common = common;
        Ok(text)
    }

    /// The previous request as [`crate::request::segments_in`] reads it, when there is one:
    /// its layout, and the bytes the new body shares with its body from the start.
    pub fn before(&self) -> Option<(&Layout, usize)> {
        self.matching.then_some((&self.layout, self.common))
    }

    /// The previous request's segments `range`, to list again.
    pub fn kept(&self, range: Range<usize>) -> Vec<Kept> {
        self.records
            .get(range)
            .unwrap_or_default()
            .iter()
            .map(|r| match &r.what {
                Recorded::Seen { message_index, text, .. } => {
                    Kept::Seen { message_index: *message_index, text: text.clone() }
                }
                Recorded::Block { key, .. } => Kept::Block {
                    message_index: key.message_index,
                    block_index: key.block_index,
                    span: key.span.clone(),
                    query: key.query.clone(),
                    tool_protected: key.tool_protected,
                    origin: key.origin,
                },
            })
            .collect()
    }

    /// Segment `j` is read-only text: true when its record says the same (the index already
    /// holds it). The first mismatch cuts the index back and ends reuse.
    pub fn seen_matches(&mut self, j: usize, message_index: u32, position: u32, text: &str) -> bool {
        let known = self.known.contains(&j);
        let same = self.matching
            && matches!(self.records.get(j), Some(Record { what: Recorded::Seen { message_index: m, position: p, text: t }, .. })
                if *m == message_index && *p == position && (known || crate::bytes::same(t.as_bytes(), text.as_bytes())));
        self.settle(j, same)
    }

    /// Segment `j` is a block: its recorded outcome when the record is the same block (same
    /// bytes, same key) and every segment before it matched.
    pub fn block_matches(&mut self, j: usize, key: &BlockKey, raw: &[u8]) -> Option<&BlockOutcome> {
        // A segment listed from its record lies, at the record's own offsets, in the part of the
        // body the previous one repeats: its bytes and query are the record's.
        let known = self.known.contains(&j);
        let same = self.matching
            && matches!(self.records.get(j), Some(Record { what: Recorded::Block { key: k, .. }, .. })
                if k.message_index == key.message_index
                    && k.block_index == key.block_index
                    && (if known && k.span == key.span {
                        true
                    } else {
                        self.body.as_bytes().get(k.span.clone()).is_some_and(|kept| crate::bytes::same(kept, raw))
                            && crate::bytes::same(k.query.as_bytes(), key.query.as_bytes())
                    })
                    && k.position == key.position
                    && k.protected == key.protected
                    && k.tool_protected == key.tool_protected
                    && k.origin == key.origin
                    && k.standing == key.standing);
        if !self.settle(j, same) {
            return None;
        }
        match &self.records[j].what {
            Recorded::Block { outcome, .. } => Some(outcome),
            Recorded::Seen { .. } => None,
        }
    }

    /// Texts the index held before segment `j`: as recorded when it is reused (the index
    /// already holds what came after it), else as the index stands now.
    pub fn history_before(&self, j: usize, reused: bool) -> usize {
        match (self.records.get(j), &self.after) {
            (Some(r), _) if reused => r.history_before,
            (_, Some(Detached { synced: Some(cursor), .. })) => *cursor,
            _ => self.history.len(),
        }
    }

    /// Take the recorded outcome of block `j` (after [`Self::block_matches`] said yes).
    pub fn take_outcome(&mut self, j: usize) -> BlockOutcome {
        match &mut self.records[j].what {
            Recorded::Block { outcome, .. } => std::mem::take(outcome),
            Recorded::Seen { .. } => BlockOutcome::default(),
        }
    }

    /// Whether segment `j` can be reused; on the first mismatch, forget what the index learnt
    /// from segment `j` on.
    fn settle(&mut self, j: usize, same: bool) -> bool {
        if self.matching && !same {
            self.matching = false;
            let keep = self.records.get(j).map_or(self.history.len(), |r| r.history_before);
            let (places, in_order) = (self.history.places(), self.history.in_order());
            self.after = Some(Detached {
                places,
                in_order,
                synced: Some(keep),
                forgot: false,
                texts: Vec::new(),
                base: keep,
            });
        }
        self.matching
    }

    /// Past the first mismatch, segment `j` is read-only `text`: when its record is the same
    /// text in the same place, its texts are kept as they were; false when the caller is to
    /// add it.
    pub fn recall_seen(&mut self, j: usize, message_index: u32, position: u32, text: &str) -> bool {
        let same = matches!(self.records.get(j), Some(Record { what: Recorded::Seen { message_index: m, position: p, text: t }, .. })
            if *m == message_index && *p == position && crate::bytes::same(t.as_bytes(), text.as_bytes()));
        if same && self.keep_texts(j) {
            return true;
        }
        self.desync();
        false
    }

    /// Past the first mismatch, segment `j` is a block: its recorded outcome when nothing it
    /// depends on changed. The block must be the record's (same bytes and key, the standing
    /// aside). Then an offloaded block's outcome depends on the block alone, and the first-sight
    /// texts a block keeps (and a block's outcome while it is not offloaded) on the texts shown
    /// inside its window: the same window bounds and the same texts inside them give the same
    /// lookups.
    pub fn recall_block(&mut self, j: usize, key: &BlockKey, raw: &[u8]) -> Recall {
        let recall = self.recall(j, key, raw);
        if matches!(recall, Recall::Compute) {
            // Worked out now: its texts go at the end of the index.
            self.desync();
        }
        recall
    }

    fn recall(&mut self, j: usize, key: &BlockKey, raw: &[u8]) -> Recall {
        let Some(after) = &self.after else { return Recall::Compute };
        let Some(Record { history_before, what: Recorded::Block { key: k, outcome } }) = self.records.get(j)
        else {
            return Recall::Compute;
        };
        let same_block = k.message_index == key.message_index
            && k.block_index == key.block_index
            && k.position == key.position
            && k.protected == key.protected
            && k.tool_protected == key.tool_protected
            && k.origin == key.origin
            && self.body.as_bytes().get(k.span.clone()).is_some_and(|kept| crate::bytes::same(kept, raw))
            && crate::bytes::same(k.query.as_bytes(), key.query.as_bytes());
        if !same_block {
            return Recall::Compute;
        }
        // What becomes of its first-sight texts: kept as recorded, or no longer shown.
        enum Texts {
            Keep,
            Forget,
        }
        let (offload, texts) = match (k.standing, key.standing) {
            // Shown as it is, nothing looked up: its text whatever its standing.
            _ if outcome.shown_as_is => (false, Texts::Keep),
            (Some(then), Some(now)) => {
                let window = || {
                    then.boundary_then == now.boundary_then
                        && match after.synced {
                            // The index holds the previous request's texts up to here.
                            Some(cursor) if !after.forgot => cursor == *history_before,
                            upto => after.places.get(..*history_before).is_some_and(|before| {
                                let oldest = now.boundary_then.map_or(i64::MIN, |b| i64::from(b) + 2);
                                let upto = upto.unwrap_or(usize::MAX);
                                self.history.same_window(oldest, before, after.in_order, upto)
                            }),
                        }
                };
                // An offloaded block's outcome depends on the block alone; its first-sight
                // texts, and the outcome of a block not offloaded, on its window.
                let texts = match (then.need_first_sight, now.need_first_sight) {
                    (_, false) => Texts::Forget,
                    (true, true) if window() => Texts::Keep,
                    _ => return Recall::Compute,
                };
                match (then.aged, now.aged) {
                    (true, true) | (false, false) => (false, texts),
                    // Offloaded since: its outcome is new, but not what it showed first.
                    (false, true) => (true, texts),
                    (true, false) => return Recall::Compute,
                }
            }
            (None, None) => (false, Texts::Keep),
            _ => return Recall::Compute,
        };
        match texts {
            Texts::Keep if !self.keep_texts(j) => return Recall::Compute,
            Texts::Keep => {}
            Texts::Forget => self.forget_texts(j),
        }
        let outcome = self.take_outcome(j);
        if offload { Recall::Offload(outcome.seeds) } else { Recall::Outcome(outcome) }
    }

    /// Record `j`'s texts are no longer shown: marked gone where they stand while the index
    /// still holds the previous request's texts in order, else left out.
    fn forget_texts(&mut self, j: usize) {
        let Some(after) = &mut self.after else { return };
        let Some(range) = texts_of(&self.records, j, after.places.len()) else { return };
        match after.synced {
            Some(cursor) if cursor == range.start => {
                // Texts already gone in the previous request change no window.
                after.forgot |= self.history.forget(range.clone());
                after.synced = Some(range.end);
            }
            _ => {
                self.desync();
                let _ = self.take_texts(j);
            }
        }
    }

    /// Record `j`'s texts stay in the index as they were: already there while it still holds
    /// the previous request's texts in order, else put back. False when one was already
    /// taken.
    fn keep_texts(&mut self, j: usize) -> bool {
        let Some(after) = &mut self.after else { return false };
        let Some(range) = texts_of(&self.records, j, after.places.len()) else { return false };
        if let Some(cursor) = after.synced {
            if cursor == range.start {
                after.synced = Some(range.end);
                return true;
            }
            self.desync();
        }
        let Some(texts) = self.take_texts(j) else { return false };
        for src in texts {
            self.history.push(src);
        }
        true
    }

    /// From here on this request's index differs from the previous one's: take out the
    /// previous request's texts it has not reached, to be put back or replaced one by one.
    fn desync(&mut self) {
        let Some(after) = &mut self.after else { return };
        if let Some(cursor) = after.synced.take() {
            after.texts = self.history.detach(cursor).into_iter().map(Some).collect();
            after.base = cursor;
        }
    }

    /// Block `j` was worked out again, adding the texts from `from` on: when they are the
    /// texts its record added, they keep those texts' uids, so later windows holding them
    /// still compare equal.
    pub fn adopt(&mut self, j: usize, from: usize) {
        if let Some(old) = self.take_texts(j) {
            self.history.adopt(from, &old);
        }
    }

    /// The texts record `j` added to the previous index, taken out of what was detached;
    /// `None` when it holds them no longer (or never did).
    fn take_texts(&mut self, j: usize) -> Option<Vec<Source>> {
        let after = self.after.as_mut().filter(|a| a.synced.is_none())?;
        let range = texts_of(&self.records, j, after.places.len())?;
        let slots =
            after.texts.get_mut(range.start.checked_sub(after.base)?..range.end.checked_sub(after.base)?)?;
        if slots.iter().any(Option::is_none) {
            return None;
        }
        Some(slots.iter_mut().filter_map(Option::take).collect())
    }

    /// The walk is over: an index holding segments this request did not have is cut back.
    pub fn finish(&mut self, segments: usize) {
        if self.matching && self.records.len() > segments {
            let keep = self.records[segments].history_before;
            self.history.truncate(keep);
        }
        self.matching = false;
        if let Some(cursor) = self.after.take().and_then(|a| a.synced) {
            // Still the previous request's texts past this request's last segment.
            self.history.truncate(cursor);
        }
    }
}

/// Where record `j`'s texts lie in the previous request's index of `total` texts.
fn texts_of(records: &[Record], j: usize, total: usize) -> Option<Range<usize>> {
    let from = records.get(j)?.history_before;
    let to = records.get(j + 1).map_or(total, |r| r.history_before);
    (from <= to && to <= total).then_some(from..to)
}
