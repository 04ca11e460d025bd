//! Loading a folder: every plugin verified before any goes live.

use std::path::Path;

use headroom_core::plugins::{Placement as CorePlacement, check};
use headroom_runtime::plugin_wit::{Block, Context, Outcome, Placement};
use headroom_runtime::plugins::{CompiledPlugin, PluginEngine, PluginSet, Spec};
use sha2::{Digest, Sha256};

use crate::error::LoadError;
use crate::manifest::{Manifest, WORLD, parse_kind};

/// Load every plugin folder under `dir` (those holding a `plugin.toml`), in the order of
/// their folder names. Any failure fails the whole load.
pub fn load_dir(dir: &Path, engine: &PluginEngine) -> Result<(PluginSet, Vec<Manifest>), LoadError> {
    let read_err = |p: &Path, e: std::io::Error| LoadError::Read(p.to_owned(), e.to_string());
    let mut folders: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| read_err(dir, e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        // `just plugins` stages a folder as `<id>.tmp` before swapping it in.
        .filter(|p| p.join("plugin.toml").is_file() && p.extension().is_none())
        .collect();
    folders.sort();
    let mut plugins = Vec::with_capacity(folders.len());
    let mut manifests: Vec<Manifest> = Vec::with_capacity(folders.len());
    for folder in folders {
        let (spec, compiled, manifest) = load_one(&folder, engine)?;
        if manifests.iter().any(|m| m.id == manifest.id) {
            return Err(LoadError::Duplicate(manifest.id));
        }
        manifests.push(manifest);
        plugins.push((spec, compiled));
    }
    Ok((PluginSet::new(plugins), manifests))
}

fn load_one(folder: &Path, engine: &PluginEngine) -> Result<(Spec, CompiledPlugin, Manifest), LoadError> {
    let path = folder.join("plugin.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| LoadError::Read(path.clone(), e.to_string()))?;
    let manifest = Manifest::parse(&text).map_err(|e| LoadError::Manifest(path.clone(), e))?;
    let id = manifest.id.clone();
    if manifest.world != WORLD {
        return Err(LoadError::WrongWorld { id, world: manifest.world, supported: WORLD.into() });
    }
    let wasm_path = folder.join("plugin.wasm");
    let bytes = std::fs::read(&wasm_path).map_err(|e| LoadError::Read(wasm_path, e.to_string()))?;
    let actual = hex(&Sha256::digest(&bytes));
    if !actual.eq_ignore_ascii_case(&manifest.sha256) {
        return Err(LoadError::HashMismatch { id, expected: manifest.sha256, actual });
    }
    let compiled = engine
        .compile(&bytes, manifest.runtime_limits())
        .map_err(|e| LoadError::Compile(id.clone(), e.to_string()))?;
    let placement = manifest.placement().map_err(|e| LoadError::Manifest(path.clone(), e))?;
    self_test(folder, &manifest, placement, &compiled)?;
    let spec = Spec {
        id: id.clone(),
        version: manifest.version.clone(),
        sha256: actual,
        kinds: manifest.kinds().map_err(|e| LoadError::Manifest(path, e))?,
        placement,
        lossy: manifest.lossy,
    };
    Ok((spec, compiled, manifest))
}

/// Call the plugin on its sample: it must answer, and a rewrite must pass the engine's checks.
fn self_test(
    folder: &Path,
    m: &Manifest,
    placement: Placement,
    plugin: &CompiledPlugin,
) -> Result<(), LoadError> {
    let fail = |why: String| LoadError::SelfTest(m.id.clone(), why);
    let sample_path = folder.join(&m.self_test.sample);
    let sample =
        std::fs::read_to_string(&sample_path).map_err(|e| fail(format!("{}: {e}", sample_path.display())))?;
    let kind = parse_kind(&m.self_test.kind).map_err(fail)?;
    let key = headroom_core::offload::key_for(&sample);
    let block = Block { text: sample.clone(), key: key.clone() };
    let outcome = plugin
        .transform(&block, &kind, &Context { query: None, lossy: m.lossy })
        .map_err(|f| fail(f.to_string()))?;
    let got = match &outcome {
        Outcome::Rewritten(r) => {
            let core = match placement {
                Placement::Before => CorePlacement::Before,
                Placement::Instead => CorePlacement::Instead,
                Placement::After => CorePlacement::After,
            };
            check(&sample, &key, &r.text, r.lossy, m.lossy, core)
                .map_err(|r| fail(format!("output refused: {r}")))?;
            "rewritten"
        }
        Outcome::Declined(_) => "declined",
    };
    match &m.self_test.expect {
        Some(expect) if expect != got => Err(fail(format!("expected {expect}, the plugin {got} the sample"))),
        _ => Ok(()),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
