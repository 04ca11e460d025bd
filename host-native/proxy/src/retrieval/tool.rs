//! The `headroom_retrieve` tool: when it is added, and where.
//!
//! Its definition is the engine's (`headroom_core::retrieve_tool`, the component's
//! `retrieve-tool`, so the npm package offers the same bytes). When it is added is
//! [`super::offer`]'s decision; once added, the tool is present on every later turn of the
//! conversation with the same bytes.

use std::sync::OnceLock;

use headroom_runtime::wit::Dialect;

use super::json::{Body, EditError, append_at, set_member_at};

/// The tool's name, as markers cite it.
pub const NAME: &str = headroom_core::retrieve_tool::NAME;

/// What every marker contains, as it appears inside a JSON string.
const MARKER_NEEDLE: &[u8] = br#"headroom_retrieve(\"h:"#;

/// The tool definition in `dialect`'s format, always the same bytes (built once).
pub fn definition(dialect: Dialect) -> &'static str {
    static DEFINITIONS: OnceLock<[String; 3]> = OnceLock::new();
    let all = DEFINITIONS.get_or_init(|| {
        [Dialect::AnthropicMessages, Dialect::OpenaiChat, Dialect::OpenaiResponses]
            .map(|d| headroom_core::retrieve_tool::definition(crate::dialect::to_core(d)))
    });
    match dialect {
        Dialect::AnthropicMessages => &all[0],
        Dialect::OpenaiChat => &all[1],
        Dialect::OpenaiResponses => &all[2],
    }
}

/// True when `body` cites a retrieval key.
pub fn has_marker(body: &[u8]) -> bool {
    // The searcher built once: building one costs more than searching a short body.
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(MARKER_NEEDLE));
    FINDER.find(body).is_some()
}

/// `body` with the tool appended to `tools` (created when absent).
pub fn inject(dialect: Dialect, body: &str) -> Result<String, EditError> {
    inject_into(dialect, Body::unchecked(body))
}

/// [`inject`] into a body that may have been validated before: its top level is read once
/// (a validated body only skipped), the tool appended to `tools`, or `tools` set to hold it
/// when the body has none or has one that is not an array.
pub fn inject_into(dialect: Dialect, body: Body<'_>) -> Result<String, EditError> {
    let tool = definition(dialect);
    let range = body.member_range("tools")?;
    if let Some(range) = &range
        && let Some(out) = append_at(body.text(), range.clone(), &[tool.to_owned()])
    {
        return Ok(out);
    }
    set_member_at(body.text(), "tools", range, &format!("[{tool}]"))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

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
        // Validated before or not, missing, empty or not an array: the same edit.
        for (body, tools) in [
            (r#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#, 1),
            (r#"{"model":"m","messages":[],"tools":[]}"#, 1),
            (r#"{"model":"m","tools":null,"messages":[]}"#, 1),
            (r#"{"model":"m","tools":[{"name":"bash"}],"messages":[]}"#, 2),
        ] {
            let once = inject_into(Dialect::AnthropicMessages, Body::validated_before(body)).unwrap();
            assert_eq!(once, inject(Dialect::AnthropicMessages, body).unwrap(), "{body}");
            let v: Value = serde_json::from_str(&once).unwrap();
            assert_eq!(v["tools"].as_array().map(Vec::len), Some(tools), "{once}");
            assert_eq!(v["messages"], serde_json::from_str::<Value>(body).unwrap()["messages"]);
        }
    }

    #[test]
    fn finds_markers_only_in_their_escaped_json_form() {
        assert!(has_marker(br#"{"content":"[... retrieve: headroom_retrieve(\"h:0123\") ...]"}"#));
        assert!(!has_marker(br#"{"content":"call headroom_retrieve when needed"}"#));
    }
}
