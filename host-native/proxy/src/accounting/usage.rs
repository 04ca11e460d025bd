//! The provider's reported usage, read into one shape whatever the API. Anthropic reports
//! uncached input, cache reads and cache writes apart (writes split by TTL when the request
//! asked for a 1-hour cache); OpenAI reports all input in `prompt_tokens` / `input_tokens`, of
//! which `cached_tokens` were read from its automatic cache (OpenAI bills no cache writes).

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;

use bytes::Bytes;

use serde_json::Value;

/// Input and output tokens one request was billed for, as the provider reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    /// Input billed at the full rate.
    pub uncached_input: u64,
    /// Input read from the provider's prompt cache.
    pub cache_read: u64,
    /// Input written to the cache with the 5-minute TTL.
    pub cache_write_5m: u64,
    /// Input written to the cache with the 1-hour TTL.
    pub cache_write_1h: u64,
    /// Output tokens (reasoning included).
    pub output: u64,
    /// Of `output`, reasoning or thinking tokens, when reported apart.
    pub reasoning: u64,
}

/// A count as the provider wrote it: whether the field is there at all (whatever its value),
/// and its value when it is a whole number (anything else counts 0).
#[derive(Debug, Clone, Copy, Default)]
struct Count {
    present: bool,
    n: u64,
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> Visitor<'de> for Visit {
            type Value = u64;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_u64<E>(self, n: u64) -> Result<u64, E> {
                Ok(n)
            }
            fn visit_i64<E>(self, n: i64) -> Result<u64, E> {
                Ok(u64::try_from(n).unwrap_or(0))
            }
            fn visit_f64<E>(self, _: f64) -> Result<u64, E> {
                Ok(0)
            }
            fn visit_bool<E>(self, _: bool) -> Result<u64, E> {
                Ok(0)
            }
            fn visit_str<E>(self, _: &str) -> Result<u64, E> {
                Ok(0)
            }
            fn visit_unit<E>(self) -> Result<u64, E> {
                Ok(0)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(0)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<u64, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(0)
            }
        }
        Ok(Self { present: true, n: d.deserialize_any(Visit)? })
    }
}

/// A value that should be an object: absent, something else, or the object read as `T`.
#[derive(Debug, Default)]
enum Object<T> {
    #[default]
    Absent,
    Other,
    Is(T),
}

impl<T> Object<T> {
    fn get(&self) -> Option<&T> {
        match self {
            Self::Is(t) => Some(t),
            _ => None,
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Visit<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Object<T>, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(Object::Is)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Object<T>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Object::Other)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Object<T>, E> {
                Ok(Object::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Object<T>, E> {
                Ok(Object::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Object<T>, E> {
                Ok(Object::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Object<T>, E> {
                Ok(Object::Other)
            }
            fn visit_str<E>(self, _: &str) -> Result<Object<T>, E> {
                Ok(Object::Other)
            }
            fn visit_unit<E>(self) -> Result<Object<T>, E> {
                Ok(Object::Other)
            }
        }
        d.deserialize_any(Visit(std::marker::PhantomData))
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Details {
    cached_tokens: Count,
    reasoning_tokens: Count,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct Split {
    ephemeral_5m_input_tokens: Count,
    ephemeral_1h_input_tokens: Count,
}

/// The fields of a `usage` object of any of the three APIs, read as the text is scanned (no
/// tree is built; other fields are skipped).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Fields {
    prompt_tokens: Count,
    completion_tokens: Count,
    total_tokens: Count,
    input_tokens: Count,
    output_tokens: Count,
    prompt_tokens_details: Object<Details>,
    input_tokens_details: Object<Details>,
    completion_tokens_details: Object<Details>,
    output_tokens_details: Object<Details>,
    cache_creation_input_tokens: Count,
    cache_read_input_tokens: Count,
    cache_creation: Object<Split>,
}

/// A `usage` member as found in an answer: its fields when it is an object.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(transparent)]
pub struct UsageMember(Object<Fields>);

impl UsageMember {
    /// The usage it reports (`None` when it is not an object or holds no counts).
    pub fn usage(&self) -> Option<Usage> {
        Usage::from_fields(self.0.get()?)
    }
}

/// An answer's top-level `usage` and `model`, as `serde_json` reads them into
/// [`AnswerTop`] (the reference; the same values whatever the answer): `None` when the answer
/// is not read (not JSON, or a member of the wrong type, as serde refuses). Most answers take
/// the fast path: the two members picked by [`crate::top_level::members`] (the other members,
/// `choices`, `content`, `output`, which hold the answer's text, skipped) and the `usage`
/// member read by hand (serde where it cannot be); what that walk cannot vouch for goes to
/// serde whole.
pub fn read_answer(buf: &[u8]) -> Option<(UsageMember, Option<Cow<'_, str>>)> {
    read_picked(buf, crate::top_level::members(buf, ["usage", "model"]))
}

/// [`read_answer`] of `buf` from the `usage` and `model` members a walk picked of it (`None`:
/// the walk could not vouch for what serde reads, and serde reads the answer whole).
fn read_picked<'a>(
    buf: &'a [u8],
    picked: Option<[Option<&'a str>; 2]>,
) -> Option<(UsageMember, Option<Cow<'a, str>>)> {
    match picked.and_then(top_members) {
        Some(read) => read,
        None => serde_json::from_slice::<AnswerTop<'_>>(buf).ok().map(|t| (t.usage, t.model)),
    }
}

/// The shape [`read_answer`] reads, through serde (also its reference in tests).
#[derive(serde::Deserialize)]
pub struct AnswerTop<'a> {
    /// `usage` (absent: [`UsageMember::default`]).
    #[serde(default)]
    pub usage: UsageMember,
    /// `model`.
    #[serde(borrow)]
    pub model: Option<Cow<'a, str>>,
}

/// [`read_answer`]'s fast path on the picked members: `None` when it cannot tell what serde
/// would read.
#[allow(clippy::option_option, reason = "outer: this path cannot tell; inner: serde's answer")]
fn top_members([usage, model]: [Option<&str>; 2]) -> Option<Option<(UsageMember, Option<Cow<'_, str>>)>> {
    let model = match model {
        None | Some("null") => None,
        Some(raw) if raw.starts_with('"') => Some(headroom_json::scan::decode(raw)?),
        // A model of another type: serde refuses the answer.
        Some(_) => return Some(None),
    };
    let usage = match usage {
        None => UsageMember::default(),
        Some(raw) => match by_hand(raw) {
            Some(fields) => UsageMember(Object::Is(fields)),
            None => match serde_json::from_str::<UsageMember>(raw) {
                Ok(u) => u,
                Err(_) => return Some(None),
            },
        },
    };
    Some(Some((usage, model)))
}

/// A whole answer the proxy checked as JSON before relaying it ([`check_answer`]), handed to
/// the accounting with the response (as an extension): its usage and model are read when the
/// request is accounted, in the accounting's batch, off the request's thread, and without
/// validating it again.
#[derive(Debug, Clone)]
pub struct Checked(Bytes);

impl Checked {
    /// The same answer, small ones in a buffer of their own ([`super::unpinned`]).
    #[must_use]
    pub fn unpinned(self) -> Self {
        Self(super::unpinned(&self.0))
    }

    /// What [`read_answer`] reads of it: the usage it reports and the model it names (capped).
    /// serde checked its grammar, so the walk only skips (and reads it as text only where it
    /// is UTF-8: serde skips strings without decoding them; serde reads any other whole).
    pub fn read(&self) -> (Option<Usage>, Option<String>) {
        kept(read_picked(&self.0, crate::top_level::members_of_valid(&self.0, ["usage", "model"])))
    }

    /// The answer's size in bytes.
    pub fn size(&self) -> usize {
        self.0.len()
    }
}

/// What the accounting keeps of a read answer: the usage it reports and the model it names
/// (capped).
pub fn kept(read: Option<(UsageMember, Option<Cow<'_, str>>)>) -> (Option<Usage>, Option<String>) {
    read.map_or((None, None), |(usage, model)| (usage.usage(), model.map(|m| super::cap_model(&m))))
}

/// Check that a whole answer is JSON (what `serde_json` accepts: the check the proxy makes
/// before relaying it, a 502 otherwise). It only checks: the usage is read later, in the
/// accounting's batch ([`Checked::read`]), where reading it in this pass cost the request's
/// thread half as much again, cold. `Err` is serde's own error for a body that is not JSON.
pub fn check_answer(answer: &Bytes) -> Result<Checked, serde_json::Error> {
    serde_json::from_slice::<IgnoredAny>(answer).map(|_| Checked(answer.clone()))
}

/// The fields of a `usage` object (validated text) read by hand where every count is a plain
/// whole number and every breakdown an object, as providers write them; `None` for anything
/// else (a count that is negative, fractional, huge or not a number, a field twice, a name
/// with escapes), which serde reads.
fn by_hand(usage: &str) -> Option<Fields> {
    let mut u = Fields::default();
    crate::top_level::each_member(usage, |key, value| match key {
        "prompt_tokens" => count(&mut u.prompt_tokens, value),
        "completion_tokens" => count(&mut u.completion_tokens, value),
        "total_tokens" => count(&mut u.total_tokens, value),
        "input_tokens" => count(&mut u.input_tokens, value),
        "output_tokens" => count(&mut u.output_tokens, value),
        "cache_creation_input_tokens" => count(&mut u.cache_creation_input_tokens, value),
        "cache_read_input_tokens" => count(&mut u.cache_read_input_tokens, value),
        "prompt_tokens_details" => details(&mut u.prompt_tokens_details, value),
        "input_tokens_details" => details(&mut u.input_tokens_details, value),
        "completion_tokens_details" => details(&mut u.completion_tokens_details, value),
        "output_tokens_details" => details(&mut u.output_tokens_details, value),
        "cache_creation" => {
            let mut split = Split::default();
            crate::top_level::each_member(value, |key, value| match key {
                "ephemeral_5m_input_tokens" => count(&mut split.ephemeral_5m_input_tokens, value),
                "ephemeral_1h_input_tokens" => count(&mut split.ephemeral_1h_input_tokens, value),
                _ => Some(()),
            })?;
            object(&mut u.cache_creation, split)
        }
        _ => Some(()),
    })?;
    Some(u)
}

/// A count of up to 19 digits (below `u64::MAX`), the first time it is seen.
fn count(slot: &mut Count, value: &str) -> Option<()> {
    let plain = !value.is_empty() && value.len() <= 19 && value.bytes().all(|b| b.is_ascii_digit());
    if slot.present || !plain {
        return None;
    }
    *slot = Count { present: true, n: value.parse().ok()? };
    Some(())
}

fn details(slot: &mut Object<Details>, value: &str) -> Option<()> {
    let mut d = Details::default();
    crate::top_level::each_member(value, |key, value| match key {
        "cached_tokens" => count(&mut d.cached_tokens, value),
        "reasoning_tokens" => count(&mut d.reasoning_tokens, value),
        _ => Some(()),
    })?;
    object(slot, d)
}

/// A breakdown, the first time it is seen.
fn object<T>(slot: &mut Object<T>, value: T) -> Option<()> {
    if !matches!(slot, Object::Absent) {
        return None;
    }
    *slot = Object::Is(value);
    Some(())
}

impl Usage {
    /// Read a `usage` object of any of the three APIs (`None` when it holds no counts).
    pub fn from_value(usage: &Value) -> Option<Self> {
        UsageMember::deserialize(usage).ok()?.usage()
    }

    fn from_fields(u: &Fields) -> Option<Self> {
        let details =
            |d: &Object<Details>| d.get().map_or((0, 0), |d| (d.cached_tokens.n, d.reasoning_tokens.n));
        if u.prompt_tokens.present
            || !matches!(u.input_tokens_details, Object::Absent)
            || u.total_tokens.present
        {
            // OpenAI Chat (`prompt_tokens`) or Responses (`input_tokens`): cached is a part of input.
            let input = u.prompt_tokens.n.max(u.input_tokens.n);
            let cached = details(&u.prompt_tokens_details).0.max(details(&u.input_tokens_details).0);
            let output = u.completion_tokens.n.max(u.output_tokens.n);
            let reasoning = details(&u.completion_tokens_details).1.max(details(&u.output_tokens_details).1);
            return Some(Self {
                uncached_input: input.saturating_sub(cached),
                cache_read: cached,
                output,
                reasoning,
                ..Self::default()
            });
        }
        if !u.input_tokens.present && !u.output_tokens.present {
            return None;
        }
        // Anthropic: the three input counts are disjoint; `cache_creation` splits the writes by
        // TTL (absent on older responses: then every write was a 5-minute one).
        let writes = u.cache_creation_input_tokens.n;
        let (w5, w1h) = match u.cache_creation.get() {
            Some(split) => {
                let w1h = split.ephemeral_1h_input_tokens.n;
                (split.ephemeral_5m_input_tokens.n.max(writes.saturating_sub(w1h)), w1h)
            }
            None => (writes, 0),
        };
        Some(Self {
            uncached_input: u.input_tokens.n,
            cache_read: u.cache_read_input_tokens.n,
            cache_write_5m: w5,
            cache_write_1h: w1h,
            output: u.output_tokens.n,
            reasoning: 0,
        })
    }

    /// Every input token, however billed.
    pub fn input_total(&self) -> u64 {
        self.uncached_input + self.cache_read + self.cache_write_5m + self.cache_write_1h
    }

    /// Cache writes of both TTLs.
    pub fn cache_write(&self) -> u64 {
        self.cache_write_5m + self.cache_write_1h
    }

    /// Add `other` in.
    pub fn add(&mut self, other: &Self) {
        self.uncached_input += other.uncached_input;
        self.cache_read += other.cache_read;
        self.cache_write_5m += other.cache_write_5m;
        self.cache_write_1h += other.cache_write_1h;
        self.output += other.output;
        self.reasoning += other.reasoning;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_answer_is_scanned_for_its_usage_and_model() {
        #[derive(serde::Deserialize)]
        struct Top<'a> {
            #[serde(default)]
            usage: UsageMember,
            #[serde(borrow)]
            model: Option<std::borrow::Cow<'a, str>>,
        }
        let text = r#"{"id":"x","choices":[{"message":{"content":"usage"}}],"model":"gpt-4o",
            "usage":{"prompt_tokens":10,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":4}}}"#;
        let top: Top<'_> = serde_json::from_str(text).unwrap();
        let u = top.usage.usage().unwrap();
        assert_eq!((u.uncached_input, u.cache_read, u.output), (6, 4, 2));
        assert_eq!(top.model.as_deref(), Some("gpt-4o"));
        let top: Top<'_> = serde_json::from_str(r#"{"usage": "n/a", "model": "m"}"#).unwrap();
        assert!(top.usage.usage().is_none());
        assert_eq!(top.model.as_deref(), Some("m"));
    }

    /// What serde reads of an answer, and what [`read_answer`] reads.
    fn both(buf: &[u8]) -> [Option<(Option<Usage>, Option<String>)>; 2] {
        let reference = serde_json::from_slice::<AnswerTop<'_>>(buf)
            .ok()
            .map(|t| (t.usage.usage(), t.model.map(|m| m.into_owned())));
        let fast = read_answer(buf).map(|(u, m)| (u.usage(), m.map(|m| m.into_owned())));
        [reference, fast]
    }

    /// [`check_answer`] accepts what `serde_json` accepts as JSON, and then reads what
    /// [`read_answer`] reads.
    fn checked_as_read(buf: &[u8]) {
        let text = String::from_utf8_lossy(buf);
        let is_json = serde_json::from_slice::<IgnoredAny>(buf).is_ok();
        match check_answer(&Bytes::copy_from_slice(buf)) {
            Ok(checked) => {
                assert!(is_json, "accepted what is not JSON: {text}");
                assert_eq!(checked.read(), both(buf)[1].clone().unwrap_or_default(), "{text}");
            }
            Err(_) => assert!(!is_json, "refused JSON: {text}"),
        }
    }

    #[test]
    fn an_answer_reads_as_serde_reads_it_whatever_its_shape() {
        let deep =
            |n: usize| format!(r#"{{"x":{}{},"usage":{{"input_tokens":1}}}}"#, "[".repeat(n), "]".repeat(n));
        let mut answers: Vec<Vec<u8>> = [
            // The three APIs.
            r#"{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":1}}}"#,
            r#"{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":5,"cache_creation_input_tokens":7,"cache_read_input_tokens":100,"cache_creation":{"ephemeral_5m_input_tokens":3,"ephemeral_1h_input_tokens":4},"output_tokens":9}}"#,
            r#"{"id":"resp_1","object":"response","model":"gpt-5","output":[{"type":"message","content":[{"type":"output_text","text":"hi"}]}],"usage":{"input_tokens":10,"input_tokens_details":{"cached_tokens":4},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":2},"total_tokens":13}}"#,
            // `usage` only in a string, only nested, or both with the real one.
            r#"{"model":"m","choices":[{"message":{"content":"\"usage\": {\"input_tokens\": 5}"}}]}"#,
            r#"{"model":"m","choices":[{"usage":{"prompt_tokens":3}}]}"#,
            r#"{"choices":[{"usage":{"prompt_tokens":3}}],"usage":{"prompt_tokens":8},"model":"m"}"#,
            r#"{"message":{"usage":{"input_tokens":1},"model":"inner"}}"#,
            // Members of other types, null, empty, odd values.
            r#"{"usage":null,"model":null}"#,
            r#"{"usage":"n/a","model":"m"}"#,
            r#"{"usage":[1,2],"model":"m"}"#,
            r#"{"usage":{},"model":"m"}"#,
            r#"{"usage":{"input_tokens":"7","output_tokens":-1,"cache_read_input_tokens":2.5}}"#,
            r#"{"usage":{"prompt_tokens":1e400}}"#,
            r#"{"usage":{"prompt_tokens":18446744073709551616}}"#,
            r#"{"usage":{"prompt_tokens":1},"model":5}"#,
            r#"{"usage":{"prompt_tokens":0,"prompt_tokens":2}}"#,
            r#"{"usage":{"input_tokens":1,"cache_creation":{"ephemeral_1h_input_tokens":2,"ephemeral_1h_input_tokens":3}}}"#,
            r#"{"usage":{"input_tokens":1,"cache_creation":null,"cache_read_input_tokens":-0}}"#,
            r#"{"usage":{"input_tokens":1,"cache_creation":{"x":[1,{"y":2}],"ephemeral_5m_input_tokens":9}}}"#,
            r#"{"usage":{"prompt_tokens":3,"prompt_tokens_details":{"cached_tokens":1,"audio_tokens":0},"prompt_tokens_details":{}}}"#,
            r#"{"usage":{"prompt_tokens":3,"prompt_tokens_details":[{"cached_tokens":1}],"completion_tokens_details":"x"}}"#,
            r#"{"usage":{"prompt_tokens":3,"prompt_tokens_details":{"cached_tokens":1.0,"reasoning_tokens":2e1}}}"#,
            r#"{"usage":{"prompt_tokens":9999999999999999999,"completion_tokens":18446744073709551615}}"#,
            r#"{"usage":{"prompt_tokens":99999999999999999999,"completion_tokens":1}}"#,
            r#"{"usage":{"prompt_tokens":true,"completion_tokens":"2","total_tokens":null}}"#,
            r#"{"usage":{"inp\u0075t_tokens":4,"output_tokens":1}}"#,
            r#"{"usage":{"input_tokens":4,"server_tool_use":{"web_search_requests":1},"service_tier":"standard","output_tokens":1}}"#,
            r#"{"usage":{ "input_tokens" : 4 , "output_tokens" : 1 }}"#,
            r#"{"usage":{"prompt_tokens":1},"model":["m"]}"#,
            r#"{"usage":{"prompt_tokens":1},"model":"caf\u00e9 \"m\""}"#,
            r#"{"usage":{"prompt_tokens":1},"model":"\ud800"}"#,
            r#"{"usage":{"prompt_tokens":1},"model":"\u00e9","model2":"\ud800\udc00"}"#,
            // Duplicates, escaped names, whitespace.
            r#"{"usage":{"prompt_tokens":1},"usage":{"prompt_tokens":2}}"#,
            r#"{"usage":{"prompt_tokens":1},"model":"a","model":"b"}"#,
            r#"{"us\u0061ge":{"prompt_tokens":1},"usage":{"prompt_tokens":2}}"#,
            r#"{"\"usage\"":{"prompt_tokens":1},"usage":{"prompt_tokens":2}}"#,
            " \n{ \"usage\" :\t{ \"prompt_tokens\" : 4 } , \"model\" : \"m\" }\r\n",
            // Not an object, not JSON.
            r#"[{"prompt_tokens":1},"m"]"#,
            r#"[{"prompt_tokens":1},"m","extra"]"#,
            r#""usage""#,
            r#"{"usage":{"prompt_tokens":1}"#,
            r#"{"usage":{"prompt_tokens":1}} trailing"#,
            r#"{"usage":{"prompt_tokens":1},}"#,
            r#"{"usage":{"prompt_tokens":01}}"#,
            "{\"usage\":{\"prompt_tokens\":1},\"x\":\"a\u{1}b\"}",
            r#"{}"#,
            "",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
        for n in [1, 126, 127, 128, 200] {
            answers.push(deep(n).into_bytes());
        }
        // Bytes that are not UTF-8 in a string serde skips, and in the model.
        answers.push(b"{\"content\":\"\xff\xfe\",\"usage\":{\"prompt_tokens\":1}}".to_vec());
        answers.push(b"{\"model\":\"\xff\",\"usage\":{\"prompt_tokens\":1}}".to_vec());
        answers.push(b"{\"model\":\"m\",\"usage\":{\"prompt_tokens\":1,\"x\":\"\xff\"}}".to_vec());
        answers.push(b"{\"model\":\"m\",\"usage\":{\"prompt_tokens\":1}} \xff".to_vec());
        answers.push(b"{\"\xff\":1,\"model\":\"m\",\"usage\":{\"prompt_tokens\":1}}".to_vec());
        answers
            .push("{\"mod\u{e9}l\":1,\"model\":\"m\",\"usage\":{\"prompt_tokens\":1}}".as_bytes().to_vec());
        for answer in &answers {
            let [reference, fast] = both(answer);
            assert_eq!(fast, reference, "{}", String::from_utf8_lossy(answer));
            checked_as_read(answer);
        }
        // The usual answers take the fast path.
        for answer in &answers[..3] {
            let picked = crate::top_level::members(answer, ["usage", "model"]);
            assert!(picked.and_then(top_members).is_some_and(|read| read.is_some()));
        }
        // The shapes above do reach both outcomes.
        assert!(answers.iter().any(|a| both(a)[0].as_ref().is_some_and(|(u, _)| u.is_some())));
        assert!(answers.iter().any(|a| both(a)[0].is_none()));
    }

    #[test]
    fn reads_all_three_apis_cache_fields_included() {
        let a = json!({"input_tokens": 10, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 1000,
            "cache_creation": {"ephemeral_5m_input_tokens": 40, "ephemeral_1h_input_tokens": 60}, "output_tokens": 3});
        let a = Usage::from_value(&a).unwrap();
        assert_eq!(
            (a.uncached_input, a.cache_read, a.cache_write_5m, a.cache_write_1h, a.output),
            (10, 1000, 40, 60, 3)
        );
        assert_eq!(a.input_total(), 1110);
        let old = Usage::from_value(
            &json!({"input_tokens": 5, "cache_creation_input_tokens": 7, "output_tokens": 1}),
        )
        .unwrap();
        assert_eq!((old.cache_write_5m, old.cache_write_1h), (7, 0));
        let chat = json!({"prompt_tokens": 10, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 1}});
        let c = Usage::from_value(&chat).unwrap();
        assert_eq!((c.uncached_input, c.cache_read, c.output, c.reasoning), (6, 4, 3, 1));
        let resp = json!({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4}, "output_tokens": 3,
            "output_tokens_details": {"reasoning_tokens": 2}});
        let r = Usage::from_value(&resp).unwrap();
        assert_eq!((r.uncached_input, r.cache_read, r.output, r.reasoning), (6, 4, 3, 2));
        assert!(Usage::from_value(&json!({"foo": 1})).is_none());
        // What decides the API is a field's presence, whatever its value; odd values count 0.
        let null_prompt = Usage::from_value(&json!({"prompt_tokens": null, "input_tokens": 5})).unwrap();
        assert_eq!((null_prompt.uncached_input, null_prompt.cache_write_5m), (5, 0));
        let odd = json!({"input_tokens": "7", "output_tokens": -1, "cache_read_input_tokens": 2.5,
            "cache_creation_input_tokens": 9, "cache_creation": [1, 2]});
        let odd = Usage::from_value(&odd).unwrap();
        assert_eq!((odd.uncached_input, odd.output, odd.cache_read, odd.cache_write_5m), (0, 0, 0, 9));
        assert!(Usage::from_value(&json!([1, 2])).is_none());
        assert!(Usage::from_value(&json!("usage")).is_none());
        assert!(Usage::from_value(&Value::Null).is_none());
    }
}
