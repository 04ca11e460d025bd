//! The golden corpus: every case through the native engine and through the component in
//! wasmtime; both must produce the expected bytes. `HEADROOM_BLESS=1` rewrites the expected
//! files from the native engine (the component must still agree with it).

use headroom_core::ContentKind;
use headroom_tests::{component_request, count, golden_cases, native_request, runtime, wit_options};

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
