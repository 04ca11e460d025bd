//! Lower-case hex written by hand for the ids made on every request (`format!` and blake3's
//! 64-digit `to_hex` were a good part of what making them cost).

/// The digits.
pub const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `n` as `{:x}` writes it (no leading zeros), in `buf`.
pub fn u64_digits(n: u64, buf: &mut [u8; 16]) -> &str {
    let digits = (64 - n.leading_zeros()).div_ceil(4).max(1) as usize;
    for (k, d) in buf[..digits].iter_mut().rev().enumerate() {
        *d = DIGITS[((n >> (4 * k)) & 0xf) as usize];
    }
    // ASCII digits only.
    std::str::from_utf8(&buf[..digits]).unwrap_or_default()
}

/// Two digits per byte, as blake3's `to_hex` writes them.
pub fn push_bytes(out: &mut String, bytes: &[u8]) {
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_what_the_formatters_write() {
        for n in [0, 1, 9, 10, 15, 16, 255, 256, 0x1234_abcd, u64::MAX] {
            assert_eq!(super::u64_digits(n, &mut [0; 16]), format!("{n:x}"));
        }
        let hash = blake3::hash(b"x");
        let mut s = String::new();
        super::push_bytes(&mut s, hash.as_bytes());
        assert_eq!(s, hash.to_hex().as_str());
    }
}
