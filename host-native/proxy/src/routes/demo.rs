//! `GET /demo/`: the browser demo (host-js/demo, built by vite), served from a folder.
//!
//! The folder is `--demo-dir` (`HEADROOM_DEMO_DIR`), else `host-js/demo/dist` in this checkout. Only plain
//! relative paths below it are served; a missing build is a 404 that says how to build it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::Path as UrlPath;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use http::{StatusCode, header};

/// The demo's folder when `--demo-dir` is not given: the vite output in this checkout.
pub fn default_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../host-js/demo/dist")
}

/// `/demo` (redirected to `/demo/`, since the page loads its assets relative to itself),
/// `/demo/` and `/demo/{path}`, serving files from `dir`.
pub fn routes<S: Clone + Send + Sync + 'static>(dir: PathBuf) -> Router<S> {
    let dir = Arc::new(dir);
    let index = Arc::clone(&dir);
    Router::new()
        .route("/demo", get(|| async { Redirect::permanent("/demo/") }))
        .route("/demo/", get(move || serve(Arc::clone(&index), String::new())))
        .route("/demo/{*path}", get(move |UrlPath(path): UrlPath<String>| serve(Arc::clone(&dir), path)))
}

async fn serve(dir: Arc<PathBuf>, path: String) -> Response {
    let Some(relative) = safe_relative(&path) else {
        return not_found(format!("no such file in the demo: /demo/{path}"));
    };
    let file = dir.join(&relative);
    let read = tokio::task::spawn_blocking(move || std::fs::read(&file)).await;
    match read {
        Ok(Ok(bytes)) => {
            // vite names assets by content hash, so they never change; the page itself may.
            let cache = if relative.starts_with("assets") {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            ([(header::CONTENT_TYPE, content_type(&relative)), (header::CACHE_CONTROL, cache)], bytes)
                .into_response()
        }
        _ if !dir.join("index.html").is_file() => not_found(format!(
            "the demo is not built (no index.html in {}): run `just test-js`, or `npm run build && npm run demo:build` in host-js/, \
             or point --demo-dir (HEADROOM_DEMO_DIR) at a built demo",
            dir.display()
        )),
        _ => not_found(format!("no such file in the demo: /demo/{path}")),
    }
}

/// `path` as a relative path of plain names (`index.html` for the folder itself), or `None`
/// for anything that could leave the folder: `..`, absolute paths, backslashes, hidden names.
fn safe_relative(path: &str) -> Option<PathBuf> {
    let (body, folder) = match path.strip_suffix('/') {
        Some(b) => (b, true),
        None => (path, path.is_empty()),
    };
    let mut out = PathBuf::new();
    if !body.is_empty() {
        for name in body.split('/') {
            let plain = !name.is_empty() && !name.starts_with('.') && !name.contains(['\\', '\0', ':']);
            if !plain {
                return None;
            }
            out.push(name);
        }
    }
    if folder {
        out.push("index.html");
    }
    Some(out)
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("json" | "map") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn not_found(message: String) -> Response {
    (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_served() {
        assert_eq!(safe_relative(""), Some(PathBuf::from("index.html")));
        assert_eq!(safe_relative("assets/app.js"), Some(PathBuf::from("assets/app.js")));
        assert_eq!(safe_relative("assets/"), Some(PathBuf::from("assets/index.html")));
        for bad in
            ["../Cargo.toml", "assets/../../x", "/etc/passwd", "a\\..\\b", ".git/config", "./x", "a/./b"]
        {
            assert_eq!(safe_relative(bad), None, "{bad}");
        }
    }
}
