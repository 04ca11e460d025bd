//! Byte-level edits of a request body: members are located with the scanner's views and
//! new text is spliced in, so every byte the proxy does not add stays as the client sent it.

use std::ops::Range;

/// Why a body could not be edited.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The body is not a JSON object.
    #[error("request body is not a JSON object: {0}")]
    NotAnObject(String),
    /// A member the edit needs is missing or has the wrong type.
    #[error("request member `{0}` is missing or not an array")]
    Member(&'static str),
}

/// A body about to be edited, and whether it was validated already.
#[derive(Clone, Copy)]
pub struct Body<'a> {
    text: &'a str,
    validated: bool,
}

impl<'a> Body<'a> {
    /// A body of unknown bytes: validated before it is read.
    pub fn unchecked(text: &'a str) -> Self {
        Self { text, validated: false }
    }

    /// A body validated before (the client's, once read, or one the engine wrote from it),
    /// read by skipping only. Never on bytes that were not validated.
    pub fn validated_before(text: &'a str) -> Self {
        Self { text, validated: true }
    }

    /// The text.
    pub fn text(self) -> &'a str {
        self.text
    }

    fn root(self) -> Result<headroom_json::Object<'a>, EditError> {
        if self.validated {
            return headroom_json::trusted_root(self.text)
                .ok_or_else(|| EditError::NotAnObject("not an object".into()));
        }
        headroom_json::root(self.text)
            .map_err(|e| EditError::NotAnObject(e.to_string()))?
            .ok_or_else(|| EditError::NotAnObject("not an object".into()))
    }

    /// Byte range of the top-level member `name`'s value.
    pub fn member_range(self, name: &str) -> Result<Option<Range<usize>>, EditError> {
        Ok(self.root()?.get(name).map(|raw| headroom_json::span(self.text, raw)))
    }
}

/// Byte range of the top-level member `name`'s value in `body`.
pub fn member_range(body: &str, name: &str) -> Result<Option<Range<usize>>, EditError> {
    Body::unchecked(body).member_range(name)
}

fn root(body: &str) -> Result<headroom_json::Object<'_>, EditError> {
    Body::unchecked(body).root()
}

/// The top-level member `name` read as a list of raw items.
pub fn member_items<'a>(body: &'a str, name: &str) -> Option<Vec<headroom_json::Raw<'a>>> {
    headroom_json::array(root(body).ok()?.get(name)?)
}

/// Append `items` (JSON texts) to the array member `name`; `Member` if it is not an array.
pub fn append_to_array(body: &str, name: &'static str, items: &[String]) -> Result<String, EditError> {
    append_to_array_of(Body::unchecked(body), name, items)
}

/// [`append_to_array`] of a body that may have been validated before.
pub fn append_to_array_of(body: Body<'_>, name: &'static str, items: &[String]) -> Result<String, EditError> {
    let range = body.member_range(name)?.ok_or(EditError::Member(name))?;
    append_at(body.text, range, items).ok_or(EditError::Member(name))
}

/// Append `items` to the array at `range` of `body`; `None` when the value there is not an
/// array.
pub fn append_at(body: &str, range: Range<usize>, items: &[String]) -> Option<String> {
    let array = &body[range.clone()];
    if !array.starts_with('[') || !array.ends_with(']') {
        return None;
    }
    let empty = array[1..array.len() - 1].trim().is_empty();
    let mut out = String::with_capacity(body.len() + items.iter().map(|i| i.len() + 1).sum::<usize>());
    out.push_str(&body[..range.end - 1]);
    for (n, item) in items.iter().enumerate() {
        if n > 0 || !empty {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push_str(&body[range.end - 1..]);
    Some(out)
}

/// Replace the value of member `name` with `value`, or add the member when it is absent.
pub fn set_member(body: &str, name: &str, value: &str) -> Result<String, EditError> {
    let range = member_range(body, name)?;
    set_member_at(body, name, range, value)
}

/// [`set_member`] where the member's value is at `range` (`None`: absent).
pub fn set_member_at(body: &str, name: &str, range: Option<Range<usize>>, value: &str) -> Result<String, EditError> {
    if let Some(range) = range {
        return Ok(format!("{}{value}{}", &body[..range.start], &body[range.end..]));
    }
    let close = body.rfind('}').ok_or_else(|| EditError::NotAnObject("no closing brace".into()))?;
    let empty = body[..close].trim_end().ends_with('{');
    let key = serde_json::to_string(name).unwrap_or_default();
    let sep = if empty { "" } else { "," };
    Ok(format!("{}{sep}{key}:{value}{}", &body[..close], &body[close..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_keeps_every_other_byte() {
        let body = r#"{"a": 1.50,  "tools" : [ {"x":1} ] ,"z":"é"}"#;
        let out = append_to_array(body, "tools", &[r#"{"y":2}"#.into()]).unwrap();
        assert_eq!(out, r#"{"a": 1.50,  "tools" : [ {"x":1} ,{"y":2}] ,"z":"é"}"#);
        let empty = append_to_array(r#"{"tools":[ ]}"#, "tools", &["1".into(), "2".into()]).unwrap();
        assert_eq!(empty, r#"{"tools":[ 1,2]}"#);
    }

    #[test]
    fn set_member_replaces_or_adds() {
        assert_eq!(set_member(r#"{"a":1}"#, "b", "[2]").unwrap(), r#"{"a":1,"b":[2]}"#);
        assert_eq!(set_member(r#"{"a":1,"b":"x"}"#, "b", "[2]").unwrap(), r#"{"a":1,"b":[2]}"#);
        assert_eq!(set_member("{ }", "b", "1").unwrap(), r#"{ "b":1}"#);
        assert!(append_to_array(r#"{"tools":{}}"#, "tools", &[]).is_err());
        assert!(set_member("[1]", "b", "1").is_err());
    }
}
