//! `/demo/`: the built browser demo served from a folder; a clear 404 when it is not built;
//! nothing outside the folder, however the path is spelled.

use std::path::PathBuf;

use headroom_proxy::routes::demo;

struct Served {
    url: String,
    dir: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Serve `demo::routes` over a fresh folder, filled by `fill`.
async fn serve(name: &str, fill: impl FnOnce(&std::path::Path)) -> Served {
    let root = std::env::temp_dir().join(format!("headroom-demo-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let dir = root.join("dist");
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(root.join("secret.txt"), "outside the demo").expect("write");
    fill(&dir);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app: axum::Router = demo::routes(dir);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Served { url, dir: root }
}

/// The value of header `name` in a raw response.
fn header<'a>(response: &'a str, name: &str) -> &'a str {
    let head = response.split("\r\n\r\n").next().unwrap_or_default();
    head.lines()
        .filter_map(|l| l.split_once(": "))
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .unwrap_or_default()
}

fn body(response: &str) -> &str {
    response.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or_default()
}

#[tokio::test]
async fn serves_the_built_demo_with_content_types() {
    let s = serve("built", |d| {
        std::fs::write(d.join("index.html"), "<!doctype html><title>demo</title>").expect("write");
        std::fs::create_dir_all(d.join("assets")).expect("mkdir");
        std::fs::write(d.join("assets/app-1234.js"), "console.log(1)").expect("write");
        std::fs::write(d.join("assets/core-abcd.wasm"), b"\0asm\x01\0\0\0").expect("write");
    })
    .await;

    let (status, r) = raw_get(&s.url, "/demo").await;
    assert_eq!(status, 308);
    assert_eq!(header(&r, "location"), "/demo/");

    let (status, r) = raw_get(&s.url, "/demo/").await;
    assert_eq!(status, 200);
    assert_eq!(header(&r, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&r, "cache-control"), "no-cache");
    assert_eq!(body(&r), "<!doctype html><title>demo</title>");

    let (status, r) = raw_get(&s.url, "/demo/assets/app-1234.js").await;
    assert_eq!(status, 200);
    assert_eq!(header(&r, "content-type"), "text/javascript; charset=utf-8");
    assert!(header(&r, "cache-control").contains("immutable"));
    assert_eq!(body(&r), "console.log(1)");

    let (_, r) = raw_get(&s.url, "/demo/assets/core-abcd.wasm").await;
    assert_eq!(header(&r, "content-type"), "application/wasm");
    assert_eq!(body(&r), "\0asm\x01\0\0\0");

    let (status, r) = raw_get(&s.url, "/demo/assets/missing.js").await;
    assert_eq!(status, 404);
    assert!(body(&r).contains("no such file"));
}

#[tokio::test]
async fn a_missing_build_is_a_404_that_says_how_to_build_it() {
    let s = serve("unbuilt", |_| {}).await;
    for path in ["/demo/", "/demo/assets/app.js"] {
        let (status, r) = raw_get(&s.url, path).await;
        assert_eq!(status, 404, "{path}");
        assert!(body(&r).contains("the demo is not built") && body(&r).contains("npm run demo:build"), "{r}");
    }
}

#[tokio::test]
async fn paths_that_leave_the_folder_are_refused() {
    let s = serve("traversal", |d| {
        std::fs::write(d.join("index.html"), "index").expect("write");
    })
    .await;
    // Raw requests: an HTTP client would normalise the dots away before sending.
    for path in [
        "/demo/../secret.txt",
        "/demo/%2e%2e/secret.txt",
        "/demo/assets/%2e%2e/%2e%2e/secret.txt",
        "/demo/..%2fsecret.txt",
        "/demo/..%5csecret.txt",
        "/demo//etc/passwd",
        "/demo/.%2e/secret.txt",
    ] {
        let (status, body) = raw_get(&s.url, path).await;
        assert!(!body.contains("outside the demo"), "{path} leaked the file");
        assert!(status == 404 || status == 400, "{path}: {status}");
    }
}

async fn raw_get(url: &str, path: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let addr = url.trim_start_matches("http://").to_owned();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
        stream.write_all(request.as_bytes()).expect("write");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("read");
        let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        (status, response)
    })
    .await
    .expect("join")
}
