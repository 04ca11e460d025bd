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

/// `body` as a text when it is UTF-8, and the length of the prefix it shares with `before`.
/// Only what follows the shared prefix (from the char boundary at or before its end) is
/// validated: the prefix is `before`'s bytes, which are a text.
pub(crate) fn utf8_after<'b>(body: &'b [u8], before: &str) -> Result<(&'b str, usize), std::str::Utf8Error> {
    let common = common_prefix(body, before.as_bytes());
    let mut cut = common;
    while !before.is_char_boundary(cut) {
        cut -= 1;
    }
    debug_assert_eq!(&body[..cut], &before.as_bytes()[..cut]);
    if let Err(e) = std::str::from_utf8(&body[cut..]) {
        // The error as a whole-body validation words it (offsets from the start).
        return Err(std::str::from_utf8(body).err().unwrap_or(e));
    }
    #[allow(unsafe_code, reason = "skipping a second validation of bytes known to be UTF-8")]
    // SAFETY: `body[..cut]` equals `before[..cut]`, a prefix of a `str` ending at a char
    // boundary, so it is valid UTF-8; `body[cut..]` was validated just above; and two valid
    // UTF-8 sequences joined are valid UTF-8.
    let text = unsafe { std::str::from_utf8_unchecked(body) };
    Ok((text, common))
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
    use super::{common_prefix, equal_chunks, equal_words, same, utf8_after};

    #[test]
    fn utf8_after_validates_from_the_char_boundary_before_the_difference() {
        // "aé" then "aè": they share the first byte of the two-byte char; the cut goes back.
        assert_eq!(utf8_after("aè!".as_bytes(), "aé"), Ok(("aè!", 2)));
        assert_eq!(utf8_after(b"abc", "abc"), Ok(("abc", 3)));
        assert_eq!(utf8_after("xé".as_bytes(), ""), Ok(("xé", 0)));
        // A bad byte right after the shared part, inside it as a char, or far after it: the
        // same error as validating the whole body.
        for bad in [&b"a\xc3\x28"[..], b"ab\xff", b"\xe9abc", b"a\xc3\xa9\xc3"] {
            assert_eq!(utf8_after(bad, "a\u{e9}"), Err(std::str::from_utf8(bad).unwrap_err()), "{bad:?}");
        }
    }

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
