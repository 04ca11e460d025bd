//! Errors at the engine's boundary. "Nothing worth doing" is not an error: it is a declined
//! block in the report.

/// Why a request could not be compressed. The host forwards the original on either.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompressError {
    /// The body is not a valid request of the stated dialect.
    #[error("malformed request: {0}")]
    MalformedRequest(String),
    /// An internal invariant failed (a bug).
    #[error("internal error: {0}")]
    Internal(String),
}
