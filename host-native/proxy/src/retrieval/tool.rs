//! The `headroom_retrieve` tool: its definition in each dialect and when it is added.
//!
//! When it is added is [`super::offer`]'s decision; once added, the tool is present
//! on every later turn of the conversation with the same bytes.

use headroom_runtime::wit::Dialect;
use serde_json::{Value, json};

use super::json::{Body, EditError, append_to_array_of, member_items, set_member};

/// The tool's name, as markers cite it.
pub const NAME: &str = headroom_core::request::facts::RETRIEVE_TOOL;

/// What every marker contains, as it appears inside a JSON string.
const MARKER_NEEDLE: &[u8] = br#"headroom_retrieve(\"h:"#;

const DESCRIPTION: &str = "Retrieve the original, uncompressed content behind a Headroom marker. \
Tool outputs in this conversation may be shortened; each shortening leaves a marker such as \
[... 412 lines elided (lines 88-499), retrieve: headroom_retrieve(\"h:3f9a...\") ...] that says \
exactly what was left out. Call this tool with the marker's key when you need the elided part.";

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {"hash": {"type": "string", "description": "The key from the marker, e.g. h:3f9a0c..."}},
        "required": ["hash"]
    })
}

/// The tool definition in `dialect`'s format, always the same bytes.
pub fn definition(dialect: Dialect) -> String {
    let value = match dialect {
        Dialect::AnthropicMessages => {
            json!({"name": NAME, "description": DESCRIPTION, "input_schema": schema()})
        }
        Dialect::OpenaiChat => json!({"type": "function", "function": {
            "name": NAME, "description": DESCRIPTION, "parameters": schema()}}),
        Dialect::OpenaiResponses => {
            json!({"type": "function", "name": NAME, "description": DESCRIPTION, "parameters": schema()})
        }
    };
    value.to_string()
}

/// True when `body` cites a retrieval key.
pub fn has_marker(body: &[u8]) -> bool {
    memchr::memmem::find(body, MARKER_NEEDLE).is_some()
}

/// `body` with the tool appended to `tools` (created when absent).
pub fn inject(dialect: Dialect, body: &str) -> Result<String, EditError> {
    inject_into(dialect, Body::unchecked(body))
}

/// [`inject`] into a body that may have been validated before.
pub fn inject_into(dialect: Dialect, body: Body<'_>) -> Result<String, EditError> {
    let tool = definition(dialect);
    match append_to_array_of(body, "tools", std::slice::from_ref(&tool)) {
        Err(EditError::Member(_)) if member_items(body.text(), "tools").is_none() => {
            set_member(body.text(), "tools", &format!("[{tool}]"))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injects_once_and_recognises_its_own_and_client_tools() {
        let body = r#"{"model":"m","messages":[],"tools":[{"name":"bash"}]}"#;
        let out = inject(Dialect::AnthropicMessages, body).unwrap();
        assert!(out.starts_with(
            r#"{"model":"m","messages":[],"tools":[{"name":"bash"},{"name":"headroom_retrieve""#
        ));
        let survey = |b: &str| crate::retrieval::survey_of(Dialect::AnthropicMessages, b.as_bytes());
        assert!(survey(&out).client_owns);
        assert!(!survey(body).client_owns);
        let none = inject(Dialect::OpenaiChat, r#"{"model":"m","messages":[]}"#).unwrap();
        let v: Value = serde_json::from_str(&none).unwrap();
        assert_eq!(v["tools"][0]["function"]["name"], NAME);
        assert!(crate::retrieval::survey_of(Dialect::OpenaiChat, none.as_bytes()).client_owns);
    }

    #[test]
    fn finds_markers_only_in_their_escaped_json_form() {
        assert!(has_marker(br#"{"content":"[... retrieve: headroom_retrieve(\"h:0123\") ...]"}"#));
        assert!(!has_marker(br#"{"content":"call headroom_retrieve when needed"}"#));
    }
}
