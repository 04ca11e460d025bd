//! Memory of the rate limiter's state for many keys: resident set size before and after
//! 100,000 distinct key scopes each take a request (RPM and TPM both on), and the time per
//! admission. Run by `benches/load/spend.sh`; prints one JSON line.

use headroom_proxy::spend::limits::Limiter;

/// Resident set size in bytes, from `/proc/self/statm`.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|v| v.parse().ok()).unwrap_or(0);
    pages * 4096
}

fn main() {
    let keys: u64 = std::env::args().nth(1).and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let scopes: Vec<String> =
        (0..keys).map(|i| format!("{:016x}", i.wrapping_mul(0x9E37_79B9_7F4A_7C15))).collect();
    let limiter = Limiter::new(Some(60), Some(100_000));
    let before = rss();
    let start = std::time::Instant::now();
    for s in &scopes {
        let _ = limiter.admit(s);
        limiter.debit(s, 1000);
    }
    let elapsed = start.elapsed();
    let after = rss();
    println!(
        "{{\"keys\": {}, \"tracked\": {}, \"rss_delta_bytes\": {}, \"ns_per_admit_and_debit\": {:.0}}}",
        keys,
        limiter.keys(),
        after.saturating_sub(before),
        elapsed.as_nanos() as f64 / keys as f64
    );
}
