//! Borrowed views into a request body: objects and arrays as raw JSON slices, so every byte
//! a reader does not rewrite is forwarded exactly as it came (key order, number format,
//! escapes and unknown fields included).
//!
//! The body is validated once ([`root`], [`parse`]); the views then only skip over bytes
//! ([`crate::scan`]), so reading nested content does not re-validate it at every level.

use std::borrow::Cow;

use crate::scan;

/// One JSON value's text, borrowed from text that was validated as JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Raw<'a>(&'a str);

impl<'a> Raw<'a> {
    /// The value's JSON text.
    pub fn get(self) -> &'a str {
        self.0
    }

    /// View `text` as one value without validating it: `text` must be one JSON value of a
    /// text validated before (a span recorded from an earlier view of the same bytes).
    pub fn trusted(text: &'a str) -> Self {
        Self(text)
    }
}

/// Validate `text` as one JSON value and view it (surrounding whitespace left out).
pub fn parse(text: &str) -> Option<Raw<'_>> {
    scan::validate(text).ok()?;
    Some(Raw(text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))))
}

/// The fields of a JSON object in source order, values raw.
pub struct Object<'a> {
    fields: Vec<(Cow<'a, str>, Raw<'a>)>,
}

impl<'a> Object<'a> {
    /// View `raw` as an object; `None` if it is not one.
    pub fn parse(raw: Raw<'a>) -> Option<Self> {
        Self::parse_listing(raw, None).map(|(object, _)| object)
    }

    /// [`Object::parse`], also listing the items of the first field named `list` when it is an
    /// array (what [`array`] of that field gives): the array is walked once, for its items and
    /// its end together, where parsing and then listing it walked it twice.
    pub fn parse_with_list(raw: Raw<'a>, list: &str) -> Option<(Self, Option<Vec<Raw<'a>>>)> {
        Self::parse_listing(raw, Some(list))
    }

    fn parse_listing(raw: Raw<'a>, list: Option<&str>) -> Option<(Self, Option<Vec<Raw<'a>>>)> {
        let text = raw.0;
        let b = text.as_bytes();
        if b.first() != Some(&b'{') {
            return None;
        }
        let mut fields = Vec::new();
        let mut items = None;
        let mut list = list;
        let mut i = scan::skip_ws(b, 1);
        if b.get(i) == Some(&b'}') {
            return Some((Self { fields }, items));
        }
        loop {
            let key_end = scan::skip_string(b, i);
            let key = scan::decode(&text[i..key_end])?;
            i = scan::skip_ws(b, scan::skip_ws(b, key_end) + 1);
            // Only the first field of that name is listed, as `get` would find it.
            let end = if list.is_some_and(|l| l == key) {
                list = None;
                match items_from(text, i) {
                    Some((listed, end)) => {
                        items = Some(listed);
                        end
                    }
                    None => scan::skip_value(b, i),
                }
            } else {
                scan::skip_value(b, i)
            };
            fields.push((key, Raw(&text[i..end])));
            i = scan::skip_ws(b, end);
            match b.get(i) {
                Some(b',') => i = scan::skip_ws(b, i + 1),
                _ => return Some((Self { fields }, items)),
            }
        }
    }

    /// An object made of fields read elsewhere (a body read in parts), in source order.
    pub fn from_fields(fields: Vec<(Cow<'a, str>, Raw<'a>)>) -> Self {
        Self { fields }
    }

    /// The raw value of the first field named `key`.
    pub fn get(&self, key: &str) -> Option<Raw<'a>> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Every field in source order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, Raw<'a>)> + '_ {
        self.fields.iter().map(|(k, v)| (k.as_ref(), *v))
    }

    /// The field as a decoded string, if it is one.
    pub fn str(&self, key: &str) -> Option<Cow<'a, str>> {
        self.get(key).and_then(as_str)
    }
}

/// Call `f` with every field of the object `raw` in source order (the key decoded, the value
/// raw), without collecting them: for readers that pick a few fields of a small object, where
/// [`Object::parse`]'s list costs more than the walk. `None` when `raw` is not an object, a
/// key does not decode (as in [`Object::parse`]) or `f` declines.
pub fn each_field<'a>(raw: Raw<'a>, mut f: impl FnMut(&str, Raw<'a>) -> Option<()>) -> Option<()> {
    let text = raw.0;
    let b = text.as_bytes();
    if b.first() != Some(&b'{') {
        return None;
    }
    let mut i = scan::skip_ws(b, 1);
    if b.get(i) == Some(&b'}') {
        return Some(());
    }
    loop {
        let key_end = scan::skip_string(b, i);
        let key = scan::decode(&text[i..key_end])?;
        i = scan::skip_ws(b, scan::skip_ws(b, key_end) + 1);
        let end = scan::skip_value(b, i);
        f(&key, Raw(&text[i..end]))?;
        i = scan::skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = scan::skip_ws(b, i + 1),
            _ => return Some(()),
        }
    }
}

/// The items of a JSON array, raw; `None` if it is not an array.
pub fn array(raw: Raw<'_>) -> Option<Vec<Raw<'_>>> {
    items_from(raw.0, 0).map(|(items, _)| items)
}

/// The items of the array starting at `at` in `text` (validated), and the offset after it;
/// `None` if no array starts there.
fn items_from(text: &str, at: usize) -> Option<(Vec<Raw<'_>>, usize)> {
    let b = text.as_bytes();
    if b.get(at) != Some(&b'[') {
        return None;
    }
    let mut items = Vec::new();
    let mut i = scan::skip_ws(b, at + 1);
    if b.get(i) == Some(&b']') {
        return Some((items, i + 1));
    }
    loop {
        let end = scan::skip_value(b, i);
        items.push(Raw(&text[i..end]));
        i = scan::skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = scan::skip_ws(b, i + 1),
            // `]` on text validated before; past the end on anything else.
            _ => return Some((items, (i + 1).min(b.len()))),
        }
    }
}

/// The decoded string, if `raw` is a JSON string.
pub fn as_str(raw: Raw<'_>) -> Option<Cow<'_, str>> {
    if !raw.0.starts_with('"') {
        return None;
    }
    scan::decode(raw.0)
}

/// Whether `raw` is a string [`as_str`] decodes, without decoding it when that is clear
/// (only a `\u` escape can be a lone surrogate).
pub fn is_str(raw: Raw<'_>) -> bool {
    raw.0.starts_with('"')
        && (memchr::memmem::find(raw.0.as_bytes(), b"\\u").is_none() || as_str(raw).is_some())
}

/// Byte range of `raw` within `body` (it must borrow from `body`).
pub fn span(body: &str, raw: Raw<'_>) -> std::ops::Range<usize> {
    let start = raw.0.as_ptr() as usize - body.as_ptr() as usize;
    start..start + raw.0.len()
}

/// View text validated already (or written from validated text by splicing in valid JSON
/// strings) as an object, without validating it again.
pub fn trusted_root(body: &str) -> Option<Object<'_>> {
    Object::parse(Raw(body.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))))
}

/// The rest of a body whose bytes up to `at` were read before, where `at` is just after an
/// item of the array that is the value of a top-level field: the items after `at`, the
/// offset just after the array, and the top-level fields after it. `None` when the rest is
/// not valid JSON in that place (the caller then reads the body whole).
pub fn rest_of_top_level_array(body: &str, at: usize) -> Option<RestOfArray<'_>> {
    scan::validate_from(body, at, scan::Open::in_top_level_array(), true).ok()?;
    let b = body.as_bytes();
    let mut items = Vec::new();
    let mut i = scan::skip_ws(b, at);
    while b.get(i) == Some(&b',') {
        let start = scan::skip_ws(b, i + 1);
        let end = scan::skip_value(b, start);
        items.push(Raw(&body[start..end]));
        i = scan::skip_ws(b, end);
    }
    // `]`, then the object's remaining fields.
    let array_end = i + 1;
    let mut fields = Vec::new();
    i = scan::skip_ws(b, array_end);
    while b.get(i) == Some(&b',') {
        let key_start = scan::skip_ws(b, i + 1);
        let key_end = scan::skip_string(b, key_start);
        let key = scan::decode(&body[key_start..key_end])?;
        let start = scan::skip_ws(b, scan::skip_ws(b, key_end) + 1);
        let end = scan::skip_value(b, start);
        fields.push((key, Raw(&body[start..end])));
        i = scan::skip_ws(b, end);
    }
    Some(RestOfArray { items, array_end, fields })
}

/// What [`rest_of_top_level_array`] read.
pub struct RestOfArray<'a> {
    /// The array's items after the resume point.
    pub items: Vec<Raw<'a>>,
    /// Offset just after the array's `]`.
    pub array_end: usize,
    /// The top-level fields after the array, in source order.
    pub fields: Vec<(Cow<'a, str>, Raw<'a>)>,
}

/// Validate `body` and view it as an object; `Err` says why it is not JSON, `Ok(None)` that
/// it is JSON but not an object.
pub fn root(body: &str) -> Result<Option<Object<'_>>, scan::Invalid> {
    scan::validate(body)?;
    Ok(trusted_root(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_with_the_list_gives_what_parsing_then_listing_gives() {
        for body in [
            r#"{"model":"m","messages":[{"a":1}, {"b":"x,]\"["} ,{"c":[1,[2]]}],"system":"s" ,"n":2}"#,
            r#"{ "messages" : [ ] , "n" : 1 }"#,
            r#"{"messages":[1]}"#,
            r#"{"messages":"a string","messages":[{"a":1}]}"#,
            r#"{"messages":[{"a":1}],"messages":[{"b":2}]}"#,
            r#"{"model":"m"}"#,
            r#"{}"#,
        ] {
            let whole = root(body).unwrap().unwrap();
            let (object, items) = Object::parse_with_list(Raw(body), "messages").unwrap();
            let fields = |o: &Object<'_>| {
                o.fields().map(|(k, v)| (k.to_owned(), v.get().to_owned())).collect::<Vec<_>>()
            };
            assert_eq!(fields(&object), fields(&whole), "{body}");
            assert_eq!(items, whole.get("messages").and_then(array), "{body}");
        }
    }

    #[test]
    fn each_field_walks_what_parse_lists() {
        for body in [
            r#"{"model":"m","messages":[{"a":1}, {"b":"x,]\"["} ,{"c":[1,[2]]}],"system":"s" ,"n":2}"#,
            r#"{ "a" : { "b" : "}" } , "\u0061" : null , "c":-1.5e3 }"#,
            r#"{}"#,
            r#"{ }"#,
            r#"[1]"#,
            r#""s""#,
            r#"{"\ud800":1}"#,
        ] {
            let listed = Object::parse(Raw(body))
                .map(|o| o.fields().map(|(k, v)| (k.to_owned(), v.get().to_owned())).collect::<Vec<_>>());
            let mut walked = Vec::new();
            let all = each_field(Raw(body), |k, v| {
                walked.push((k.to_owned(), v.get().to_owned()));
                Some(())
            });
            assert_eq!(all.map(|()| walked), listed, "{body}");
        }
        // The walk stops where `f` declines.
        let mut seen = 0;
        assert_eq!(each_field(Raw(r#"{"a":1,"b":2,"c":3}"#), |k, _| (k != "b").then(|| seen += 1)), None);
        assert_eq!(seen, 1);
    }

    #[test]
    fn the_rest_of_an_array_reads_as_the_whole_body_does() {
        let body = r#"{"model":"m","messages":[{"a":1}, {"b":"x,]"} ,{"c":[1]}],"system":"s" ,"n":2}"#;
        let whole = root(body).unwrap().unwrap();
        let list = array(whole.get("messages").unwrap()).unwrap();
        let at = span(body, list[0]).end;
        let rest = rest_of_top_level_array(body, at).unwrap();
        assert_eq!(rest.items, list[1..].to_vec());
        assert_eq!(&body[rest.array_end..rest.array_end + 1], ",");
        let names: Vec<&str> = rest.fields.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(names, ["system", "n"]);
        assert_eq!(rest.fields[1].1.get(), "2");
        // The last item: nothing after it in the array.
        let last = span(body, list[2]).end;
        assert!(rest_of_top_level_array(body, last).unwrap().items.is_empty());
        // A broken rest is refused, not read.
        let broken = body.replace(r#""n":2}"#, r#""n":}"#);
        assert!(rest_of_top_level_array(&broken, at).is_none());
    }
}
