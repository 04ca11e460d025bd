//! What the conversation has already shown, line by line, so a block can point at an earlier
//! identical run of lines instead of repeating it. Agents re-read files after editing them
//! and re-run the same tests: about a seventh of command-output text in the trajectory corpus
//! repeats lines shown earlier in the same conversation.
//!
//! Only text the provider actually saw is indexed (each block as it was first forwarded), so
//! a reference never points at lines that were elided there. Lookups are by a 64-bit hash of
//! the line; the map is only ever looked up, never iterated, so its order cannot leak into output.

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
/// Candidate positions looked at per line: bounds the work on very repetitive text.
const MAX_CANDIDATES: usize = 16;

struct Source {
    message_index: u32,
    /// Its place in the conversation (see [`History::add`]): a position, not an age, so an
    /// index kept from an earlier request of the conversation stays valid in a later one.
    position: u32,
    text: String,
    lines: Vec<(usize, usize)>,
}

/// The index of earlier text.
#[derive(Default)]
pub struct History {
    sources: Vec<Source>,
    index: HashMap<u64, Slots, BuildHasherDefault<PassThrough>>,
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

    fn iter(&self) -> impl Iterator<Item = (u32, u32)> + '_ {
        std::iter::once(self.first).chain(self.more.iter().copied())
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
        let id = self.sources.len() as u32;
        // Sized once: the text's lines, and room in the index for each of them.
        let count = memchr::memchr_iter(b'\n', text.as_bytes()).count() + 1;
        let mut lines = Vec::with_capacity(count);
        self.index.reserve(count);
        let mut start = 0;
        // The ends of lines by `memchr` (the standard library's `split` finds them a word at a
        // time); the last line runs to the end of the text.
        let ends = memchr::memchr_iter(b'\n', text.as_bytes()).chain(std::iter::once(text.len()));
        for (n, end) in ends.enumerate() {
            let line = &text[start..end];
            lines.push((start, end));
            if starts_run(line) {
                match self.index.entry(line_hash(line)) {
                    Entry::Vacant(v) => {
                        v.insert(Slots { first: (id, n as u32), more: Vec::new() });
                    }
                    Entry::Occupied(mut o) => {
                        let slots = o.get_mut();
                        if slots.len() < MAX_CANDIDATES {
                            slots.more.push((id, n as u32));
                        }
                    }
                }
            }
            start = end + 1;
        }
        self.sources.push(Source { message_index, position, text, lines });
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
        while self.sources.len() > len {
            let Some(src) = self.sources.pop() else { break };
            let id = self.sources.len() as u32;
            // Entries were pushed in source order, so this source's are last in their slots
            // (a slot that was full when it came holds none of them).
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
        }
    }

    /// Bytes held (texts and index), for hosts that bound what they keep.
    pub fn bytes(&self) -> usize {
        self.sources.iter().map(|s| s.text.len() + s.lines.len() * 16).sum::<usize>() + self.index.len() * 48
    }

    /// The longest run of `lines[at..]` shown contiguously by one source placed within
    /// `oldest..=newest` (sources placed later were not yet shown when the block was new;
    /// those placed earlier were no longer in view).
    pub fn longest_run(&self, lines: &[&str], at: usize, newest: i64, oldest: i64) -> Option<Run> {
        let first = lines[at];
        if !starts_run(first) {
            return None;
        }
        let mut best: Option<Run> = None;
        for (id, pos) in self.index.get(&line_hash(first))?.iter() {
            let src = &self.sources[id as usize];
            if i64::from(src.position) > newest || i64::from(src.position) < oldest {
                continue;
            }
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

    #[test]
    fn truncating_forgets_later_texts_exactly() {
        let a: String = (0..20).map(|i| format!("    alpha_{i} = compute(alpha_{i})\n")).collect();
        let b: String = (0..20).map(|i| format!("    beta_{i} = compute(beta_{i})\n")).collect();
        let mut h = History::default();
        h.add(1, 1, a.clone());
        h.add(2, 2, b.clone());
        h.add(3, 3, a.clone());
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
}
