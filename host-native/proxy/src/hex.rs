//! Lower-case hex written by hand for the ids made on every request (`format!` and blake3's
//! 64-digit `to_hex` were a good part of what making them cost).

/// The digits.
pub const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `n` as `{:x}` writes it (no leading zeros).
pub fn push_u64(out: &mut String, n: u64) {
    let digits = (64 - n.leading_zeros()).div_ceil(4).max(1);
    for k in (0..digits).rev() {
        out.push(char::from(DIGITS[((n >> (4 * k)) & 0xf) as usize]));
    }
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
            let mut s = String::new();
            super::push_u64(&mut s, n);
            assert_eq!(s, format!("{n:x}"));
        }
        let hash = blake3::hash(b"x");
        let mut s = String::new();
        super::push_bytes(&mut s, hash.as_bytes());
        assert_eq!(s, hash.to_hex().as_str());
    }
}
