//! Fixed sets of short substrings looked for in one pass over a line.
//!
//! Detection and the error-line test ask "does this line contain any of these N strings" on
//! every line they look at; `needles.iter().any(|n| line.contains(n))` builds a substring
//! searcher per needle and walks the line N times. [`AnyOf`] walks it once, stopping only
//! where a needle's first byte stands, and answers exactly what that expression answers.

/// A set of non-empty needles (at most 64), with the pairs of bytes they start with.
pub(crate) struct AnyOf<const N: usize> {
    needles: [&'static str; N],
    /// For each byte that starts a needle, 1 + the index of its row in `seconds`; 0 otherwise.
    first: [u8; 256],
    /// Per first byte, the set of bytes that follow it in some needle (every byte when a
    /// needle is that one byte alone), as 256 bits.
    seconds: [[u64; 4]; N],
    /// Per first byte, the needles that start with it (bit `i` for `needles[i]`): a candidate
    /// place is compared with those alone, not with the whole set.
    members: [u64; N],
    /// The first byte of every needle, when they all start alike: `memchr` finds the
    /// candidates then (tree drawings, `::`), not a walk over each byte.
    only_first: Option<u8>,
}

impl<const N: usize> AnyOf<N> {
    /// The set of `needles` (each non-empty: checked when the constant is built).
    pub(crate) const fn new(needles: [&'static str; N]) -> Self {
        let mut first = [0u8; 256];
        let mut seconds = [[0u64; 4]; N];
        let mut members = [0u64; N];
        assert!(N <= 64, "a set holds at most 64 needles");
        let mut rows = 0;
        let mut only_first = if N > 0 { Some(needles[0].as_bytes()[0]) } else { None };
        let mut i = 0;
        while i < N {
            let b = needles[i].as_bytes();
            assert!(!b.is_empty(), "an empty needle is in every line");
            if first[b[0] as usize] == 0 {
                rows += 1;
                first[b[0] as usize] = rows;
            }
            let row = first[b[0] as usize] as usize - 1;
            members[row] |= 1 << i;
            if b.len() == 1 {
                seconds[row] = [u64::MAX; 4];
            } else {
                seconds[row][(b[1] >> 6) as usize] |= 1 << (b[1] & 63);
            }
            if let Some(f) = only_first
                && f != b[0]
            {
                only_first = None;
            }
            i += 1;
        }
        Self { needles, first, seconds, members, only_first }
    }

    /// True when some needle occurs in `hay`.
    pub(crate) fn in_text(&self, hay: &str) -> bool {
        let h = hay.as_bytes();
        if let Some(f) = self.only_first {
            let row = self.first[f as usize] as usize - 1;
            return memchr::memchr_iter(f, h).any(|i| self.starts_at(&h[i..], row));
        }
        for (i, w) in h.windows(2).enumerate() {
            let row = self.first[w[0] as usize];
            if row != 0
                && self.seconds[row as usize - 1][(w[1] >> 6) as usize] & (1 << (w[1] & 63)) != 0
                && self.starts_at(&h[i..], row as usize - 1)
            {
                return true;
            }
        }
        // A one-byte needle at the very end has no second byte to test.
        h.last().is_some_and(|&b| {
            let row = self.first[b as usize];
            row != 0 && self.starts_at(&h[h.len() - 1..], row as usize - 1)
        })
    }

    /// True when `hay` starts with some needle.
    pub(crate) fn starts(&self, hay: &str) -> bool {
        let h = hay.as_bytes();
        h.first().is_some_and(|&b| {
            let row = self.first[b as usize];
            row != 0 && self.starts_at(h, row as usize - 1)
        })
    }

    /// True when `h` starts with one of the needles of `row` (those that start with `h[0]`).
    /// Needles are a few bytes long: compared byte by byte in place, not by a call to `memcmp`.
    fn starts_at(&self, h: &[u8], row: usize) -> bool {
        let mut m = self.members[row];
        while m != 0 {
            let n = self.needles[m.trailing_zeros() as usize].as_bytes();
            if h.len() >= n.len() && n.iter().zip(h).all(|(a, b)| a == b) {
                return true;
            }
            m &= m - 1;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::AnyOf;

    static SET: AnyOf<5> = AnyOf::new(["()", " = ", "::", "é", "self."]);
    const LIST: [&str; 5] = ["()", " = ", "::", "é", "self."];
    static WITH_ONE_BYTE: AnyOf<2> = AnyOf::new(["ab", "*"]);
    static ONE_START: AnyOf<2> = AnyOf::new(["├── ", "└── "]);

    #[test]
    fn answers_as_any_contains_and_any_starts_with() {
        for hay in [
            "",
            "f()",
            "(",
            "a = b",
            "a=b",
            " =",
            "std::io",
            ":",
            "café",
            "caf\u{e8}",
            "x.self.y",
            "self",
            "ééé",
            "= a",
            "() tail",
            "::start",
            "nothing here",
        ] {
            assert_eq!(SET.in_text(hay), LIST.iter().any(|n| hay.contains(n)), "{hay:?}");
            assert_eq!(SET.starts(hay), LIST.iter().any(|n| hay.starts_with(n)), "{hay:?}");
        }
        for hay in ["", "*", "a*", "*a", "ab", "xab", "a", "b", "ba", "x*y"] {
            let any = ["ab", "*"].iter().any(|n| hay.contains(n));
            assert_eq!(WITH_ONE_BYTE.in_text(hay), any, "{hay:?}");
        }
        for hay in ["", "├── a", "│   └── b", "├─", "x ├──", "└──  ", "plain"] {
            let any = ["├── ", "└── "].iter().any(|n| hay.contains(n));
            assert_eq!(ONE_START.in_text(hay), any, "{hay:?}");
        }
    }
}
