//! Retrieval keys and the originals handed to the host for storage.

/// An original the host must store so the markers citing `key` can be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offload {
    /// `h:` + 24 lowercase hex digits.
    pub key: String,
    /// The exact original text.
    pub original: String,
}

/// The retrieval key of a text: BLAKE3, first 96 bits, hex. Content-addressed, so the same
/// original always gets the same key on every host and every turn.
pub fn key_for(text: &str) -> String {
    let hash = blake3::hash(text.as_bytes());
    let mut key = String::with_capacity(26);
    key.push_str("h:");
    for byte in &hash.as_bytes()[..12] {
        key.push(char::from(HEX[usize::from(byte >> 4)]));
        key.push(char::from(HEX[usize::from(byte & 0xf)]));
    }
    key
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_stable_and_well_formed() {
        let k = key_for("hello");
        assert_eq!(k, key_for("hello"));
        assert_eq!(k.len(), 26);
        assert!(k.starts_with("h:"));
        assert_ne!(k, key_for("hello "));
    }
}
