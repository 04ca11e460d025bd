//! Errors the proxy itself returns, in the JSON shape of the client's provider.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use crate::provider::Provider;

/// An error answered by the proxy (never a compression failure: those forward the original).
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// The upstream could not be reached, or reset the connection.
    #[error("upstream unreachable: {0}")]
    Unreachable(String),
    /// The upstream did not answer in time.
    #[error("upstream timed out: {0}")]
    Timeout(String),
    /// The upstream answered a success whose body is not what the API promises (not JSON,
    /// or cut short).
    #[error("upstream answered badly: {0}")]
    UpstreamFault(String),
    /// The request body is larger than the configured limit.
    #[error("request body exceeds the limit of {0} bytes")]
    TooLarge(usize),
    /// The request could not be read or is invalid.
    #[error("{0}")]
    BadRequest(String),
    /// The caller is not authorised.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller may not use this endpoint.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing here.
    #[error("{0}")]
    NotFound(String),
}

impl ProxyError {
    fn status(&self) -> StatusCode {
        match self {
            Self::Unreachable(_) | Self::UpstreamFault(_) => StatusCode::BAD_GATEWAY,
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
        }
    }

    /// The response in `provider`'s error format.
    pub fn into_provider_response(self, provider: Provider) -> Response {
        let status = self.status();
        let message = format!("headroom proxy: {self}");
        let body = match provider {
            Provider::Anthropic => {
                let kind = match status {
                    StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE => "invalid_request_error",
                    StatusCode::UNAUTHORIZED => "authentication_error",
                    StatusCode::FORBIDDEN => "permission_error",
                    StatusCode::NOT_FOUND => "not_found_error",
                    StatusCode::GATEWAY_TIMEOUT => "timeout_error",
                    _ => "api_error",
                };
                json!({"type": "error", "error": {"type": kind, "message": message}})
            }
            Provider::OpenAi => {
                let (kind, code) = match status {
                    StatusCode::BAD_REQUEST | StatusCode::PAYLOAD_TOO_LARGE => {
                        ("invalid_request_error", None)
                    }
                    StatusCode::UNAUTHORIZED => ("invalid_request_error", Some("invalid_api_key")),
                    StatusCode::GATEWAY_TIMEOUT => ("server_error", Some("timeout")),
                    _ => ("server_error", None),
                };
                json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
            }
        };
        (status, axum::Json(body)).into_response()
    }
}

impl IntoResponse for ProxyError {
    /// Proxy-own endpoints answer in the OpenAI shape (`{"error": {...}}`).
    fn into_response(self) -> Response {
        self.into_provider_response(Provider::OpenAi)
    }
}
