//! Why a plugin folder could not be loaded. Each names the plugin and the check that failed.

use std::path::PathBuf;

/// A failed load (the previous set stays in use).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The folder or a file could not be read.
    #[error("{0}: {1}")]
    Read(PathBuf, String),
    /// The manifest is not valid (unknown fields are named).
    #[error("{0}: invalid manifest: {1}")]
    Manifest(PathBuf, String),
    /// The manifest targets a world version this host does not run.
    #[error("plugin {id}: targets {world}, this host runs {supported}")]
    WrongWorld {
        /// The plugin.
        id: String,
        /// What its manifest names.
        world: String,
        /// What the host supports.
        supported: String,
    },
    /// The component's sha256 is not the manifest's.
    #[error("plugin {id}: sha256 mismatch: manifest {expected}, component {actual}")]
    HashMismatch {
        /// The plugin.
        id: String,
        /// The manifest's hash.
        expected: String,
        /// The component's.
        actual: String,
    },
    /// The component did not compile or does not implement the world.
    #[error("plugin {0}: {1}")]
    Compile(String, String),
    /// The self-test call failed.
    #[error("plugin {0}: self-test failed: {1}")]
    SelfTest(String, String),
    /// Two plugins share an id.
    #[error("two plugins have the id {0}")]
    Duplicate(String),
}
