//! `GET /dashboard`: one page compiled into the binary (no CDN, no build step), reading
//! `/stats`, `/stats-history` and `/health` from the same origin.

use axum::response::{Html, IntoResponse, Response};

const PAGE: &str = include_str!("../../assets/dashboard.html");

/// The page.
pub async fn handle() -> Response {
    ([(http::header::CACHE_CONTROL, "no-cache")], Html(PAGE)).into_response()
}
