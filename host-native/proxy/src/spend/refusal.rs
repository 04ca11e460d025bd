//! The proxy's own 429s (a spent budget, a rate limit), in the client's provider format with
//! `retry-after` and rate-limit headers in both providers' styles.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use serde_json::json;

use super::budget::{Exhausted, round6};
use super::limits::Limited;
use crate::provider::Provider;
use crate::stats::time::iso;

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn body(provider: Provider, message: &str, openai_type: &str, openai_code: &str) -> serde_json::Value {
    match provider {
        Provider::Anthropic => {
            json!({"type": "error", "error": {"type": "rate_limit_error", "message": message}})
        }
        Provider::OpenAi => {
            json!({"error": {"message": message, "type": openai_type, "param": null, "code": openai_code}})
        }
    }
}

fn set(r: &mut Response, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().insert(name, v);
    }
}

/// A spent budget: which one, the spend, and when it resets. SDKs are told not to retry
/// (`x-should-retry: false`): the answer will not change before the reset.
pub fn budget(provider: Provider, e: &Exhausted) -> Response {
    let now = unix_now();
    let which = if e.which == "global" { "budget" } else { "per-key budget" };
    let message = format!(
        "headroom proxy: {} {which} of ${:.2} reached (spent ${:.4} this period); resets at {}",
        e.period.name(),
        e.limit,
        round6(e.spent),
        e.resets_local
    );
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(body(provider, &message, "insufficient_quota", "insufficient_quota")),
    )
        .into_response();
    set(&mut r, "retry-after", e.resets_at.saturating_sub(now).max(1).to_string());
    set(&mut r, "x-should-retry", "false".into());
    set(&mut r, "x-headroom-refused", format!("budget-{}", e.which.replace('_', "-")));
    set(&mut r, "x-headroom-budget-reset", iso(e.resets_at));
    r
}

/// A rate limit: `retry-after` and the remaining figures, in OpenAI's `x-ratelimit-*` and
/// Anthropic's `anthropic-ratelimit-*` header styles.
pub fn rate_limited(provider: Provider, l: &Limited) -> Response {
    let what = if l.which == "requests" { "requests per minute" } else { "input tokens per minute" };
    let limit = if l.which == "requests" { l.state.rpm.map(u64::from) } else { l.state.tpm };
    let message = format!(
        "headroom proxy: rate limit of {} {what} reached for this API key; retry in {:.1}s",
        limit.unwrap_or(0),
        l.retry_after_s
    );
    let mut r =
        (StatusCode::TOO_MANY_REQUESTS, axum::Json(body(provider, &message, l.which, "rate_limit_exceeded")))
            .into_response();
    set(&mut r, "retry-after", (l.retry_after_s.ceil() as u64).max(1).to_string());
    set(&mut r, "x-headroom-refused", format!("rate-limit-{}", l.which));
    headers(&mut r, &l.state);
    r
}

/// The remaining-limit headers.
pub fn headers(r: &mut Response, s: &super::limits::Remaining) {
    let now = unix_now();
    if let Some(rpm) = s.rpm {
        set(r, "x-ratelimit-limit-requests", rpm.to_string());
        set(r, "x-ratelimit-remaining-requests", s.requests.to_string());
        set(r, "x-ratelimit-reset-requests", format!("{:.3}s", s.requests_reset_s));
        set(r, "anthropic-ratelimit-requests-limit", rpm.to_string());
        set(r, "anthropic-ratelimit-requests-remaining", s.requests.to_string());
        set(r, "anthropic-ratelimit-requests-reset", iso(now + s.requests_reset_s.ceil() as u64));
    }
    if let Some(tpm) = s.tpm {
        set(r, "x-ratelimit-limit-tokens", tpm.to_string());
        set(r, "x-ratelimit-remaining-tokens", s.tokens.to_string());
        set(r, "x-ratelimit-reset-tokens", format!("{:.3}s", s.tokens_reset_s));
        set(r, "anthropic-ratelimit-input-tokens-limit", tpm.to_string());
        set(r, "anthropic-ratelimit-input-tokens-remaining", s.tokens.to_string());
        set(r, "anthropic-ratelimit-input-tokens-reset", iso(now + s.tokens_reset_s.ceil() as u64));
    }
}
