//! The savings history: lifetime totals and checkpoints of them, persisted in
//! `proxy_savings.json` so they survive restarts.
//!
//! Writes are atomic (a temporary file in the same directory, synced, then renamed over the
//! old one): a kill at any moment leaves the previous file or the new one. The history is
//! bounded: checkpoints closer than a minute replace each other, those older than two days
//! are thinned to one per hour, and nothing older than 400 days or past 20,000 entries is
//! kept (a year of hourly checkpoints is about 0.5 MB). A file that cannot be read or parsed
//! is moved aside (`.corrupt-<unix time>`) and reported on `/health`; the proxy starts afresh.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::time::{Period, iso};
use crate::accounting::Record;

/// Checkpoints kept at most.
pub const MAX_CHECKPOINTS: usize = 20_000;
/// Oldest checkpoint kept, seconds.
pub const MAX_AGE_SECS: u64 = 400 * 86_400;
/// Checkpoints younger than this keep minute resolution.
const FINE_SECS: u64 = 2 * 86_400;
/// Points returned by the compact history.
pub const COMPACT_POINTS: usize = 240;

/// Totals over the proxy's lifetime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Totals {
    /// Requests accounted.
    pub requests: u64,
    /// Tokens of compressible blocks, as received.
    pub tokens_before: u64,
    /// The same blocks, as forwarded.
    pub tokens_after: u64,
    /// Tokens removed.
    pub tokens_saved: u64,
    /// Input tokens the providers reported.
    pub input_tokens: u64,
    /// Of which read from the cache.
    pub cache_read_tokens: u64,
    /// Of which written to the cache.
    pub cache_write_tokens: u64,
    /// Output tokens reported.
    pub output_tokens: u64,
    /// Input-token equivalents billed.
    pub billed_input: f64,
    /// Input-token equivalents the original requests would have been billed.
    pub billed_input_direct: f64,
    /// Retrieval continuations.
    pub retrieval_rounds: u64,
    /// Compressions that failed (the original went).
    pub compression_failures: u64,
}

impl Totals {
    /// Add one record.
    pub fn add(&mut self, r: &Record) {
        self.requests += 1;
        self.tokens_before += r.tokens_before;
        self.tokens_after += r.tokens_after;
        self.tokens_saved += r.tokens_saved;
        if let Some(u) = &r.usage {
            self.input_tokens += u.input_total();
            self.cache_read_tokens += u.cache_read;
            self.cache_write_tokens += u.cache_write();
            self.output_tokens += u.output;
        }
        if let Some(b) = &r.bill {
            self.billed_input += b.billed;
            self.billed_input_direct += b.billed_direct;
        }
        self.retrieval_rounds += u64::from(r.retrieval_rounds);
        self.compression_failures += u64::from(r.compression_failed);
    }
}

/// Lifetime totals at one moment: `[unix seconds, requests, tokens_saved, tokens_before,
/// billed_input, billed_input_direct]` (an array: the file stays small).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint(pub u64, pub u64, pub u64, pub u64, pub f64, pub f64);

impl Checkpoint {
    fn of(t: u64, totals: &Totals) -> Self {
        Self(
            t,
            totals.requests,
            totals.tokens_saved,
            totals.tokens_before,
            totals.billed_input,
            totals.billed_input_direct,
        )
    }

    /// As a JSON object with a UTC timestamp.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "timestamp": iso(self.0), "requests": self.1, "tokens_saved": self.2,
            "tokens_before": self.3, "billed_input": round2(self.4), "billed_input_direct": round2(self.5),
        })
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The file's shape.
#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    version: u32,
    /// Field order of each checkpoint.
    checkpoint_fields: Vec<String>,
    lifetime: Totals,
    checkpoints: Vec<Checkpoint>,
}

#[derive(Default)]
struct Inner {
    lifetime: Totals,
    checkpoints: Vec<Checkpoint>,
    dirty: bool,
}

/// The history and its file.
pub struct History {
    path: Option<PathBuf>,
    inner: Mutex<Inner>,
    /// Serialises writers (the periodic flush and the one at shutdown).
    writing: Mutex<()>,
    load_error: Option<String>,
    write_faults: AtomicU64,
    last_write_error: Mutex<Option<String>>,
}

/// A rollup bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Bucket {
    /// Start, Unix seconds.
    pub start: u64,
    /// Requests in it.
    pub requests: u64,
    /// Tokens saved in it.
    pub tokens_saved: u64,
    /// Tokens before compression in it.
    pub tokens_before: u64,
    /// Billed input-token equivalents.
    pub billed_input: f64,
    /// The same without Headroom.
    pub billed_input_direct: f64,
}

impl Bucket {
    /// As JSON with a UTC timestamp.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "period_start": iso(self.start), "requests": self.requests, "tokens_saved": self.tokens_saved,
            "tokens_before": self.tokens_before, "billed_input": round2(self.billed_input),
            "billed_input_direct": round2(self.billed_input_direct),
        })
    }
}

impl History {
    /// In memory only.
    pub fn in_memory() -> Self {
        Self::with(None, Inner::default(), None)
    }

    fn with(path: Option<PathBuf>, inner: Inner, load_error: Option<String>) -> Self {
        Self {
            path,
            inner: Mutex::new(inner),
            writing: Mutex::new(()),
            load_error,
            write_faults: AtomicU64::new(0),
            last_write_error: Mutex::new(None),
        }
    }

    /// Load `path` (absent: a new history; unreadable or corrupt: set aside and reported).
    pub fn open(path: &Path, now: u64) -> Self {
        let loaded = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice::<File>(&bytes).map_err(|e| format!("parse error: {e}")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(File::default()),
            Err(e) => Err(format!("read error: {e}")),
        };
        match loaded {
            Ok(file) => {
                let inner = Inner { lifetime: file.lifetime, checkpoints: file.checkpoints, dirty: false };
                Self::with(Some(path.to_owned()), inner, None)
            }
            Err(why) => {
                let aside = path.with_extension(format!("json.corrupt-{now}"));
                let moved = std::fs::rename(path, &aside);
                let error = match moved {
                    Ok(()) => {
                        format!("{} was unusable ({why}); moved to {}", path.display(), aside.display())
                    }
                    Err(e) => {
                        format!("{} was unusable ({why}) and could not be moved aside: {e}", path.display())
                    }
                };
                tracing::warn!(error = %error, "savings history set aside");
                Self::with(Some(path.to_owned()), Inner::default(), Some(error))
            }
        }
    }

    /// Where it is written.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Why the file found at start was set aside.
    pub fn load_error(&self) -> Option<&str> {
        self.load_error.as_deref()
    }

    /// Failed writes so far, and the last failure.
    pub fn write_faults(&self) -> (u64, Option<String>) {
        let last = self.last_write_error.lock().ok().and_then(|l| l.clone());
        (self.write_faults.load(Ordering::Relaxed), last)
    }

    /// Count one record.
    pub fn add(&self, record: &Record) {
        let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.lifetime.add(record);
        inner.dirty = true;
    }

    /// Lifetime totals.
    pub fn lifetime(&self) -> Totals {
        self.inner.lock().map(|i| i.lifetime).unwrap_or_default()
    }

    /// The stored checkpoints.
    pub fn checkpoints(&self) -> Vec<Checkpoint> {
        self.inner.lock().map(|i| i.checkpoints.clone()).unwrap_or_default()
    }

    /// Take a checkpoint at `now` when anything changed, and write the file.
    pub fn flush(&self, now: u64) {
        let Ok(_writer) = self.writing.lock() else { return };
        let text = {
            let mut inner = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if !inner.dirty {
                return;
            }
            inner.dirty = false;
            let point = Checkpoint::of(now, &inner.lifetime);
            checkpoint(&mut inner.checkpoints, point);
            let file = File {
                version: 1,
                checkpoint_fields: [
                    "t",
                    "requests",
                    "tokens_saved",
                    "tokens_before",
                    "billed_input",
                    "billed_input_direct",
                ]
                .map(String::from)
                .to_vec(),
                lifetime: inner.lifetime,
                checkpoints: inner.checkpoints.clone(),
            };
            serde_json::to_vec(&file).unwrap_or_default()
        };
        let Some(path) = &self.path else { return };
        if let Err(e) = write_atomically(path, &text) {
            self.write_faults.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(path = %path.display(), error = %e, "savings history not written");
            if let Ok(mut last) = self.last_write_error.lock() {
                *last = Some(e.to_string());
            }
            if let Ok(mut inner) = self.inner.lock() {
                inner.dirty = true;
            }
        }
    }
}

/// Append `point`, keeping the history bounded.
fn checkpoint(points: &mut Vec<Checkpoint>, point: Checkpoint) {
    let now = point.0;
    match points.last_mut() {
        Some(last) if now.saturating_sub(last.0) < 60 && now >= last.0 => *last = point,
        _ => points.push(point),
    }
    // Older than two days: the last checkpoint of each hour.
    let fine_from = now.saturating_sub(FINE_SECS);
    let mut kept: Vec<Checkpoint> = Vec::with_capacity(points.len());
    for p in points.drain(..) {
        if p.0 + MAX_AGE_SECS < now {
            continue;
        }
        if let Some(prev) = kept.last_mut()
            && p.0 < fine_from
            && prev.0 / 3600 == p.0 / 3600
        {
            *prev = p;
            continue;
        }
        kept.push(p);
    }
    let excess = kept.len().saturating_sub(MAX_CHECKPOINTS);
    kept.drain(..excess);
    *points = kept;
}

/// Write `bytes` to `path` so that a crash leaves the old file or the new one.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("proxy_savings.json");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    // The rename itself is durable once the directory is synced.
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// At most `n` evenly spread points, the last always included.
pub fn compact(points: &[Checkpoint], n: usize) -> Vec<Checkpoint> {
    if points.len() <= n || n < 2 {
        return points.to_vec();
    }
    let step = (points.len() - 1) as f64 / (n - 1) as f64;
    (0..n).map(|i| points[((i as f64 * step).round() as usize).min(points.len() - 1)]).collect()
}

/// Deltas between consecutive checkpoints, summed per `period`.
pub fn rollup(points: &[Checkpoint], period: Period) -> Vec<Bucket> {
    let mut out: Vec<Bucket> = Vec::new();
    let mut prev = Checkpoint(0, 0, 0, 0, 0.0, 0.0);
    for p in points {
        let start = period.start(p.0);
        if out.last().is_none_or(|b| b.start != start) {
            out.push(Bucket { start, ..Bucket::default() });
        }
        if let Some(b) = out.last_mut() {
            b.requests += p.1.saturating_sub(prev.1);
            b.tokens_saved += p.2.saturating_sub(prev.2);
            b.tokens_before += p.3.saturating_sub(prev.3);
            b.billed_input += (p.4 - prev.4).max(0.0);
            b.billed_input_direct += (p.5 - prev.5).max(0.0);
        }
        prev = *p;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_of_hourly_checkpoints_stays_small_and_bounded() {
        let mut points = Vec::new();
        let start = 1_700_000_000u64;
        for h in 0..(366 * 24) {
            let n = h as u64;
            checkpoint(
                &mut points,
                Checkpoint(
                    start + n * 3600,
                    n * 40,
                    n * 90_000,
                    n * 300_000,
                    n as f64 * 1e6,
                    n as f64 * 1.3e6,
                ),
            );
        }
        let file = File {
            version: 1,
            checkpoint_fields: vec![],
            lifetime: Totals::default(),
            checkpoints: points.clone(),
        };
        let bytes = serde_json::to_vec(&file).unwrap();
        assert!(bytes.len() < 1 << 20, "{} bytes", bytes.len());
        assert!(points.len() <= 400 * 24);
        // Minute-close checkpoints replace each other; old ones thin to hourly.
        let mut p = vec![Checkpoint(1000, 1, 0, 0, 0.0, 0.0)];
        checkpoint(&mut p, Checkpoint(1030, 2, 0, 0, 0.0, 0.0));
        assert_eq!(p, vec![Checkpoint(1030, 2, 0, 0, 0.0, 0.0)]);
    }

    #[test]
    fn rollups_sum_deltas_per_period() {
        let h = 3600;
        let t0 = 1_764_892_800; // 2025-12-05T00:00:00Z
        let points = [
            Checkpoint(t0 + 10, 1, 10, 20, 5.0, 6.0),
            Checkpoint(t0 + 20 * 60, 3, 30, 60, 15.0, 18.0),
            Checkpoint(t0 + h + 5, 4, 35, 70, 16.0, 20.0),
        ];
        let hourly = rollup(&points, Period::Hourly);
        assert_eq!(hourly.len(), 2);
        assert_eq!((hourly[0].requests, hourly[0].tokens_saved), (3, 30));
        assert_eq!((hourly[1].requests, hourly[1].tokens_saved), (1, 5));
        let daily = rollup(&points, Period::Daily);
        assert_eq!((daily.len(), daily[0].requests, daily[0].billed_input_direct), (1, 4, 20.0));
        assert_eq!(compact(&points, 2), vec![points[0], points[2]]);
    }
}
