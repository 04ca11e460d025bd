//! When token mode moves its offload boundary: in batches, when enough stale output is
//! waiting that the reads it saves pay for re-writing the history after it.
//!
//! Offloading an output the provider has cached changes every byte after it, so the next
//! call writes that whole suffix to the cache again (1.25x the input price, 2x under the
//! 1-hour TTL Claude Code uses) instead of reading it (0.1x). Offloading one output per turn
//! pays that write on every call; offloading nothing pays the reads of every stale output on
//! every later call. Replays of real sessions (the design's reference `claude-code-bill.md`)
//! put the best policy at "all stale outputs at once, when some ten to thirty thousand
//! stale tokens are waiting". The boundary is a pure function of the history, so every later
//! request reproduces it (and the prefix caches again) without any state:
//!
//! walking the request's assistant turns in order, the output of turn `r` becomes stale at
//! turn `r + after`; stale tokens accumulate, and when they reach the batch size the
//! boundary jumps to `r` and the count starts again. A request with `t` turns offloads the
//! blocks at or before the boundary reached by turn `t`, once the batch also pays for its
//! re-write within as many more turns as the conversation has had ([`pays`]). History only
//! grows, so the walk
//! over an older request is a prefix of the walk over a newer one: boundaries never move
//! back and move only when a new batch is full.

/// Stale tokens that make a batch, by default. A batch re-writes the history after the
/// previous boundary once; its saving is collected on every later call.
pub const DEFAULT_BATCH_TOKENS: u32 = 12_000;

/// Blocks below this many bytes are never offloaded (see `transforms::aged::MIN_TOKENS`),
/// so they do not count towards a batch.
const MIN_BLOCK_BYTES: usize = 480;

/// A byte of output is about a quarter of a token; the walk must be cheap and exact
/// counts would not change where batches fall by much.
const BYTES_PER_TOKEN: u64 = 4;

/// The offload boundary of every request a conversation has sent so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Boundaries {
    /// `at[t]`: the boundary (blocks at or before this turn are offloaded) of the request
    /// with `t` assistant turns.
    at: Vec<Option<u32>>,
}

impl Boundaries {
    /// Plan the boundaries of a request with `turns` assistant turns from its text:
    /// `(turn, bytes, offloadable)` for every piece of it (turn: assistant turns before it),
    /// offloadable for the blocks token mode may offload.
    pub fn plan(
        pieces: impl IntoIterator<Item = (u32, usize, bool)>,
        turns: u32,
        after: u32,
        batch_tokens: u32,
    ) -> Self {
        let slots = turns as usize + 1;
        let (mut stale, mut all) = (vec![0u64; slots], vec![0u64; slots]);
        for (turn, bytes, offloadable) in pieces {
            let t = turn as usize;
            if t >= slots {
                continue;
            }
            let tokens = bytes as u64 / BYTES_PER_TOKEN;
            all[t] += tokens;
            if offloadable && bytes >= MIN_BLOCK_BYTES {
                stale[t] += tokens;
            }
        }
        let mut at = Vec::with_capacity(slots);
        let mut boundary: Option<u32> = None;
        let mut pending = 0u64;
        for t in 0..=turns {
            if let Some(r) = t.checked_sub(after) {
                pending += stale[r as usize];
                // Everything after the previous boundary is re-written when this one moves.
                let from = boundary.map_or(0, |b| b as usize + 1);
                let after_boundary: u64 = all[from..=t as usize].iter().sum();
                if pending >= u64::from(batch_tokens)
                    && (batch_tokens == 0 || pays(pending, after_boundary, t))
                {
                    boundary = Some(r);
                    pending = 0;
                }
            }
            at.push(boundary);
        }
        Self { at }
    }

    /// The boundary of the request with `turns` assistant turns.
    pub fn at(&self, turns: u32) -> Option<u32> {
        self.at.get(turns as usize).copied().flatten()
    }
}

/// Whether offloading `stale` tokens now pays for re-writing everything after the previous
/// boundary (`after_boundary` tokens, the stale ones included, as they will be once
/// offloaded), in a conversation `turns` turns long. Without a clock or a future, the
/// conversation is expected to go on for half as long again as it has so far: short
/// sessions wait, long ones batch as soon as a batch is full. Measured on the 22 real
/// Claude Code sessions: half as long again saves 32.2% of the bill with 97.5% of prefixes
/// kept and no session dearer than direct; as long again saves 32.8% at 96.9%, also none
/// dearer but with less margin (before long one-line outputs were offloaded whole, it left
/// two short sessions dearer).
fn pays(stale: u64, after_boundary: u64, turns: u32) -> bool {
    /// Share of an offloaded output that stays (head, tail, errors, the marker).
    const RESIDUE_PERCENT: u64 = 15;
    /// A re-written token costs this many tenths of the input price more than reading it
    /// (the 1-hour TTL's 2x write against a 0.1x read).
    const REWRITE_TENTHS: u64 = 19;
    let saved_per_call = stale * (100 - RESIDUE_PERCENT) / 100;
    let rewritten = after_boundary.saturating_sub(saved_per_call);
    saved_per_call * u64::from(turns) >= 2 * REWRITE_TENTHS * rewritten
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boundary_moves_once_a_batch_of_stale_output_is_waiting() {
        // 4,000 tokens of output at each of turns 0..20; stale two turns later.
        let blocks: Vec<(u32, usize, bool)> = (0..20).map(|t| (t, 16_000, true)).collect();
        let b = Boundaries::plan(blocks.clone(), 20, 2, 12_000);
        // Turns 0, 1, 2 are stale at t = 4, but a short conversation is not expected to last
        // long enough to pay for re-writing what follows them: the first batch waits until
        // the stale tokens, saved over half as many turns again, outweigh that.
        assert_eq!(b.at(4), None);
        assert_eq!(b.at(13), None);
        assert_eq!(b.at(14), Some(12));
        assert_eq!(b.at(15), Some(12));
        // A longer request (its newest outputs at turns 20 and 21) reproduces the boundaries
        // of every shorter one.
        let longer = Boundaries::plan(
            blocks.into_iter().chain([(20, 99_999, true), (21, 99_999, true)]),
            22,
            2,
            12_000,
        );
        for t in 0..20 {
            assert_eq!(longer.at(t), b.at(t), "turn {t}");
        }
    }

    #[test]
    fn one_big_output_is_a_batch_of_its_own_and_small_ones_never_count() {
        let b = Boundaries::plan([(1, 240_000, true), (2, 100, true), (3, 100, true)], 8, 2, 12_000);
        // Even alone, its residue is re-written: it pays from the seventh turn on.
        assert_eq!(b.at(6), None);
        assert_eq!(b.at(7), Some(5));
        assert_eq!(b.at(8), Some(5));
    }

    #[test]
    fn a_zero_batch_offloads_every_stale_turn() {
        let b = Boundaries::plan([], 6, 1, 0);
        assert_eq!(b.at(0), None);
        assert_eq!(b.at(1), Some(0));
        assert_eq!(b.at(6), Some(5));
    }
}
