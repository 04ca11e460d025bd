//! Content kinds, mirroring the WIT `content-kind` variant.

use std::fmt;

/// What a piece of text is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ContentKind {
    /// JSON object, array of records, or NDJSON.
    Json,
    /// Application or build logs.
    Log,
    /// grep / ripgrep results.
    Search,
    /// Unified diff.
    Diff,
    /// Source code.
    Code,
    /// Stack trace or traceback.
    StackTrace,
    /// Test-runner output.
    TestOutput,
    /// Directory listing.
    Listing,
    /// Natural-language text.
    Prose,
    /// A kind named by a plugin.
    Other(String),
}

impl ContentKind {
    /// Stable lower-case name used in reports and benchmarks.
    pub fn name(&self) -> &str {
        match self {
            Self::Json => "json",
            Self::Log => "log",
            Self::Search => "search",
            Self::Diff => "diff",
            Self::Code => "code",
            Self::StackTrace => "stack-trace",
            Self::TestOutput => "test-output",
            Self::Listing => "listing",
            Self::Prose => "prose",
            Self::Other(name) => name,
        }
    }
}

impl fmt::Display for ContentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
