//! Every committed fuzz input, replayed through its target's checks: the seeds
//! (`fuzz/corpus/<target>/`) and each input that once found a bug (`fuzz/regressions/<target>/`).

use std::path::Path;

fn replay(target: &str, check: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.file_name().is_some_and(|f| f.to_string_lossy().starts_with('.')) {
                continue;
            }
            let data = std::fs::read(&path).expect("read input");
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{target}: {} fails its checks", path.display());
            n += 1;
        }
    }
    assert!(n > 0, "{target}: no committed inputs");
}

#[test]
fn request_inputs() {
    replay("request", headroom_fuzz::request);
}

#[test]
fn content_inputs() {
    replay("content", headroom_fuzz::content);
}

#[test]
fn sse_inputs() {
    replay("sse", headroom_fuzz::sse);
}
