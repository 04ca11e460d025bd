//! A folder of plugins, as a host runs them: each subfolder holds `plugin.toml` and
//! `plugin.wasm` (the layout `just plugins` writes). A load verifies everything (manifest,
//! sha256, compile, world version, a self-test call) before the new set replaces the old one
//! in a single swap; a failed load keeps the old set and is reported.

mod error;
mod load;
mod manifest;
mod registry;
mod watch;

pub use error::LoadError;
pub use load::load_dir;
pub use manifest::{Limits, Manifest, SelfTest, WORLD, runtime_limits};
pub use registry::{Registry, Status};
pub use watch::watch;
