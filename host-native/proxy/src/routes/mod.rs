//! HTTP handlers.

pub mod compress;
pub mod count_tokens;
pub mod dashboard;
pub mod demo;
pub mod health;
pub mod llm;
pub mod plugins;
pub mod retrieve;
pub mod stats;

use axum::body::{Body, Bytes};

use crate::errors::ProxyError;

/// Read a request body up to `limit` bytes.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, ProxyError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        // axum reports the limit as a `LengthLimitError` somewhere in the error's source chain.
        let mut source: Option<&dyn std::error::Error> = Some(&e);
        while let Some(s) = source {
            if s.to_string().contains("length limit exceeded") {
                return ProxyError::TooLarge(limit);
            }
            source = s.source();
        }
        ProxyError::BadRequest(format!("reading the body: {e}"))
    })
}
