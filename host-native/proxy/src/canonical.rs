//! JSON as it identifies a request: what two requests that mean the same thing share, hashed
//! without building a tree. Object keys are sorted, every `cache_control` marker is left out
//! (clients move their cache breakpoint to the newest message on every turn), strings are
//! compared by their decoded text (`"\u00e9"` and `"é"` are one string), and lengths are
//! hashed with the bytes so no two different values hash the same stream.
//!
//! The response cache's key uses [`value`]. The conversation key of the session ledger and the
//! prefix hashes of the bill use [`update_as_sent`]: the bytes as the client sent them with only
//! the `cache_control` members cut out, which costs a hash of the bytes for the many items that
//! carry none (the bill hashes every message of every request twice).

use headroom_json::{Object, Raw};

/// Hash the JSON text `text` as sent, less its `cache_control` members (and the comma that
/// joined each to its neighbours); text that is not JSON is hashed as it is.
pub fn update_as_sent(hasher: &mut blake3::Hasher, text: &str) {
    if memchr::memmem::find(text.as_bytes(), b"\"cache_control\"").is_none() {
        hasher.update(text.as_bytes());
        return;
    }
    let Some(raw) = headroom_json::parse(text) else {
        hasher.update(text.as_bytes());
        return;
    };
    let mut cuts = Vec::new();
    cut_cache_control(text, raw, &mut cuts);
    cuts.sort_by_key(|r| r.start);
    let mut at = 0;
    for cut in cuts {
        hasher.update(&text.as_bytes()[at..cut.start.max(at)]);
        at = at.max(cut.end);
    }
    hasher.update(&text.as_bytes()[at..]);
}

/// The byte ranges of `text` that hold a `cache_control` member inside `raw`.
fn cut_cache_control(text: &str, raw: Raw<'_>, cuts: &mut Vec<std::ops::Range<usize>>) {
    let s = raw.get();
    if memchr::memmem::find(s.as_bytes(), b"\"cache_control\"").is_none() {
        return;
    }
    match s.as_bytes().first() {
        Some(b'{') => {
            let Some(object) = Object::parse(raw) else { return };
            let fields: Vec<(&str, Raw<'_>)> = object.fields().collect();
            for (i, (key, value)) in fields.iter().enumerate() {
                if *key != "cache_control" {
                    cut_cache_control(text, *value, cuts);
                    continue;
                }
                let value = headroom_json::span(text, *value);
                // The member starts at its key: the last quote pair before the colon.
                let before = &text[..value.start];
                let Some(colon) = before.rfind(':') else { continue };
                let Some(key_start) = before[..colon].rfind("\"cache_control\"") else { continue };
                let member = key_start..value.end;
                let cut = if i > 0 {
                    // `, "cache_control": {…}`: from the comma after the previous value.
                    let previous_end = headroom_json::span(text, fields[i - 1].1).end;
                    previous_end..member.end
                } else if let Some((_, next)) = fields.get(1) {
                    // The first member: up to the next one's key.
                    let next_start = headroom_json::span(text, *next).start;
                    let next_key = text[..next_start]
                        .rfind(':')
                        .and_then(|c| text[member.end..c].find('"').map(|q| member.end + q));
                    member.start..next_key.unwrap_or(member.end)
                } else {
                    member
                };
                cuts.push(cut);
            }
        }
        Some(b'[') => {
            for item in headroom_json::array(raw).unwrap_or_default() {
                cut_cache_control(text, item, cuts);
            }
        }
        _ => {}
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
        value(&mut h, headroom_json::parse(text).expect("JSON"));
        *h.finalize().as_bytes()
    }

    fn as_sent(text: &str) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        update_as_sent(&mut h, text);
        *h.finalize().as_bytes()
    }

    fn bytes_hash(text: &str) -> [u8; 32] {
        *blake3::hash(text.as_bytes()).as_bytes()
    }

    #[test]
    fn as_sent_is_the_bytes_less_each_cache_control_member() {
        let plain = r#"{"role":"user","content":[{"type":"text","text":"hi"},{"type":"tool_result","tool_use_id":"t","content":"x"}]}"#;
        assert_eq!(as_sent(plain), bytes_hash(plain));
        for marked in [
            r#"{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}},{"type":"tool_result","tool_use_id":"t","content":"x"}]}"#,
            r#"{"role":"user","content":[{"type":"text","text":"hi"},{"type":"tool_result","tool_use_id":"t","content":"x","cache_control":{"type":"ephemeral","ttl":"1h"}}]}"#,
            r#"{"role":"user","content":[{"cache_control":{"type":"ephemeral"},"type":"text","text":"hi"},{"type":"tool_result","tool_use_id":"t","content":"x"}]}"#,
        ] {
            assert_eq!(as_sent(marked), bytes_hash(plain), "{marked}");
        }
        // A `cache_control` that is text, not a member, is content.
        let text = r#"{"role":"user","content":"the \"cache_control\": field"}"#;
        assert_eq!(as_sent(text), bytes_hash(text));
        assert_eq!(as_sent("{not json"), bytes_hash("{not json"));
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
    }
}
