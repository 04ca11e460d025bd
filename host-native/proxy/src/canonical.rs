//! JSON as it identifies a request: what two requests that mean the same thing share, hashed
//! without building a tree. Object keys are sorted, every `cache_control` marker is left out
//! (clients move their cache breakpoint to the newest message on every turn), strings are
//! compared by their decoded text (`"\u00e9"` and `"é"` are one string), and lengths are
//! hashed with the bytes so no two different values hash the same stream.
//!
//! One rule for the response cache's key, the conversation key of the session ledger and the
//! prefix hashes of the bill.

use headroom_json::{Object, Raw};

/// Hash the JSON text `text` in canonical form; `false` (nothing hashed) if it is not JSON.
pub fn update(hasher: &mut blake3::Hasher, text: &str) -> bool {
    match headroom_json::parse(text) {
        Some(raw) => {
            value(hasher, raw);
            true
        }
        None => false,
    }
}

/// Hash a value of text already validated (the views of [`headroom_json`]).
pub fn value(hasher: &mut blake3::Hasher, raw: Raw<'_>) {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'{') => {
            let Some(object) = Object::parse(raw) else { return bytes(hasher, b'?', text.as_bytes()) };
            let mut fields: Vec<(&str, Raw<'_>)> =
                object.fields().filter(|(key, _)| *key != "cache_control").collect();
            fields.sort_by(|a, b| a.0.cmp(b.0));
            hasher.update(b"{");
            for (key, v) in fields {
                bytes(hasher, b'k', key.as_bytes());
                value(hasher, v);
            }
            hasher.update(b"}");
        }
        Some(b'[') => {
            hasher.update(b"[");
            for item in headroom_json::array(raw).unwrap_or_default() {
                value(hasher, item);
            }
            hasher.update(b"]");
        }
        Some(b'"') => match headroom_json::as_str(raw) {
            Some(s) => bytes(hasher, b's', s.as_bytes()),
            // A lone surrogate escape: its text stands for itself.
            None => bytes(hasher, b'?', text.as_bytes()),
        },
        _ => bytes(hasher, b'n', text.as_bytes()),
    }
}

fn bytes(hasher: &mut blake3::Hasher, tag: u8, b: &[u8]) {
    hasher.update(&[tag]);
    hasher.update(&(b.len() as u64).to_le_bytes());
    hasher.update(b);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(text: &str) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        assert!(update(&mut h, text), "{text}");
        *h.finalize().as_bytes()
    }

    #[test]
    fn order_escapes_and_cache_control_do_not_count_but_content_does() {
        let a = r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"h\u00e9","cache_control":{"type":"ephemeral"}}]}]}"#;
        let b = r#"{ "messages" : [ {"content":[{"text":"hé","type":"text"}],"role":"user"} ],"model":"m"}"#;
        assert_eq!(hash(a), hash(b));
        assert_ne!(hash(a), hash(&a.replace("h\\u00e9", "he")));
        assert_ne!(hash(r#"{"a":[1,2]}"#), hash(r#"{"a":[12]}"#));
        assert_ne!(hash(r#"{"a":"1"}"#), hash(r#"{"a":1}"#));
        assert_ne!(hash(r#"{"ab":"c"}"#), hash(r#"{"a":"bc"}"#));
        assert_eq!(hash("1.50"), hash(" 1.50 "));
        let mut h = blake3::Hasher::new();
        assert!(!update(&mut h, "{not json"));
    }
}
