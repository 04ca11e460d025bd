//! The `headroom_retrieve` tool's definition in each dialect: the one text every host offers
//! (the proxy injects it, the npm package hands it to agents that run their tools themselves).

use serde_json::Value;

use crate::request::Dialect;

/// The tool's name, as markers cite it.
pub const NAME: &str = "headroom_retrieve";

/// Says what markers look like, so a model that was never told about Headroom knows when to
/// call the tool.
const DESCRIPTION: &str = "Retrieve the original, uncompressed content behind a Headroom marker. \
Tool outputs in this conversation may be shortened; each shortening leaves a marker such as \
[... 412 lines elided (lines 88-499), retrieve: headroom_retrieve(\"h:3f9a...\") ...] that says \
exactly what was left out. Call this tool with the marker's key when you need the elided part.";

/// One required string, nothing else: valid as a strict schema (OpenAI's strict mode demands
/// `additionalProperties: false` and every property required), and as a plain one.
const SCHEMA: &str = r#"{"type":"object","properties":{"hash":{"type":"string","description":"The key from the marker, e.g. h:3f9a0c..."}},"required":["hash"],"additionalProperties":false}"#;

/// The tool definition in `dialect`'s format (an element of the request's `tools`), as JSON;
/// always the same bytes, so a conversation's tools never change under its prompt cache.
pub fn definition(dialect: Dialect) -> String {
    let description = Value::from(DESCRIPTION).to_string();
    match dialect {
        Dialect::AnthropicMessages => {
            format!(r#"{{"name":"{NAME}","description":{description},"input_schema":{SCHEMA}}}"#)
        }
        Dialect::OpenAiChat => format!(
            r#"{{"type":"function","function":{{"name":"{NAME}","description":{description},"parameters":{SCHEMA}}}}}"#
        ),
        // Responses function tools are strict unless they say otherwise: say it, with a
        // schema strict mode accepts.
        Dialect::OpenAiResponses => format!(
            r#"{{"type":"function","name":"{NAME}","description":{description},"parameters":{SCHEMA},"strict":true}}"#
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dialect_names_the_tool_with_one_schema() {
        let parse = |d| serde_json::from_str::<Value>(&definition(d)).expect("JSON");
        let a = parse(Dialect::AnthropicMessages);
        let c = parse(Dialect::OpenAiChat);
        let r = parse(Dialect::OpenAiResponses);
        assert_eq!(
            (a["name"].as_str(), c["function"]["name"].as_str(), r["name"].as_str()),
            (Some(NAME), Some(NAME), Some(NAME))
        );
        assert_eq!(a["input_schema"], c["function"]["parameters"]);
        assert_eq!(a["input_schema"], r["parameters"]);
        assert_eq!(a["description"], r["description"]);
        assert_eq!(definition(Dialect::OpenAiChat), definition(Dialect::OpenAiChat));
    }
}
