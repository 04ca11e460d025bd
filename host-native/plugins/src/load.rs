//! Loading a folder: every plugin verified before any goes live. The manifest's checks and
//! the judgement of the self-test are headroom-core's (the npm package runs the same code
//! through the component); this file reads the folder, hashes and compiles.

use std::path::Path;

use headroom_core::plugins::PluginOutcome;
use headroom_core::plugins::manifest::{AdmitError, admit, judge_self_test};
use headroom_runtime::plugin_wit::{Block, Context, Outcome};
use headroom_runtime::plugins::{CompiledPlugin, PluginEngine, PluginSet, Spec};
use sha2::{Digest, Sha256};

use crate::error::LoadError;
use crate::manifest::{Manifest, WORLD, parse_kind, runtime_limits, wit_kind, wit_placement};

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
    let wasm_path = folder.join("plugin.wasm");
    let bytes = std::fs::read(&wasm_path).map_err(|e| LoadError::Read(wasm_path, e.to_string()))?;
    let actual = hex(&Sha256::digest(&bytes));
    let manifest = admit(&text, &actual).map_err(|e| match e {
        AdmitError::Manifest(why) => LoadError::Manifest(path.clone(), why),
        AdmitError::WrongWorld { id, world } => LoadError::WrongWorld { id, world, supported: WORLD.into() },
        AdmitError::HashMismatch { id, expected, actual } => LoadError::HashMismatch { id, expected, actual },
    })?;
    let id = manifest.id.clone();
    let compiled = engine
        .compile(&bytes, runtime_limits(&manifest))
        .map_err(|e| LoadError::Compile(id.clone(), e.to_string()))?;
    let info = manifest.info().map_err(|e| LoadError::Manifest(path.clone(), e))?;
    self_test(folder, &manifest, &compiled)?;
    let spec = Spec {
        id,
        version: manifest.version.clone(),
        sha256: actual,
        kinds: info.kinds.iter().map(wit_kind).collect(),
        placement: wit_placement(info.placement),
        lossy: manifest.lossy,
    };
    Ok((spec, compiled, manifest))
}

/// Call the plugin on its sample; the engine's rules judge the answer.
fn self_test(folder: &Path, m: &Manifest, plugin: &CompiledPlugin) -> Result<(), LoadError> {
    let fail = |why: String| LoadError::SelfTest(m.id.clone(), why);
    let sample_path = folder.join(&m.self_test.sample);
    let sample =
        std::fs::read_to_string(&sample_path).map_err(|e| fail(format!("{}: {e}", sample_path.display())))?;
    let kind = wit_kind(&parse_kind(&m.self_test.kind).map_err(fail)?);
    let block = Block { text: sample.clone(), key: headroom_core::offload::key_for(&sample) };
    let answer = match plugin
        .transform(&block, &kind, &Context { query: None, lossy: m.lossy })
        .map_err(|f| fail(f.to_string()))?
    {
        Outcome::Rewritten(r) => {
            PluginOutcome::Rewritten { text: r.text, summary: r.summary, lossy: r.lossy }
        }
        Outcome::Declined(why) => PluginOutcome::Declined(why),
    };
    judge_self_test(m, &sample, &answer).map_err(fail)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
