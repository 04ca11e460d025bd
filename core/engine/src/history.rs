//! What the conversation has already shown, line by line, so a block can point at an earlier
//! identical run of lines instead of repeating it. Agents re-read files after editing them
//! and re-run the same tests: about a seventh of command-output text in the trajectory corpus
//! repeats lines shown earlier in the same conversation.
//!
//! Only text the provider actually saw is indexed (each block as it was first forwarded), so
//! a reference never points at lines that were elided there. Lookups are by a 64-bit hash of
//! the line; the map is only ever looked up, never iterated, so its order cannot leak into output.
//!
//! A lookup depends only on the texts placed inside its window (see [`History::longest_run`]):
//! the bound on candidates applies after the window, never to what is indexed. So texts that
//! no later block can see may come or go (token mode stops needing the oldest first-sight
//! texts when its boundary moves) without changing any later lookup, and a conversation's
//! memory can tell that a block's lookups are unchanged by comparing the texts in its window
//! ([`History::same_window`]).

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};

/// The keys are already hashes: hashing them again would be wasted work.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A run this short is not worth a marker line.
pub const MIN_RUN_LINES: usize = 4;
/// Nor a run this small in bytes (a marker costs about 120).
pub const MIN_RUN_BYTES: usize = 200;
/// Lines shorter than this (trimmed) do not start a run: braces and blank lines repeat
/// everywhere.
const MIN_START_LEN: usize = 8;
/// Candidate positions looked at per line, among those inside the lookup's window: bounds
/// the work on very repetitive text.
const MAX_CANDIDATES: usize = 16;

/// One text shown.
pub(crate) struct Source {
    /// Which text this is, for [`History::same_window`]: kept when the text is carried into
    /// a later request's index, and only ever given to a text equal to it in place, message
    /// and bytes.
    uid: u64,
    message_index: u32,
    /// Its place in the conversation (see [`History::add`]): a position, not an age, so an
    /// index kept from an earlier request of the conversation stays valid in a later one.
    position: u32,
    text: String,
    lines: Vec<(usize, usize)>,
    /// No longer shown (see [`History::forget`]): lookups and windows pass it by.
    gone: bool,
}

/// Where a text was placed, which text it is, and whether it is still shown: what
/// [`History::same_window`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Place {
    position: u32,
    uid: u64,
    gone: bool,
}

/// The index of earlier text.
pub struct History {
    sources: Vec<Source>,
    index: HashMap<u64, Slots, BuildHasherDefault<PassThrough>>,
    next_uid: u64,
    /// Every text was placed no earlier than the one before it (how a walk adds them), so a
    /// window is a contiguous run of sources and of each line's slots.
    monotone: bool,
}

impl Default for History {
    fn default() -> Self {
        Self { sources: Vec::new(), index: HashMap::default(), next_uid: 0, monotone: true }
    }
}

/// The places (source, line) of one line hash, in the order they were added. Most lines are
/// unique, so the first place is held inline: indexing a text allocates nothing per line.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Slots {
    first: (u32, u32),
    more: Vec<(u32, u32)>,
}

impl Slots {
    fn len(&self) -> usize {
        1 + self.more.len()
    }

    fn last(&self) -> (u32, u32) {
        self.more.last().copied().unwrap_or(self.first)
    }

    fn get(&self, i: usize) -> (u32, u32) {
        if i == 0 { self.first } else { self.more[i - 1] }
    }
}

/// A run of lines found earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// Lines in the run.
    pub len: usize,
    /// The message that showed them.
    pub message_index: u32,
}

impl History {
    /// Record text shown in message `message_index` at `position`: one more than the assistant
    /// turns before it (0 for a system prompt, which precedes every turn).
    pub fn add(&mut self, message_index: u32, position: u32, text: String) {
        if text.len() < MIN_RUN_BYTES {
            return;
        }
        // Sized once: the text's lines.
        let count = memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1;
        let mut lines = Vec::with_capacity(count);
        let mut start = 0;
        // The ends of lines by `memchr` (the standard library's `split` finds them a word at a
        // time); the last line runs to the end of the text.
        for end in memchr::memchr_iter(b'\n', text.as_bytes()).chain(std::iter::once(text.len())) {
            lines.push((start, end));
            start = end + 1;
        }
        let uid = self.next_uid;
        self.next_uid += 1;
        self.push(Source { uid, message_index, position, text, lines, gone: false });
    }

    /// Index `src` after every text already held (a text carried over from an earlier
    /// request keeps its uid).
    pub(crate) fn push(&mut self, src: Source) {
        let id = self.sources.len() as u32;
        if self.sources.last().is_some_and(|last| last.position > src.position) {
            self.monotone = false;
        }
        self.index.reserve(src.lines.len());
        for n in 0..src.lines.len() {
            let line = src.line(n);
            if starts_run(line) {
                match self.index.entry(line_hash(line)) {
                    Entry::Vacant(v) => {
                        v.insert(Slots { first: (id, n as u32), more: Vec::new() });
                    }
                    Entry::Occupied(mut o) => o.get_mut().more.push((id, n as u32)),
                }
            }
        }
        self.sources.push(src);
    }

    /// Texts recorded so far.
    pub fn len(&self) -> usize {
        self.sources.len()
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.sources.is_empty()
    }

    /// Forget every text recorded after the first `len`, as if they had never been added.
    pub fn truncate(&mut self, len: usize) {
        self.detach(len);
    }

    /// Take out every text recorded after the first `len`, in order, as if they had never
    /// been added; they may be [`Self::push`]ed again.
    pub(crate) fn detach(&mut self, len: usize) -> Vec<Source> {
        let mut out = Vec::with_capacity(self.sources.len().saturating_sub(len));
        while self.sources.len() > len {
            let Some(src) = self.sources.pop() else { break };
            let id = self.sources.len() as u32;
            // Entries were pushed in source order, so this source's are last in their slots.
            for n in 0..src.lines.len() {
                let line = src.line(n);
                if !starts_run(line) {
                    continue;
                }
                let hash = line_hash(line);
                // This source's place is the last of its slot: drop it, and the slot with it
                // when it was the only one.
                if let Entry::Occupied(mut o) = self.index.entry(hash)
                    && o.get().last().0 == id
                    && o.get_mut().more.pop().is_none()
                {
                    o.remove();
                }
            }
            out.push(src);
        }
        out.reverse();
        out
    }

    /// Bytes held (texts and index), for hosts that bound what they keep: per line, its span
    /// and (since places are not capped when indexed) its place in a slot.
    pub fn bytes(&self) -> usize {
        self.sources.iter().map(|s| s.text.len() + s.lines.len() * 24).sum::<usize>() + self.index.len() * 48
    }

    /// The longest run of `lines[at..]` shown contiguously by one source placed within
    /// `oldest..=newest` (sources placed later were not yet shown when the block was new;
    /// those placed earlier were no longer in view), among the first [`MAX_CANDIDATES`]
    /// places of its first line inside that window.
    pub fn longest_run(&self, lines: &[&str], at: usize, newest: i64, oldest: i64) -> Option<Run> {
        let first = lines[at];
        if !starts_run(first) {
            return None;
        }
        let slots = self.index.get(&line_hash(first))?;
        let placed = |i: usize| i64::from(self.sources[slots.get(i).0 as usize].position);
        // Places are in the order their sources were added: when that is also the order of
        // their positions, the window starts at the first place not older than `oldest`.
        let from = if self.monotone { partition_point(slots.len(), |i| placed(i) < oldest) } else { 0 };
        let candidates = (from..slots.len())
            .filter(|&i| {
                (oldest..=newest).contains(&placed(i)) && !self.sources[slots.get(i).0 as usize].gone
            })
            .take(MAX_CANDIDATES)
            .map(|i| slots.get(i));
        let mut best: Option<Run> = None;
        for (id, pos) in candidates {
            let src = &self.sources[id as usize];
            let mut len = 0;
            while at + len < lines.len()
                && (pos as usize + len) < src.lines.len()
                && src.line(pos as usize + len) == lines[at + len]
            {
                len += 1;
            }
            if len > 0 && best.is_none_or(|b| len > b.len) {
                best = Some(Run { len, message_index: src.message_index });
            }
        }
        best
    }
}

impl History {
    /// Whether every text was placed no earlier than the one before it.
    pub(crate) fn in_order(&self) -> bool {
        self.monotone
    }

    /// Every text held, in order: what [`Self::same_window`] compares a later index with.
    pub(crate) fn places(&self) -> Vec<Place> {
        self.sources.iter().map(|s| Place { position: s.position, uid: s.uid, gone: s.gone }).collect()
    }

    /// Whether the texts shown among this index's first `upto` inside the window `oldest..`
    /// are the texts shown in `before` there (the [`Self::places`] of an earlier index, cut
    /// where a block's lookups were made): then every lookup in that window answers as it did.
    /// `in_order`: `before`'s places never go back (it came from an index whose
    /// [`Self::in_order`] was true).
    pub(crate) fn same_window(&self, oldest: i64, before: &[Place], in_order: bool, upto: usize) -> bool {
        let now = self.sources.get(..upto).unwrap_or(&self.sources);
        // Both in place order (the earlier index was this one before, and a walk adds in
        // order): each window is the run from its first place inside.
        let (from, from_before) = if self.monotone && in_order {
            (
                now.partition_point(|s| i64::from(s.position) < oldest),
                before.partition_point(|p| i64::from(p.position) < oldest),
            )
        } else {
            (0, 0)
        };
        let shown = |p: &Place| !p.gone && i64::from(p.position) >= oldest;
        let now = now[from..].iter().map(|s| Place { position: s.position, uid: s.uid, gone: s.gone });
        now.filter(shown).eq(before[from_before..].iter().copied().filter(shown))
    }

    /// The texts `range` are no longer shown: lookups pass them by, as if they had never been
    /// added (token mode stops needing an aged block's first sight once no block that still
    /// shows its own can see it). True when one of them was still shown.
    pub(crate) fn forget(&mut self, range: std::ops::Range<usize>) -> bool {
        let mut changed = false;
        for src in self.sources.get_mut(range).unwrap_or_default() {
            changed |= !src.gone;
            src.gone = true;
        }
        changed
    }

    /// Give the texts held from `from` on the uids of `old` when they are the same texts
    /// (place, message and bytes), so windows holding them compare equal to those that held
    /// `old`. False (and nothing changed) otherwise.
    pub(crate) fn adopt(&mut self, from: usize, old: &[Source]) -> bool {
        let new = self.sources.get(from..).unwrap_or_default();
        let same = new.len() == old.len()
            && new.iter().zip(old).all(|(a, b)| {
                a.message_index == b.message_index
                    && a.position == b.position
                    && crate::bytes::same(a.text.as_bytes(), b.text.as_bytes())
            });
        if same {
            for (a, b) in self.sources[from..].iter_mut().zip(old) {
                a.uid = b.uid;
            }
        }
        same
    }
}

#[cfg(test)]
impl History {
    /// Every text held, in order, as (message, place, text): what two indexes built by
    /// different routes must agree on.
    pub(crate) fn texts(&self) -> Vec<(u32, u32, &str)> {
        self.sources
            .iter()
            .filter(|s| !s.gone)
            .map(|s| (s.message_index, s.position, s.text.as_str()))
            .collect()
    }
}

/// The first `i` in `0..len` for which `before(i)` is false (`before` true then false).
fn partition_point(len: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) { lo = mid + 1 } else { hi = mid }
    }
    lo
}

impl Source {
    fn line(&self, n: usize) -> &str {
        let (a, b) = self.lines[n];
        &self.text[a..b]
    }
}

/// Whether a line may start a run (long enough once trimmed; `trim` only shortens, so short
/// lines are rejected before it runs).
fn starts_run(line: &str) -> bool {
    line.len() >= MIN_START_LEN && line.trim().len() >= MIN_START_LEN
}

/// A 64-bit hash of a line, eight bytes at a time (every line of every text shown is hashed,
/// so a byte-at-a-time hash was a visible share of the engine's time). Only ever compared for
/// equality before the lines themselves are compared.
fn line_hash(s: &str) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let b = s.as_bytes();
    let mut h = (b.len() as u64).wrapping_mul(K);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = (h.rotate_left(23) ^ u64::from_le_bytes(w)).wrapping_mul(K);
    }
    // Spread every input bit over the bits the table uses (murmur3's finaliser).
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_longest_earlier_run_within_the_age_window() {
        let mut h = History::default();
        let earlier: String = (0..20).map(|i| format!("    value_{i} = compute(value_{i})\n")).collect();
        h.add(3, 5, earlier.clone());
        let text = format!("new first line here\n{}", &earlier[..earlier.len() / 2]);
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(h.longest_run(&lines, 0, i64::MAX, i64::MIN), None);
        let run = h.longest_run(&lines, 1, i64::MAX, i64::MIN).expect("found");
        assert_eq!(run, Run { len: 10, message_index: 3 });
        assert_eq!(h.longest_run(&lines, 1, 4, i64::MIN), None, "source too young");
        assert_eq!(h.longest_run(&lines, 1, i64::MAX, 6), None, "source too old");
    }

    /// Two texts, and an index holding the first, the second and the first again.
    fn alpha_beta_alpha() -> (String, String, History) {
        let a: String = (0..20).map(|i| format!("    alpha_{i} = compute(alpha_{i})\n")).collect();
        let b: String = (0..20).map(|i| format!("    beta_{i} = compute(beta_{i})\n")).collect();
        let mut h = History::default();
        h.add(1, 1, a.clone());
        h.add(2, 2, b.clone());
        h.add(3, 3, a.clone());
        (a, b, h)
    }

    #[test]
    fn truncating_forgets_later_texts_exactly() {
        let (a, b, mut h) = alpha_beta_alpha();
        h.truncate(1);
        assert_eq!(h.len(), 1);
        let lines: Vec<&str> = b.split('\n').collect();
        assert_eq!(h.longest_run(&lines, 0, i64::MAX, i64::MIN), None);
        let lines: Vec<&str> = a.split('\n').collect();
        let run = h.longest_run(&lines, 0, i64::MAX, i64::MIN).expect("kept");
        assert_eq!(run.message_index, 1);
        let mut fresh = History::default();
        fresh.add(1, 1, a.clone());
        assert_eq!(h.index, fresh.index, "index as if the later texts were never added");
    }

    /// Over the bound of candidates, a line shown many times long ago must not hide the
    /// same line shown inside the window; and what lies outside the window changes nothing.
    #[test]
    fn a_lookup_sees_only_its_window_however_often_a_line_was_shown_before_it() {
        let text: String = (0..6).map(|i| format!("    repeated_line_{i} = load(value)\n")).collect();
        let mut crowded = History::default();
        for p in 0..(MAX_CANDIDATES as u32 + 4) {
            crowded.add(p, p, text.clone());
        }
        crowded.add(100, 50, text.clone());
        let mut alone = History::default();
        alone.add(100, 50, text.clone());
        let lines: Vec<&str> = text.split('\n').collect();
        let window = (60, 40);
        let run = crowded.longest_run(&lines, 0, window.0, window.1).expect("inside the window");
        assert_eq!(run, Run { len: lines.len(), message_index: 100 });
        assert_eq!(alone.longest_run(&lines, 0, window.0, window.1), Some(run));
        assert!(
            !crowded.same_window(40, &alone.places(), true, usize::MAX),
            "another index's texts are other texts"
        );
    }

    /// Places out of order (no walk adds them so, but nothing breaks if one did): lookups
    /// filter every place instead of searching.
    #[test]
    fn places_out_of_order_are_still_filtered_exactly() {
        let text: String = (0..8).map(|i| format!("    other_line_{i} = load(value)\n")).collect();
        let mut h = History::default();
        h.add(1, 9, text.clone());
        h.add(2, 3, text.clone());
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(h.longest_run(&lines, 0, 5, 0).map(|r| r.message_index), Some(2));
        assert_eq!(h.longest_run(&lines, 0, 20, 6).map(|r| r.message_index), Some(1));
    }

    /// Texts taken out and put back leave the index as it was, uids included; a text worked
    /// out again takes the uid of the text it equals.
    #[test]
    fn detached_texts_put_back_and_adopted_texts_keep_their_identity() {
        let (a, b, mut h) = alpha_beta_alpha();
        let before = h.places();
        let index = h.index.clone();
        let out = h.detach(1);
        assert_eq!(out.len(), 2);
        for src in out {
            h.push(src);
        }
        assert_eq!(h.places(), before);
        assert_eq!(h.index, index);
        assert!(h.same_window(i64::MIN, &before, true, usize::MAX));

        let old = h.detach(2);
        h.add(3, 3, a.clone());
        assert!(!h.same_window(i64::MIN, &before, true, usize::MAX), "a new text is another text");
        h.adopt(2, &old);
        assert!(h.same_window(i64::MIN, &before, true, usize::MAX), "adopted: the same text again");
        h.add(4, 4, b.clone());
        assert!(!h.adopt(3, &old), "a different text keeps its own uid");
    }

    /// A text marked gone is passed by as if it had never been added: by lookups (the bound on
    /// candidates counts only texts still shown) and by window comparisons.
    #[test]
    fn gone_texts_are_passed_by_as_if_never_added() {
        let text: String = (0..8).map(|i| format!("    gone_line_{i} = load(value)\n")).collect();
        let mut h = History::default();
        for p in 0..(MAX_CANDIDATES as u32 + 2) {
            h.add(p, 10, text.clone());
        }
        h.add(99, 12, text.clone());
        let before = h.places();
        assert!(h.forget(0..MAX_CANDIDATES + 2));
        assert!(!h.forget(0..1), "already gone");
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(h.longest_run(&lines, 0, 20, 0).map(|r| r.message_index), Some(99));
        let mut alone = History::default();
        alone.add(99, 12, text.clone());
        assert_eq!(h.texts(), alone.texts());
        assert!(!h.same_window(0, &before, true, usize::MAX), "texts gone since");
        assert!(h.same_window(11, &before, true, usize::MAX), "nothing gone inside 11..");
    }
}
