//! Scan speed on one request body: `cargo run --release -p headroom-json --example scan_speed FILE`.
//! Prints MB/s of the validating pass, of a skip over the top level, and of serde_json's
//! `RawValue` pass for comparison (median of 21 runs each).

use std::time::Instant;

fn median(mut runs: Vec<f64>) -> f64 {
    runs.sort_by(f64::total_cmp);
    runs[runs.len() / 2]
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: scan_speed FILE");
    let body = std::fs::read_to_string(&path).expect("readable UTF-8 file");
    let mb = body.len() as f64 / 1e6;
    let time = |f: &dyn Fn()| {
        median(
            (0..21)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed().as_secs_f64()
                })
                .collect(),
        )
    };
    let validate = time(&|| assert!(headroom_json::scan::validate(&body).is_ok()));
    let views = time(&|| {
        let root = headroom_json::trusted_root(&body).expect("an object");
        let n: usize = root.fields().filter_map(|(_, v)| headroom_json::array(v)).map(|a| a.len()).sum();
        assert!(n > 0);
    });
    let serde = time(&|| {
        let _: std::collections::BTreeMap<String, &serde_json::value::RawValue> =
            serde_json::from_str(&body).expect("json");
    });
    println!(
        "{} bytes: validate {:.0} MB/s ({:.3} ms), top-level views {:.0} MB/s ({:.3} ms), serde members {:.0} MB/s ({:.3} ms)",
        body.len(),
        mb / validate,
        validate * 1e3,
        mb / views,
        views * 1e3,
        mb / serde,
        serde * 1e3
    );
}
