//! Comparing byte runs as long as a conversation, fast in the component as well.
//!
//! A remembered turn compares about as many bytes as the request holds (the body against the
//! previous one, blocks against their records). Natively `==` on slices is the C library's
//! vectorised `memcmp`; in `wasm32-unknown-unknown` it is compiler-builtins' `memcmp`, which
//! compares one byte at a time and took a fifth of the proxy's time on a long Claude Code turn.
//! There the comparison runs a word at a time, 64 bytes per branch.

/// Whether `a` and `b` hold the same bytes.
#[inline]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && common_prefix(a, b) == a.len()
}

/// Length of the longest common prefix of `a` and `b`.
pub(crate) fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    #[cfg(not(target_arch = "wasm32"))]
    let at = equal_chunks(a, b);
    #[cfg(target_arch = "wasm32")]
    let at = equal_words(a, b);
    at + a[at..].iter().zip(&b[at..]).position(|(x, y)| x != y).unwrap_or(n - at)
}

/// Bytes of the leading 4 KB chunks `a` and `b` share (by `memcmp`); they have one length.
#[cfg_attr(target_arch = "wasm32", allow(dead_code, reason = "the native path, tested everywhere"))]
fn equal_chunks(a: &[u8], b: &[u8]) -> usize {
    const CHUNK: usize = 4096;
    let mut at = 0;
    while at + CHUNK <= a.len() && a[at..at + CHUNK] == b[at..at + CHUNK] {
        at += CHUNK;
    }
    at
}

/// Bytes of the leading 64-byte blocks `a` and `b` share, compared a word at a time; they
/// have one length.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code, reason = "the component's path, tested natively"))]
fn equal_words(a: &[u8], b: &[u8]) -> usize {
    let (xs, _) = a.as_chunks::<64>();
    let (ys, _) = b.as_chunks::<64>();
    let differs = |x: &[u8; 64], y: &[u8; 64]| {
        let mut diff = 0u64;
        for i in 0..8 {
            diff |= word(x, i) ^ word(y, i);
        }
        diff != 0
    };
    64 * xs.iter().zip(ys).position(|(x, y)| differs(x, y)).unwrap_or(xs.len())
}

#[inline(always)]
fn word(block: &[u8; 64], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&block[i * 8..i * 8 + 8]);
    u64::from_ne_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::{common_prefix, equal_chunks, equal_words, same};

    #[test]
    fn common_prefix_finds_the_first_difference_inside_and_across_chunks() {
        let a: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for at in [0, 1, 63, 64, 65, 4095, 4096, 4097, 8191, 9_999] {
            let mut b = a.clone();
            b[at] ^= 1;
            assert_eq!(common_prefix(&a, &b), at);
            assert!(!same(&a, &b));
        }
        assert_eq!(common_prefix(&a, &a[..5000]), 5000);
        assert_eq!(common_prefix(&a, &a), 10_000);
        assert_eq!(common_prefix(b"", &a), 0);
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &a[..9_999]));
        assert!(same(b"", b""));
    }

    #[test]
    fn both_block_comparisons_stop_at_the_block_that_differs() {
        let a: Vec<u8> = (0..9_000u32).map(|i| (i % 253) as u8).collect();
        assert_eq!(equal_words(&a, &a), 9_000 / 64 * 64);
        assert_eq!(equal_chunks(&a, &a), 8192);
        for at in [0, 7, 8, 63, 64, 127, 4096, 8999] {
            let mut b = a.clone();
            b[at] ^= 0x80;
            assert_eq!(equal_words(&a, &b), at / 64 * 64, "{at}");
            assert_eq!(equal_chunks(&a, &b), (at / 4096 * 4096).min(8192), "{at}");
        }
    }
}
