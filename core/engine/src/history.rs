//! What the conversation has already shown, line by line, so a block can point at an earlier
//! identical run of lines instead of repeating it. Agents re-read files after editing them
//! and re-run the same tests: about a seventh of command-output text in the trajectory corpus
//! repeats lines shown earlier in the same conversation.
//!
//! Only text the provider actually saw is indexed (each block as it was first forwarded), so
//! a reference never points at lines that were elided there. Lookups are by a 64-bit FNV-1a
//! hash; the map is only ever looked up, never iterated, so its order cannot leak into output.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// The keys are already FNV hashes: hashing them again would be wasted work.
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
    age: u32,
    text: String,
    lines: Vec<(usize, usize)>,
}

/// The index of earlier text.
#[derive(Default)]
pub struct History {
    sources: Vec<Source>,
    index: HashMap<u64, Vec<(u32, u32)>, BuildHasherDefault<PassThrough>>,
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
    /// Record text shown in message `message_index`, which is `age` assistant turns old.
    pub fn add(&mut self, message_index: u32, age: u32, text: String) {
        if text.len() < MIN_RUN_BYTES {
            return;
        }
        let id = self.sources.len() as u32;
        let mut lines = Vec::new();
        let mut start = 0;
        for (n, line) in text.split('\n').enumerate() {
            let end = start + line.len();
            lines.push((start, end));
            if line.trim().len() >= MIN_START_LEN {
                let slots = self.index.entry(fnv(line)).or_default();
                if slots.len() < MAX_CANDIDATES {
                    slots.push((id, n as u32));
                }
            }
            start = end + 1;
        }
        self.sources.push(Source { message_index, age, text, lines });
    }

    /// The longest run of `lines[at..]` shown contiguously by one source at least `min_age`
    /// turns old (sources younger than that were not yet shown when the block was new).
    pub fn longest_run(&self, lines: &[&str], at: usize, min_age: u32, max_age: u32) -> Option<Run> {
        let first = lines[at];
        if first.trim().len() < MIN_START_LEN {
            return None;
        }
        let mut best: Option<Run> = None;
        for &(id, pos) in self.index.get(&fnv(first))? {
            let src = &self.sources[id as usize];
            if src.age < min_age || src.age > max_age {
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

fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
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
        assert_eq!(h.longest_run(&lines, 0, 0, u32::MAX), None);
        let run = h.longest_run(&lines, 1, 0, u32::MAX).expect("found");
        assert_eq!(run, Run { len: 10, message_index: 3 });
        assert_eq!(h.longest_run(&lines, 1, 6, u32::MAX), None, "source too young");
        assert_eq!(h.longest_run(&lines, 1, 0, 4), None, "source too old");
    }
}
