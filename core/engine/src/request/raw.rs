//! The engine's reads of a request body: the shared scanner's views ([`headroom_json`]), with
//! errors in the engine's terms.

pub use headroom_json::{
    Object, Raw, array, as_str, is_str, parse, rest_of_top_level_array, span, trusted_root,
};

use crate::error::CompressError;

/// Validate the whole body and view it as an object.
pub fn root(body: &str) -> Result<Object<'_>, CompressError> {
    headroom_json::root(body)
        .map_err(|e| CompressError::MalformedRequest(format!("body is not valid JSON: {e}")))?
        .ok_or_else(|| CompressError::MalformedRequest("body is not a JSON object".into()))
}

/// The items of the array field `name` of `root` (`messages`, `input`), each raw and as an
/// object, with errors that name the field and the index.
pub fn object_list<'a>(root: &Object<'a>, name: &str) -> Result<Vec<(Raw<'a>, Object<'a>)>, CompressError> {
    let list =
        root.get(name).ok_or_else(|| CompressError::MalformedRequest(format!("missing field `{name}`")))?;
    let items =
        array(list).ok_or_else(|| CompressError::MalformedRequest(format!("`{name}` is not an array")))?;
    items
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            Object::parse(m)
                .map(|o| (m, o))
                .ok_or_else(|| CompressError::MalformedRequest(format!("{name}[{i}] is not an object")))
        })
        .collect()
}
