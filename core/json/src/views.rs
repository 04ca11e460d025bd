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
        let text = raw.0;
        let b = text.as_bytes();
        if b.first() != Some(&b'{') {
            return None;
        }
        let mut fields = Vec::new();
        let mut i = scan::skip_ws(b, 1);
        if b.get(i) == Some(&b'}') {
            return Some(Self { fields });
        }
        loop {
            let key_end = scan::skip_string(b, i);
            let key = scan::decode(&text[i..key_end])?;
            i = scan::skip_ws(b, scan::skip_ws(b, key_end) + 1);
            let end = scan::skip_value(b, i);
            fields.push((key, Raw(&text[i..end])));
            i = scan::skip_ws(b, end);
            match b.get(i) {
                Some(b',') => i = scan::skip_ws(b, i + 1),
                _ => return Some(Self { fields }),
            }
        }
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

/// The items of a JSON array, raw; `None` if it is not an array.
pub fn array(raw: Raw<'_>) -> Option<Vec<Raw<'_>>> {
    let text = raw.0;
    let b = text.as_bytes();
    if b.first() != Some(&b'[') {
        return None;
    }
    let mut items = Vec::new();
    let mut i = scan::skip_ws(b, 1);
    if b.get(i) == Some(&b']') {
        return Some(items);
    }
    loop {
        let end = scan::skip_value(b, i);
        items.push(Raw(&text[i..end]));
        i = scan::skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = scan::skip_ws(b, i + 1),
            _ => return Some(items),
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

/// Validate `body` and view it as an object; `Err` says why it is not JSON, `Ok(None)` that
/// it is JSON but not an object.
pub fn root(body: &str) -> Result<Option<Object<'_>>, scan::Invalid> {
    scan::validate(body)?;
    Ok(trusted_root(body))
}
