//! What a host needs to know about a request besides its compression, read by the same rules
//! the engine reads it with: which conversation it belongs to, how many messages it holds,
//! the prefixes a provider caches, and what it allows the proxy's retrieval tool.
//!
//! The native proxy calls these directly (it needs the conversation before the engine runs,
//! to find its memory and its frozen prefix); keeping them here keeps one copy of each
//! dialect rule (which field holds the list, which holds the system prompt, what a client's
//! cache breakpoint is). A body is validated once ([`Read::validated`]); everything else
//! only skips bytes.

use std::borrow::Cow;
use std::ops::Range;

use super::raw::{self, Object, Raw};
use super::{Dialect, list_field, preamble_field};

/// A request body's top level and its messages (Responses: input items), viewed.
pub struct Read<'a> {
    dialect: Dialect,
    body: &'a str,
    root: Object<'a>,
    /// `None` when the list field is missing or not an array (a Responses string input).
    items: Option<Vec<Raw<'a>>>,
}

/// A request's hashes ([`Read::hashes`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hashes {
    /// `[0]` covers the model, the system prompt (or instructions) and the tools; `[i]` those
    /// and the first `i` messages (Responses: input items). Empty without a message list.
    pub prefixes: Vec<[u8; 32]>,
    /// The whole request: the same for two requests that differ only in where their
    /// `cache_control` breakpoints sit or in the order of their top-level members.
    pub whole: [u8; 32],
}

/// What a request allows the proxy to do about retrieval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Survey {
    /// The request defines `tools` (an array).
    pub has_tools: bool,
    /// An Anthropic request that thinks: it asks for thinking, or its history holds thinking
    /// blocks. Their signatures bind each block to everything before it, `tools` included.
    pub thinking: bool,
    /// The client brought its own `headroom_retrieve` (for example through MCP).
    pub client_owns: bool,
    /// `n > 1` asks for alternatives, or a stored Responses stream (`store` not false) would
    /// leave the provider holding a turn that ends on an unanswered call.
    pub cannot_continue: bool,
}

/// What reading one body of a conversation leaves for reading its next: the body, where each
/// of its messages ends and each message's own hash. Agents resend the whole history every
/// turn, so the next body shares all but its last messages byte for byte; those are neither
/// validated nor hashed again ([`Read::validated_after`], [`Read::hashes_after`]). Nothing is
/// trusted: the shared messages are those inside the two bodies' common prefix, found by
/// comparing their bytes.
pub struct Memo<B> {
    dialect: Dialect,
    body: B,
    /// Where each message (Responses: input item) is.
    items: Vec<Range<usize>>,
    /// Offset of the message list's `[`, and the top-level members before it (name, value):
    /// a body sharing a message shares them, so its view is rebuilt without reading them.
    list_open: usize,
    before: Vec<(String, Range<usize>)>,
    /// Each message's own hash (see [`Read::hashes`]).
    hashes: Vec<[u8; 32]>,
}

impl<B: AsRef<[u8]>> Memo<B> {
    /// Bytes held, for hosts that bound what they keep.
    pub fn bytes(&self) -> usize {
        self.body.as_ref().len()
            + self.items.len() * 48
            + self.before.iter().map(|(name, _)| name.len() + 40).sum::<usize>()
    }

    /// Leading messages of `body` that this memo's body holds at the same offsets, byte for
    /// byte (and everything before them).
    pub fn shared(&self, dialect: Dialect, body: &[u8]) -> usize {
        if dialect != self.dialect {
            return 0;
        }
        let common = crate::bytes::common_prefix(self.body.as_ref(), body);
        self.items.partition_point(|item| item.end <= common)
    }
}

impl<'a> Read<'a> {
    /// Validate `body` (JSON, an object at the top) and view it; `None` otherwise.
    pub fn validated(dialect: Dialect, body: &'a str) -> Option<Self> {
        headroom_json::scan::validate(body).ok()?;
        Self::trusted(dialect, body)
    }

    /// [`Read::validated`], reading only what follows the messages `body` shares with the body
    /// `memo` was left by. That body was validated, and the bytes up to the end of a shared
    /// message are the same, so the pass resumes there (inside the top-level message list,
    /// after a value) and the view is rebuilt from the memo's places as the engine's own
    /// remembered read rebuilds it (`request::segments_in`): the members before the list and
    /// the shared messages where they were, then what the pass read. Falls back to the whole
    /// body when that cannot be done exactly. Also says how many leading messages were shared.
    pub fn validated_after<B: AsRef<[u8]>>(
        dialect: Dialect,
        body: &'a str,
        memo: Option<&Memo<B>>,
    ) -> Option<(Self, usize)> {
        let shared = memo.map_or(0, |m| m.shared(dialect, body.as_bytes()));
        Self::after(dialect, body, memo.map(|m| (m, shared)), false)
    }

    /// [`Read::validated_after`] with `memo`'s [`Memo::shared`] for `body` already known (a
    /// host that chose the memo by it compares the bodies once). `validated`: `body` was
    /// validated before (a body the engine wrote), so a body sharing nothing with the memo is
    /// read by skipping only.
    pub fn after<B: AsRef<[u8]>>(
        dialect: Dialect,
        body: &'a str,
        memo: Option<(&Memo<B>, usize)>,
        validated: bool,
    ) -> Option<(Self, usize)> {
        let whole = || {
            let read = if validated { Self::trusted(dialect, body) } else { Self::validated(dialect, body) };
            read.map(|read| (read, 0))
        };
        let Some((memo, shared)) = memo.filter(|(_, shared)| *shared > 0) else { return whole() };
        // `shared` is what `memo.shared` answered for this body; a count past the memo's
        // messages (a caller's mistake) reads the whole body instead.
        let Some(last) = memo.items.get(shared - 1) else { return whole() };
        // `None` when the rest is not valid JSON there: the whole read says what it is.
        let Some(rest) = raw::rest_of_top_level_array(body, last.end) else {
            return whole();
        };
        let list = list_field(dialect);
        let mut fields: Vec<(Cow<'a, str>, Raw<'a>)> = memo
            .before
            .iter()
            .map(|(name, r)| (Cow::Owned(name.clone()), Raw::trusted(&body[r.clone()])))
            .collect();
        fields.push((Cow::Borrowed(list), Raw::trusted(&body[memo.list_open..rest.array_end])));
        fields.extend(rest.fields);
        let root = Object::from_fields(fields);
        // The list read must be the one the shared messages sit in (a duplicate member could
        // name another).
        if root.get(list).map(|r| r.get().as_ptr()) != Some(body[memo.list_open..].as_ptr()) {
            return whole();
        }
        let mut items: Vec<Raw<'a>> =
            memo.items[..shared].iter().map(|r| Raw::trusted(&body[r.clone()])).collect();
        items.extend(rest.items);
        Some((Self { dialect, body, root, items: Some(items) }, shared))
    }

    /// [`Read::hashes`], taking the first `shared` messages' own hashes from `memo` (as
    /// [`Read::validated_after`] found them), and the memo to leave for the next body.
    pub fn hashes_after<B: AsRef<[u8]>>(
        &self,
        body: B,
        memo: Option<&Memo<B>>,
        shared: usize,
    ) -> (Hashes, Memo<B>) {
        let known = memo.map_or(&[][..], |m| &m.hashes[..shared.min(m.hashes.len())]);
        let (hashes, own) = self.hashes_reusing(known);
        let list = self.root.get(list_field(self.dialect)).map(|r| raw::span(self.body, r));
        let items: Vec<Range<usize>> =
            self.items.iter().flatten().map(|item| raw::span(self.body, *item)).collect();
        // The messages must sit in the list the top level names; otherwise the memo holds none.
        let (list_open, items) = match list {
            Some(l) if items.iter().all(|i| l.start < i.start && i.end < l.end) => (l.start, items),
            _ => (0, Vec::new()),
        };
        let before = self
            .root
            .fields()
            .map(|(name, value)| (name.to_owned(), raw::span(self.body, value)))
            .filter(|(_, r)| r.end <= list_open)
            .collect();
        (hashes, Memo { dialect: self.dialect, body, items, list_open, before, hashes: own })
    }

    /// View `body`, which must have been validated before (by [`Read::validated`] or the
    /// engine): the views only skip bytes, and on text that is not JSON they may panic. The
    /// message list is walked once, for the top level and its items together.
    pub fn trusted(dialect: Dialect, body: &'a str) -> Option<Self> {
        let top = body.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'));
        let (root, items) = Object::parse_with_list(Raw::trusted(top), list_field(dialect))?;
        Some(Self { dialect, body, root, items })
    }

    /// The top-level object.
    pub fn root(&self) -> &Object<'a> {
        &self.root
    }

    /// The whole body as one value.
    pub fn raw(&self) -> Raw<'a> {
        Raw::trusted(self.body.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r')))
    }

    /// Number of messages (Responses: input items); `None` without a list.
    pub fn messages(&self) -> Option<u32> {
        self.items.as_ref().and_then(|i| u32::try_from(i.len()).ok())
    }

    /// What opens the conversation, hashed: the dialect, the system prompt (or instructions)
    /// and the messages through the first user message, as sent less their `cache_control`
    /// members. It stays the same on every turn of an agent loop, and tells apart chat
    /// conversations that share a system prompt. `None` without a list.
    pub fn opening(&self) -> Option<[u8; 32]> {
        let items = self.items.as_ref()?;
        let mut hasher = blake3::Hasher::new();
        hasher.update(&[self.dialect as u8]);
        if let Some(preamble) = preamble_field(self.dialect).and_then(|f| self.root.get(f)) {
            update_as_sent(&mut hasher, preamble.get());
        }
        for item in items {
            hasher.update(&[0]);
            update_as_sent(&mut hasher, item.get());
            if Object::parse(*item).is_some_and(|m| m.str("role").as_deref() == Some("user")) {
                break;
            }
        }
        Some(*hasher.finalize().as_bytes())
    }

    /// The request's hashes, each over its bytes as sent less their `cache_control` members
    /// (one pass over the body): its prefixes as a provider caches them and the whole request.
    ///
    /// Each message is hashed on its own and the prefixes chain those hashes
    /// (`prefix[i] = H(prefix[i-1] ‖ H(message i))`): a message hashed from the start of its
    /// own tree takes BLAKE3's wide (SIMD) path, where one hasher fed message after message
    /// mostly compresses a block at a time, about five times slower on a long conversation.
    pub fn hashes(&self) -> Hashes {
        self.hashes_reusing(&[]).0
    }

    /// [`Read::hashes`], with the own hashes of the leading messages given (`known`), and
    /// every message's own hash.
    fn hashes_reusing(&self, known: &[[u8; 32]]) -> (Hashes, Vec<[u8; 32]>) {
        let preamble = preamble_field(self.dialect);
        let list = list_field(self.dialect);
        let mut head = blake3::Hasher::new();
        // The fields a provider caches ahead of the messages.
        let fixed: Vec<&str> = std::iter::once("model").chain(preamble).chain(["tools"]).collect();
        for &name in &fixed {
            head.update(name.as_bytes());
            if let Some(v) = self.root.get(name) {
                update_as_sent(&mut head, v.get());
            }
        }
        let mut chain = *head.finalize().as_bytes();
        let items = self.items.as_deref().unwrap_or_default();
        let mut prefixes = Vec::with_capacity(items.len() + 1);
        if self.items.is_some() {
            prefixes.push(chain);
        }
        let mut message = blake3::Hasher::new();
        let mut own = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let hash = match known.get(i) {
                Some(hash) => *hash,
                None => {
                    message.reset();
                    update_as_sent(&mut message, item.get());
                    *message.finalize().as_bytes()
                }
            };
            own.push(hash);
            let mut link = blake3::Hasher::new();
            link.update(&chain);
            link.update(&hash);
            chain = *link.finalize().as_bytes();
            prefixes.push(chain);
        }
        // The rest of the request (sampling settings, `stream`, a string `input`), by name:
        // the order of the top-level members does not count.
        let mut whole = blake3::Hasher::new();
        whole.update(&chain);
        whole.update(&[1]);
        let mut rest: Vec<(&str, Raw<'_>)> = self
            .root
            .fields()
            .filter(|(name, _)| !fixed.contains(name) && (*name != list || self.items.is_none()))
            .collect();
        rest.sort_by(|a, b| a.0.cmp(b.0));
        for (name, value) in rest {
            whole.update(&(name.len() as u64).to_le_bytes());
            whole.update(name.as_bytes());
            whole.update(&[0]);
            update_as_sent(&mut whole, value.get());
        }
        (Hashes { prefixes, whole: *whole.finalize().as_bytes() }, own)
    }

    /// What the request allows the retrieval tool.
    pub fn survey(&self) -> Survey {
        let root = &self.root;
        let raw = |name: &str| root.get(name).map(|v| v.get());
        let tools = root.get("tools").and_then(raw::array);
        let named = |tool: &Raw<'_>| {
            let Some(t) = Object::parse(*tool) else { return false };
            t.str("name").as_deref() == Some(crate::retrieve_tool::NAME)
                || t.get("function")
                    .and_then(Object::parse)
                    .is_some_and(|f| f.str("name").as_deref() == Some(crate::retrieve_tool::NAME))
        };
        let several = raw("n").and_then(|n| n.parse::<u64>().ok()).is_some_and(|n| n > 1);
        let stored_stream = self.dialect == Dialect::OpenAiResponses
            && raw("stream") == Some("true")
            && raw("store") != Some("false");
        let body = self.body.as_bytes();
        let thinking = self.dialect == Dialect::AnthropicMessages
            && (raw("thinking").is_some_and(|t| t.contains("\"enabled\"") || t.contains("\"adaptive\""))
                || memchr::memmem::find(body, b"\"signature\"").is_some()
                || memchr::memmem::find(body, b"\"redacted_thinking\"").is_some());
        Survey {
            has_tools: tools.is_some(),
            thinking,
            client_owns: tools.iter().flatten().any(named),
            cannot_continue: several || stored_stream,
        }
    }
}

/// Hash the JSON text `text` as sent, less its `cache_control` members (and the comma that
/// joined each to its neighbours): clients move their cache breakpoint to the newest message
/// on every turn, and a message must hash the same before and after it moved. Text that is
/// not JSON is hashed as it is. Costs a hash of the bytes for the many messages that carry
/// no marker.
pub fn update_as_sent(hasher: &mut blake3::Hasher, text: &str) {
    if memchr::memmem::find(text.as_bytes(), b"\"cache_control\"").is_none() {
        hasher.update(text.as_bytes());
        return;
    }
    let Some(raw) = raw::parse(text) else {
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
                let value = raw::span(text, *value);
                // The member starts at its key: the last quote pair before the colon.
                let before = &text[..value.start];
                let Some(colon) = before.rfind(':') else { continue };
                let Some(key_start) = before[..colon].rfind("\"cache_control\"") else { continue };
                let member = key_start..value.end;
                let cut = if i > 0 {
                    // `, "cache_control": {…}`: from the comma after the previous value.
                    let previous_end = raw::span(text, fields[i - 1].1).end;
                    previous_end..member.end
                } else if let Some((_, next)) = fields.get(1) {
                    // The first member: up to the next one's key.
                    let next_start = raw::span(text, *next).start;
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
            for item in raw::array(raw).unwrap_or_default() {
                cut_cache_control(text, item, cuts);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn read(dialect: Dialect, body: &str) -> Read<'_> {
        Read::validated(dialect, body).expect("a JSON object")
    }

    #[test]
    fn the_opening_is_the_same_on_every_turn_and_tells_conversations_apart() {
        let a = r#"{"model":"m","system":"s","messages":[{"role":"user","content":"hi","cache_control":{"type":"ephemeral"}}]}"#;
        let b = r#"{"model":"m","system":"s","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"},{"role":"user","content":"more"}]}"#;
        let other = r#"{"model":"m","system":"s","messages":[{"role":"user","content":"bye"}]}"#;
        let d = Dialect::AnthropicMessages;
        assert_eq!(read(d, a).opening(), read(d, b).opening());
        assert_ne!(read(d, a).opening(), read(d, other).opening());
        assert_ne!(read(d, a).opening(), read(Dialect::OpenAiChat, a).opening());
        assert_eq!(read(d, b).messages(), Some(3));
        let system_first = r#"{"messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}]}"#;
        let other_user = r#"{"messages":[{"role":"system","content":"s"},{"role":"user","content":"ho"}]}"#;
        let chat = Dialect::OpenAiChat;
        assert_ne!(read(chat, system_first).opening(), read(chat, other_user).opening());
        // A Responses request with a string input has no list, so no conversation.
        let plain = r#"{"model":"m","input":"hello"}"#;
        assert_eq!(read(Dialect::OpenAiResponses, plain).opening(), None);
        assert_eq!(read(Dialect::OpenAiResponses, plain).messages(), None);
        assert!(Read::validated(d, "{\"messages\":[").is_none());
        assert!(Read::validated(d, "[1]").is_none());
    }

    #[test]
    fn prefix_hashes_grow_with_the_messages_and_ignore_the_moving_breakpoint() {
        let a = r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}]}"#;
        let b = r#"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]},{"role":"assistant","content":"yo"}]}"#;
        let d = Dialect::AnthropicMessages;
        let (ha, hb) = (read(d, a).hashes().prefixes, read(d, b).hashes().prefixes);
        assert_eq!((ha.len(), hb.len()), (2, 3));
        assert_eq!(ha[..], hb[..2]);
        let other_model = b.replace("\"m\"", "\"n\"");
        assert_ne!(read(d, &other_model).hashes().prefixes[0], hb[0]);
    }

    #[test]
    fn a_memo_reads_only_the_new_messages_and_agrees_with_a_full_read() {
        let message = |i: usize, marker: bool| {
            let cc = if marker { r#","cache_control":{"type":"ephemeral"}"# } else { "" };
            format!(
                r#"{{"role":"user","content":[{{"type":"text","text":"turn {i} \"quoted\" text"{cc}}}]}}"#
            )
        };
        let body = |n: usize| {
            let list: Vec<String> = (0..n).map(|i| message(i, i + 1 == n)).collect();
            format!(
                r#"{{"model":"claude-sonnet-4-5","messages":[{}],"system":"be brief","max_tokens":9}}"#,
                list.join(",")
            )
        };
        let mut memo: Option<Memo<Vec<u8>>> = None;
        for n in 1..6 {
            let text = body(n);
            let (read, shared) =
                Read::validated_after(Dialect::AnthropicMessages, &text, memo.as_ref()).expect("valid");
            // The previous body's last message carried the breakpoint, which moved: its bytes
            // differ, so all messages before it are shared.
            assert_eq!(shared, n.saturating_sub(2), "messages shared at {n}");
            let (hashes, next) = read.hashes_after(text.as_bytes().to_vec(), memo.as_ref(), shared);
            let full = Read::validated(Dialect::AnthropicMessages, &text).expect("valid");
            assert_eq!(hashes, full.hashes(), "hashes at {n}");
            assert_eq!(read.messages(), full.messages());
            // The rebuilt view is the whole read's: members, order, opening, survey.
            let fields = |r: &Read<'_>| {
                r.root().fields().map(|(k, v)| (k.to_owned(), v.get().to_owned())).collect::<Vec<_>>()
            };
            assert_eq!(fields(&read), fields(&full), "top level at {n}");
            assert_eq!(read.opening(), full.opening());
            assert_eq!(read.survey(), full.survey());
            memo = Some(next);
        }
        let memo = memo.expect("memo");
        // Bytes after the shared messages are validated: a broken tail is refused.
        let broken = body(5).replace(r#""max_tokens":9}"#, r#""max_tokens":9"#);
        assert!(Read::validated_after(Dialect::AnthropicMessages, &broken, Some(&memo)).is_none());
        let broken = body(6).replacen("turn 5", r"turn \q5", 1);
        assert!(Read::validated_after(Dialect::AnthropicMessages, &broken, Some(&memo)).is_none());
        // Another dialect, or a body that differs from the first byte, shares nothing.
        assert_eq!(memo.shared(Dialect::OpenAiChat, body(6).as_bytes()), 0);
        assert_eq!(memo.shared(Dialect::AnthropicMessages, b" {}"), 0);
        // A duplicate list member: whichever list the reader takes, the hashes agree with a
        // full read.
        let twice = body(6).replace(r#","system""#, r#","messages":[],"system""#);
        let (read, shared) =
            Read::validated_after(Dialect::AnthropicMessages, &twice, Some(&memo)).expect("valid");
        let full = Read::validated(Dialect::AnthropicMessages, &twice).expect("valid");
        assert_eq!(read.messages(), full.messages());
        assert_eq!(read.hashes_after(Vec::new(), Some(&memo), shared).0, full.hashes());
    }

    #[test]
    fn the_whole_hash_sees_every_field_but_not_the_breakpoints() {
        let d = Dialect::AnthropicMessages;
        let whole = |b: &str| read(d, b).hashes().whole;
        let a = r#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}]}"#;
        let b = r#"{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}"#;
        assert_eq!(whole(a), whole(b));
        assert_ne!(whole(a), whole(&a.replace("\"max_tokens\":5", "\"max_tokens\":6")));
        assert_ne!(whole(a), whole(&a.replace("\"hi\"", "\"ho\"")));
        assert_ne!(whole(a), whole(&a.replace("\"m\"", "\"n\"")));
        assert_ne!(whole(b), whole(&b.replace("\"max_tokens\":5,", "")));
        let reordered = r#"{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"max_tokens":5,"model":"m"}"#;
        assert_eq!(whole(b), whole(reordered));
        // Without a message list, the input is part of the rest.
        let r = Dialect::OpenAiResponses;
        let plain = r#"{"model":"m","input":"hello"}"#;
        assert!(read(r, plain).hashes().prefixes.is_empty());
        assert_ne!(read(r, plain).hashes().whole, read(r, &plain.replace("hello", "bye")).hashes().whole);
    }

    #[test]
    fn the_survey_reads_tools_thinking_and_what_forbids_a_continuation() {
        let d = Dialect::AnthropicMessages;
        let s = read(d, r#"{"tools":[{"name":"bash"}],"messages":[]}"#).survey();
        assert!(s.has_tools && !s.client_owns && !s.thinking && !s.cannot_continue);
        let own = read(d, r#"{"tools":[{"name":"headroom_retrieve"}],"messages":[]}"#).survey();
        assert!(own.client_owns);
        let chat_own = read(
            Dialect::OpenAiChat,
            r#"{"tools":[{"type":"function","function":{"name":"headroom_retrieve"}}],"messages":[],"n":2}"#,
        )
        .survey();
        assert!(chat_own.client_owns && chat_own.cannot_continue);
        let thinks =
            read(d, r#"{"thinking":{"type":"enabled","budget_tokens":1024},"messages":[]}"#).survey();
        assert!(thinks.thinking && !thinks.has_tools);
        let signed =
            read(d, r#"{"messages":[{"role":"assistant","content":[{"type":"thinking","signature":"x"}]}]}"#);
        assert!(signed.survey().thinking);
        let stored = read(Dialect::OpenAiResponses, r#"{"input":[],"stream":true}"#).survey();
        assert!(stored.cannot_continue);
        let unstored = read(Dialect::OpenAiResponses, r#"{"input":[],"stream":true,"store":false}"#).survey();
        assert!(!unstored.cannot_continue);
        assert!(!read(d, r#"{"tools":{},"messages":[]}"#).survey().has_tools);
    }
}
