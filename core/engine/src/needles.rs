//! Fixed sets of short substrings looked for in one pass over a line.
//!
//! Detection and the error-line test ask "does this line contain any of these N strings" on
//! every line they look at; `needles.iter().any(|n| line.contains(n))` builds a substring
//! searcher per needle and walks the line N times. [`AnyOf`] walks it once, stopping only
//! where a needle's first two bytes stand, and answers exactly what that expression answers.

/// A set of non-empty needles (at most 32), as the needles each byte can start and the
/// needles each byte can follow the start of.
pub(crate) struct AnyOf<const N: usize> {
    needles: [&'static str; N],
    /// For each byte, the needles that start with it (bit `i` for `needles[i]`).
    first: [u32; 256],
    /// For each byte, the needles whose second byte it is, and every needle of one byte.
    second: [u32; 256],
    /// The first byte of every needle, when they all start alike: `memchr` finds the
    /// candidates then (tree drawings, `::`), not a walk over each byte.
    only_first: Option<u8>,
}

impl<const N: usize> AnyOf<N> {
    /// The set of `needles` (each non-empty: checked when the constant is built).
    pub(crate) const fn new(needles: [&'static str; N]) -> Self {
        assert!(N <= 32, "a set holds at most 32 needles");
        let mut first = [0u32; 256];
        let mut second = [0u32; 256];
        let mut only_first = if N > 0 { Some(needles[0].as_bytes()[0]) } else { None };
        let mut i = 0;
        while i < N {
            let b = needles[i].as_bytes();
            assert!(!b.is_empty(), "an empty needle is in every line");
            first[b[0] as usize] |= 1 << i;
            if b.len() == 1 {
                let mut c = 0;
                while c < 256 {
                    second[c] |= 1 << i;
                    c += 1;
                }
            } else {
                second[b[1] as usize] |= 1 << i;
            }
            if let Some(f) = only_first
                && f != b[0]
            {
                only_first = None;
            }
            i += 1;
        }
        Self { needles, first, second, only_first }
    }

    /// True when some needle occurs in `hay`.
    pub(crate) fn in_text(&self, hay: &str) -> bool {
        let h = hay.as_bytes();
        if let Some(f) = self.only_first {
            return memchr::memchr_iter(f, h).any(|i| self.starts_at(&h[i..], self.first[f as usize]));
        }
        // Each place is tested with two table reads and no branch until a needle's first two
        // bytes stand there; only those needles are then compared.
        for (i, w) in h.windows(2).enumerate() {
            let m = self.first[w[0] as usize] & self.second[w[1] as usize];
            if m != 0 && self.starts_at(&h[i..], m) {
                return true;
            }
        }
        // A one-byte needle at the very end has no second byte to test.
        h.last().is_some_and(|&b| self.starts_at(&h[h.len() - 1..], self.first[b as usize]))
    }

    /// True when `hay` starts with some needle.
    pub(crate) fn starts(&self, hay: &str) -> bool {
        let h = hay.as_bytes();
        h.first().is_some_and(|&b| self.starts_at(h, self.first[b as usize]))
    }

    /// True when `h` starts with one of the needles in `m` (bit `i` for `needles[i]`).
    /// Needles are a few bytes long: compared byte by byte in place, not by a call to `memcmp`.
    fn starts_at(&self, h: &[u8], mut m: u32) -> bool {
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
