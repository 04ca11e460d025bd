//! Borrowed views into a request body: objects and arrays as raw JSON slices, so every byte
//! the engine does not rewrite is forwarded exactly as it came (key order, number format,
//! escapes and unknown fields included).

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer as _;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::CompressError;

/// The fields of a JSON object in source order, values raw.
pub struct Object<'a> {
    fields: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> Object<'a> {
    /// Parse `raw` as an object; `None` if it is not one.
    pub fn parse(raw: &'a RawValue) -> Option<Self> {
        let text = raw.get();
        if !text.starts_with('{') {
            return None;
        }
        let mut de = serde_json::Deserializer::from_str(text);
        let fields = de.deserialize_map(FieldsVisitor).ok()?;
        Some(Self { fields })
    }

    /// The raw value of the first field named `key`.
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// Every field in source order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &'a RawValue)> + '_ {
        self.fields.iter().map(|(k, v)| (k.as_ref(), *v))
    }

    /// The field as a decoded string, if it is one.
    pub fn str(&self, key: &str) -> Option<Cow<'a, str>> {
        self.get(key).and_then(as_str)
    }
}

struct FieldsVisitor;

impl<'de> Visitor<'de> for FieldsVisitor {
    type Value = Vec<(Cow<'de, str>, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let value: &'de RawValue = map.next_value()?;
            fields.push((key, value));
        }
        Ok(fields)
    }
}

/// The items of a JSON array, raw; `None` if it is not an array.
pub fn array(raw: &RawValue) -> Option<Vec<&RawValue>> {
    if !raw.get().starts_with('[') {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

/// The decoded string, if `raw` is a JSON string.
pub fn as_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    if !raw.get().starts_with('"') {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
}

/// Byte range of `raw` within `body` (it must borrow from `body`).
pub fn span(body: &str, raw: &RawValue) -> std::ops::Range<usize> {
    let start = raw.get().as_ptr() as usize - body.as_ptr() as usize;
    start..start + raw.get().len()
}

/// Parse the whole body as an object.
pub fn root(body: &str) -> Result<Object<'_>, CompressError> {
    let raw: &RawValue = serde_json::from_str(body)
        .map_err(|e| CompressError::MalformedRequest(format!("body is not valid JSON: {e}")))?;
    Object::parse(raw).ok_or_else(|| CompressError::MalformedRequest("body is not a JSON object".into()))
}

/// The objects of the array field `name` of `root` (`messages`, `input`), with errors that
/// name the field and the index.
pub fn object_list<'a>(root: &Object<'a>, name: &str) -> Result<Vec<Object<'a>>, CompressError> {
    let list =
        root.get(name).ok_or_else(|| CompressError::MalformedRequest(format!("missing field `{name}`")))?;
    let items =
        array(list).ok_or_else(|| CompressError::MalformedRequest(format!("`{name}` is not an array")))?;
    items
        .iter()
        .enumerate()
        .map(|(i, m)| {
            Object::parse(m)
                .ok_or_else(|| CompressError::MalformedRequest(format!("{name}[{i}] is not an object")))
        })
        .collect()
}
