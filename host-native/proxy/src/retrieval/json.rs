//! Byte-level edits of a request body: members are located with borrowed `RawValue`s and
//! new text is spliced in, so every byte the proxy does not add stays as the client sent it.

use std::collections::BTreeMap;
use std::ops::Range;

use serde_json::value::RawValue;

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

/// The top-level members of `body`, borrowed.
pub fn members(body: &str) -> Result<BTreeMap<String, &RawValue>, EditError> {
    serde_json::from_str(body).map_err(|e| EditError::NotAnObject(e.to_string()))
}

/// Byte range of the top-level member `name`'s value in `body`.
pub fn member_range(body: &str, name: &str) -> Result<Option<Range<usize>>, EditError> {
    let members: BTreeMap<String, &RawValue> =
        serde_json::from_str(body).map_err(|e| EditError::NotAnObject(e.to_string()))?;
    Ok(members.get(name).map(|raw| {
        let start = raw.get().as_ptr() as usize - body.as_ptr() as usize;
        start..start + raw.get().len()
    }))
}

/// The top-level member `name` parsed as a list of raw items.
pub fn member_items<'a>(body: &'a str, name: &str) -> Option<Vec<&'a RawValue>> {
    let members: BTreeMap<String, &RawValue> = serde_json::from_str(body).ok()?;
    serde_json::from_str(members.get(name)?.get()).ok()
}

/// Append `items` (JSON texts) to the array member `name`; `Member` if it is not an array.
pub fn append_to_array(body: &str, name: &'static str, items: &[String]) -> Result<String, EditError> {
    let range = member_range(body, name)?.ok_or(EditError::Member(name))?;
    let array = &body[range.clone()];
    if !array.starts_with('[') || !array.ends_with(']') {
        return Err(EditError::Member(name));
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
    Ok(out)
}

/// Replace the value of member `name` with `value`, or add the member when it is absent.
pub fn set_member(body: &str, name: &str, value: &str) -> Result<String, EditError> {
    if let Some(range) = member_range(body, name)? {
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
