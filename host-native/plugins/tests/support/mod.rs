//! Shared by the plugin host tests: built plugins copied into a fresh folder, and the core
//! component.

#![allow(dead_code, missing_docs, reason = "test helpers; each test file uses a part")]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use headroom_runtime::{Runtime, RuntimeConfig};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A built plugin's folder (`just plugins`).
pub fn built(id: &str) -> PathBuf {
    let dir = if id == "faulty" {
        root().join("target/plugin-fixtures/faulty")
    } else {
        root().join("target/plugins").join(id)
    };
    assert!(dir.join("plugin.wasm").is_file(), "{} is missing: run `just plugins`", dir.display());
    dir
}

/// An empty folder of its own under target/.
pub fn fresh_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = root().join(format!(
        "target/plugin-tests/{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("test dir");
    dir
}

/// Copy a built plugin into `dir/<as_id>`, with `edit` applied to its manifest.
pub fn install(dir: &Path, id: &str, edit: impl Fn(String) -> String) -> PathBuf {
    let from = built(id);
    let to = dir.join(id);
    std::fs::create_dir_all(&to).expect("plugin dir");
    for f in std::fs::read_dir(&from).expect("built plugin") {
        let f = f.expect("entry");
        std::fs::copy(f.path(), to.join(f.file_name())).expect("copy");
    }
    let manifest = std::fs::read_to_string(to.join("plugin.toml")).expect("manifest");
    std::fs::write(to.join("plugin.toml"), edit(manifest)).expect("manifest");
    to
}

pub fn runtime() -> Runtime {
    let path = root().join("target/wasm/headroom-core.wasm");
    assert!(path.is_file(), "{} is missing: run `just component`", path.display());
    Runtime::from_file(&path, &RuntimeConfig::default()).expect("core component")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let digest = <sha2::Sha256 as sha2::Digest>::digest(bytes);
    digest.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Replace the manifest's sha256 line.
pub fn with_sha(manifest: &str, sha: &str) -> String {
    manifest
        .lines()
        .map(|l| if l.starts_with("sha256 =") { format!("sha256 = \"{sha}\"") } else { l.to_owned() })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Patch the faulty fixture's 16-byte stamp (`STAMP:0000000000`) to `STAMP:v<10 digits>`.
pub fn stamp(wasm: &[u8], version: u32) -> Vec<u8> {
    let from = b"STAMP:0000000000";
    let to = format!("STAMP:{version:010}");
    let at = wasm.windows(from.len()).position(|w| w == from).expect("the fixture's stamp");
    let mut out = wasm.to_vec();
    out[at..at + from.len()].copy_from_slice(to.as_bytes());
    out
}
