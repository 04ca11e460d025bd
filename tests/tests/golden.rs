//! The golden corpus: every case through the native engine and through the component in
//! wasmtime; both must produce the expected bytes. `HEADROOM_BLESS=1` rewrites the expected
//! files from the native engine (the component must still agree with it).

use headroom_core::ContentKind;
use headroom_runtime::wit;
use headroom_tests::{
    component_request, count, golden_cases, messages_cases, messages_outcome_json, native_request, runtime,
    wit_dialect, wit_options,
};

fn native_text(input: &str, opts: &headroom_core::Options) -> String {
    let o = headroom_core::compress_content(input, None::<ContentKind>, opts, &count);
    o.text.unwrap_or_else(|| input.to_owned())
}

fn component_text(input: &str, opts: &headroom_core::Options) -> String {
    let o = runtime()
        .compress_content(input, None, &wit_options(opts))
        .unwrap_or_else(|e| panic!("trap: {e}"))
        .unwrap_or_else(|e| panic!("error: {e:?}"));
    o.text.unwrap_or_else(|| input.to_owned())
}

#[test]
fn golden_corpus_native_and_component_agree_with_expected() {
    let bless = std::env::var_os("HEADROOM_BLESS").is_some();
    let cases = golden_cases();
    assert!(cases.len() >= 8, "the golden corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let (native, component) = match case.dialect {
            Some(d) => (
                native_request(d, &case.input, &case.options),
                component_request(d, &case.input, &case.options),
            ),
            None => {
                let text =
                    String::from_utf8(case.input.clone()).unwrap_or_else(|e| panic!("{}: {e}", case.name));
                (
                    native_text(&text, &case.options).into_bytes(),
                    component_text(&text, &case.options).into_bytes(),
                )
            }
        };
        if native != component {
            failures.push(format!("{}: native and component outputs differ", case.name));
            continue;
        }
        let path = case.expected_path();
        if bless {
            std::fs::write(&path, &native).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            continue;
        }
        match std::fs::read(&path) {
            Ok(expected) if expected == native => {}
            Ok(expected) => failures.push(format!(
                "{}: output differs from {} (first difference at byte {}); re-bless with HEADROOM_BLESS=1 if intended",
                case.name,
                path.display(),
                expected.iter().zip(&native).take_while(|(a, b)| a == b).count()
            )),
            Err(_) => failures.push(format!("{}: no {} (run `just bless`)", case.name, path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn transforms(report: impl IntoIterator<Item = Option<String>>) -> Vec<String> {
    report.into_iter().flatten().collect()
}

fn native_messages(c: &headroom_tests::MessagesCase) -> serde_json::Value {
    let list = headroom_core::MessageList {
        dialect: c.dialect,
        model: c.model.as_deref(),
        system: c.system.as_deref(),
        messages: &c.input,
    };
    let o = headroom_core::compress_messages(&list, &c.options, &count)
        .unwrap_or_else(|e| panic!("{}: native: {e}", c.name));
    let names = o.report.iter().map(|b| match &b.status {
        headroom_core::Status::Compressed(t) => Some(t.clone()),
        headroom_core::Status::Declined(_) => None,
    });
    messages_outcome_json(
        o.dialect,
        o.messages.as_deref().unwrap_or(&c.input),
        (o.tokens_before, o.tokens_after),
        transforms(names),
        o.offloads.into_iter().map(|off| off.key).collect(),
    )
}

fn component_messages(c: &headroom_tests::MessagesCase) -> serde_json::Value {
    let list = headroom_runtime::MessageList {
        dialect: c.dialect.map(wit_dialect),
        model: c.model.clone(),
        system: c.system.clone(),
        messages: c.input.clone(),
    };
    let o = runtime()
        .compress_messages(&list, &wit_options(&c.options))
        .unwrap_or_else(|e| panic!("{}: trap: {e}", c.name))
        .unwrap_or_else(|e| panic!("{}: error: {e:?}", c.name));
    let names = o.report.iter().map(|b| match &b.status {
        wit::BlockStatus::Compressed(t) => Some(t.clone()),
        wit::BlockStatus::Declined(_) => None,
    });
    let dialect = match o.dialect {
        wit::Dialect::AnthropicMessages => headroom_core::Dialect::AnthropicMessages,
        wit::Dialect::OpenaiChat => headroom_core::Dialect::OpenAiChat,
        wit::Dialect::OpenaiResponses => headroom_core::Dialect::OpenAiResponses,
    };
    messages_outcome_json(
        dialect,
        o.messages.as_deref().unwrap_or(&c.input),
        (o.tokens_before, o.tokens_after),
        transforms(names),
        o.offloads.into_iter().map(|off| off.key).collect(),
    )
}

/// `tests/golden-messages/`: a bare message list through `compress-messages`, natively and in
/// the component (the JS runner reads the same files through the npm package's `compress`).
#[test]
fn golden_message_lists_native_and_component_agree_with_expected() {
    let bless = std::env::var_os("HEADROOM_BLESS").is_some();
    let cases = messages_cases();
    assert!(cases.len() >= 4, "the message-list corpus has {} cases", cases.len());
    let formats: Vec<String> =
        cases.iter().map(|c| native_messages(c)["format"].as_str().unwrap_or_default().to_owned()).collect();
    for f in ["anthropic", "openai", "openai-responses"] {
        assert!(formats.iter().any(|x| x == f), "no case is read as {f}");
    }
    let mut failures = Vec::new();
    for c in &cases {
        let native = native_messages(c);
        if native != component_messages(c) {
            failures.push(format!("{}: native and component outcomes differ", c.name));
            continue;
        }
        let path = c.dir.join("expected.json");
        if bless {
            let text = serde_json::to_string_pretty(&native).unwrap_or_default() + "\n";
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            continue;
        }
        match std::fs::read(&path).map(|b| serde_json::from_slice::<serde_json::Value>(&b)) {
            Ok(Ok(expected)) if expected == native => {}
            Ok(_) => failures.push(format!(
                "{}: outcome differs from {}; re-bless with HEADROOM_BLESS=1 if intended",
                c.name,
                path.display()
            )),
            Err(_) => failures.push(format!("{}: no {} (run `just bless`)", c.name, path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `tests/golden-retrieve-tool/<dialect>.json`: the `headroom_retrieve` definition, natively
/// and from the component, byte for byte (the JS runner reads the same files).
#[test]
fn golden_retrieve_tool_native_and_component_agree_with_expected() {
    let bless = std::env::var_os("HEADROOM_BLESS").is_some();
    let dir = headroom_tests::root().join("tests/golden-retrieve-tool");
    let mut failures = Vec::new();
    for (name, d) in [
        ("anthropic-messages", headroom_core::Dialect::AnthropicMessages),
        ("openai-chat", headroom_core::Dialect::OpenAiChat),
        ("openai-responses", headroom_core::Dialect::OpenAiResponses),
    ] {
        let native = headroom_core::retrieve_tool::definition(d);
        let component =
            runtime().retrieve_tool(wit_dialect(d)).unwrap_or_else(|e| panic!("{name}: trap: {e}"));
        if native != component {
            failures.push(format!("{name}: native and component definitions differ"));
            continue;
        }
        let path = dir.join(format!("{name}.json"));
        if bless {
            std::fs::write(&path, &native).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(expected) if expected == native => {}
            Ok(_) => failures.push(format!("{name}: differs from {}", path.display())),
            Err(_) => failures.push(format!("{name}: no {} (run `just bless`)", path.display())),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
