//! When token mode moves its offload boundary: in batches, when enough stale output is
//! waiting that the reads it saves pay for re-writing the history after it.
//!
//! Offloading an output the provider has cached changes every byte after it, so the next
//! call writes that whole suffix to the cache again (1.25x the input price, 2x under the
//! 1-hour TTL Claude Code uses) instead of reading it (0.1x). Offloading one output per turn
//! pays that write on every call; offloading nothing pays the reads of every stale output on
//! every later call. Replays of real sessions (`../shared/reference/claude-code-bill.md`)
//! put the best policy at "all stale outputs at once, when some ten to thirty thousand
//! stale tokens are waiting". The boundary is a pure function of the history, so every later
//! request reproduces it (and the prefix caches again) without any state:
//!
//! walking the request's assistant turns in order, the output of turn `r` becomes stale at
//! turn `r + after`; stale tokens accumulate, and when they reach the batch size the
//! boundary jumps to `r` and the count starts again. A request with `t` turns offloads the
//! blocks at or before the boundary reached by turn `t`. History only grows, so the walk
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
    /// Plan the boundaries of a request with `turns` assistant turns whose offloadable blocks
    /// are `(turn, bytes)` (turn: assistant turns before the block).
    pub fn plan(
        blocks: impl IntoIterator<Item = (u32, usize)>,
        turns: u32,
        after: u32,
        batch_tokens: u32,
    ) -> Self {
        let mut weight = vec![0u64; turns as usize + 1];
        for (turn, bytes) in blocks {
            if bytes >= MIN_BLOCK_BYTES
                && let Some(w) = weight.get_mut(turn as usize)
            {
                *w += bytes as u64 / BYTES_PER_TOKEN;
            }
        }
        let mut at = Vec::with_capacity(turns as usize + 1);
        let mut boundary = None;
        let mut pending = 0u64;
        for t in 0..=turns {
            if let Some(r) = t.checked_sub(after) {
                pending += weight[r as usize];
                if pending >= u64::from(batch_tokens) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_boundary_moves_once_a_batch_of_stale_output_is_waiting() {
        // 4,000 tokens of output at each of turns 0..10; stale two turns later.
        let blocks: Vec<(u32, usize)> = (0..10).map(|t| (t, 16_000)).collect();
        let b = Boundaries::plan(blocks.clone(), 10, 2, 12_000);
        // Turns 0, 1, 2 are stale at t = 4: the first batch.
        assert_eq!(b.at(3), None);
        assert_eq!(b.at(4), Some(2));
        assert_eq!(b.at(6), Some(2));
        assert_eq!(b.at(7), Some(5));
        // A longer request reproduces the boundaries of every shorter one.
        let longer = Boundaries::plan(blocks.into_iter().chain([(10, 99_999), (11, 99_999)]), 12, 2, 12_000);
        for t in 0..=10 {
            assert_eq!(longer.at(t), b.at(t), "turn {t}");
        }
    }

    #[test]
    fn one_big_output_is_a_batch_of_its_own_and_small_ones_never_count() {
        let b = Boundaries::plan([(1, 60_000), (2, 100), (3, 100)], 5, 2, 12_000);
        assert_eq!(b.at(2), None);
        assert_eq!(b.at(3), Some(1));
        assert_eq!(b.at(5), Some(1));
    }

    #[test]
    fn a_zero_batch_offloads_every_stale_turn() {
        let b = Boundaries::plan([], 6, 1, 0);
        assert_eq!(b.at(0), None);
        assert_eq!(b.at(1), Some(0));
        assert_eq!(b.at(6), Some(5));
    }
}
