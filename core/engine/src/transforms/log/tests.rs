use super::*;
use crate::marker::Marker;
use crate::transforms::query::Query;

fn ctx(q: &Query) -> Ctx<'_> {
    Ctx { query: q, key: "h:log", lossy: true }
}

/// Kept lines plus marker counts account for every original line, and every kept line is
/// an original line.
fn check(original: &str, out: &str) -> Vec<Marker> {
    let markers = Marker::find_all(out);
    let orig: Vec<&str> = original.lines().collect();
    let kept: Vec<&str> = out.lines().filter(|l| Marker::parse(l).is_none()).collect();
    let dropped: usize = markers.iter().map(|m| m.count).sum();
    assert_eq!(kept.len() + dropped, orig.len(), "{out}");
    assert!(kept.iter().all(|l| orig.contains(l)));
    markers
}

/// Shape of headroom-parity/log_compressor/3bc015edc0a36387.json: 300 repeated INFO lines,
/// then an error with its traceback.
fn fixture() -> String {
    let mut s = String::new();
    for i in 0..300 {
        s.push_str(&format!("line {i}: INFO processing request\n"));
    }
    s.push_str("ERROR something broke at step 42\nTraceback (most recent call last):\n  File \"a.py\", line 5\nRuntimeError: boom\n# variant 13");
    s
}

#[test]
fn collapses_template_runs_and_keeps_the_error() {
    let text = fixture();
    let r = compress(&text, &ctx(&Query::default())).expect("compressed");
    assert!(r.lossy);
    assert_eq!(r.transform, "log:templates");
    assert!(r.text.starts_with("line 0: INFO processing request\n[... 298 lines elided (lines 2-299); all like: line <*> INFO processing request,"));
    assert!(r.text.ends_with("line 299: INFO processing request\nERROR something broke at step 42\nTraceback (most recent call last):\n  File \"a.py\", line 5\nRuntimeError: boom\n# variant 13"));
    check(&text, &r.text);
    assert!(r.text.len() * 10 < text.len());
    assert_eq!(compress(&text, &ctx(&Query::default())), Some(r));
}

#[test]
fn declines_when_not_lossy_or_short() {
    let q = Query::default();
    assert!(compress(&fixture(), &Ctx { query: &q, key: "h:k", lossy: false }).is_none());
    let short: String = (0..20).map(|i| format!("tick {i}\n")).collect();
    assert!(compress(&short, &ctx(&q)).is_none());
}

/// A cargo build in the shape of headroom-parity/log_compressor/23112ae8ae41ba59.json, longer.
#[test]
fn build_log_keeps_diagnostics_with_their_gutter() {
    let mut text = String::new();
    for i in 0..60 {
        text.push_str(&format!("   Compiling crate_{i} v0.1.{i}\n"));
    }
    text.push_str("warning: unused variable: `y`\n --> src/main.rs:3:9\n  |\n3 |     let y = 2;\n  |         ^ help: prefix it with an underscore: `_y`\n\n");
    text.push_str("error[E0308]: mismatched types\n  --> src/lib.rs:42:9\n   |\n42 |         return x;\n   |         ^^^^^^^^^ expected `i32`, found `u64`\n");
    text.push_str("error: aborting due to previous error\n");
    let r = compress(&text, &ctx(&Query::default())).expect("compressed");
    let m = check(&text, &r.text);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].ranges, vec![(2, 59)]);
    assert!(r.text.contains("   Compiling crate_59 v0.1.59\nwarning: unused variable"));
    assert!(r.text.contains("42 |         return x;\n   |         ^^^^^^^^^ expected"));
    assert!(r.text.ends_with("error: aborting due to previous error\n"));
}

#[test]
fn identical_lines_and_timestamps_in_notes() {
    let mut text = String::new();
    for s in 0..30 {
        text.push_str(&format!("2025-06-24 14:36:{s:02} status installed pkg{s}:amd64 1.{s}\n"));
    }
    for _ in 0..20 {
        text.push_str("Reading database ... done\n");
    }
    text.push_str("2025-06-24 14:37:00 shutdown\n");
    let r = compress(&text, &ctx(&Query::default())).expect("compressed");
    let m = check(&text, &r.text);
    assert_eq!(m.len(), 2);
    let n0 = m[0].note.as_deref().expect("note");
    assert!(n0.contains("all like: <*> <*> status installed <*> <*>"), "{n0}");
    assert!(n0.ends_with("2025-06-24 14:36:01 .. 2025-06-24 14:36:28"), "{n0}");
    assert_eq!(m[1].note.as_deref(), Some("identical to line 31"));
    assert_eq!(m[1].count, 19);
}

#[test]
fn query_and_rare_lines_survive() {
    let mut text = String::new();
    for i in 0..80 {
        text.push_str(&format!("GET /api/items/{i} 200 {}ms\n", i % 7));
        if i == 50 {
            text.push_str("cache evicted shard 7 after pressure\n");
        }
    }
    let q = Query::new("why did request /api/items/63 fail");
    let r = compress(&text, &ctx(&q)).expect("compressed");
    check(&text, &r.text);
    assert!(r.text.contains("GET /api/items/63 200 0ms\n"));
    assert!(r.text.contains("cache evicted shard 7 after pressure\n"));
    assert!(!r.text.contains("GET /api/items/40 "));
}

#[test]
fn severity_words() {
    assert_eq!(severity("RuntimeError: boom"), Some(Severity::Error));
    assert_eq!(severity("2 errors generated."), Some(Severity::Error));
    assert_eq!(severity("npm WARN deprecated foo@1.0.0"), Some(Severity::Warning));
    assert_eq!(severity("cc -Werror -O2 foo.c"), None);
    assert_eq!(severity("terrorism"), None);
}
