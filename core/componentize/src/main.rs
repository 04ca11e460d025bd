//! `headroom-componentize IN.wasm OUT.wasm`: turn the core module (or a plugin's) (built for
//! wasm32-unknown-unknown with wit-bindgen's embedded type section) into a component,
//! validate it, and fail if it imports anything from `wasi:`. The purity of the core is a
//! build gate, not a convention: a browser then needs no WASI shim.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use wasmparser::{Parser, Payload};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("headroom-componentize: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        bail!("usage: headroom-componentize IN.wasm OUT.wasm");
    };
    let module = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    let component = wit_component::ComponentEncoder::default()
        .module(&module)
        .context("reading the module's component-type section")?
        .validate(true)
        .encode()
        .context("encoding the component")?;
    let imports = component_imports(&component)?;
    let wasi: Vec<&String> = imports.iter().filter(|i| i.starts_with("wasi:")).collect();
    if !wasi.is_empty() {
        bail!("a Headroom component must not import WASI, but this one imports {wasi:?}");
    }
    std::fs::write(output, &component).with_context(|| format!("writing {output}"))?;
    println!("{output}: {} bytes; imports: {}", component.len(), imports.join(", "));
    Ok(())
}

/// Names of the component's top-level imports.
fn component_imports(component: &[u8]) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(component) {
        match payload? {
            Payload::Version { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(section) if depth == 1 => {
                for import in section {
                    names.push(import?.name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    Ok(names)
}
