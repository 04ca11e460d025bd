//! Budgets: spend per period (hourly, daily or monthly, on the clock of a time zone), over all
//! keys and per key scope, kept across restarts in a small JSON file written atomically (a
//! temporary file renamed over the old one: a crash leaves the old or the new file, never a
//! torn one). A request is admitted while the spend is under the budget; the one that crosses
//! it finishes (a stream is never cut) and the next is refused.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use super::clock::BudgetTz;

/// A budget period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// Clock hours.
    Hourly,
    /// Days.
    Daily,
    /// Calendar months.
    Monthly,
}

impl Period {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Hourly => "hourly",
            Self::Daily => "daily",
            Self::Monthly => "monthly",
        }
    }
}

/// What is kept on disk.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Ledger {
    period: Option<Period>,
    /// The clock of files written before named zones: its offset.
    #[serde(default)]
    tz_offset_s: i64,
    /// The clock's name (`UTC`, `+02:00`, `Europe/Berlin`).
    #[serde(default)]
    tz: String,
    period_start: u64,
    total_usd: f64,
    by_key: crate::FastMap<String, f64>,
    /// The previous period's total, for `/stats`.
    #[serde(default)]
    previous_total_usd: Option<f64>,
}

/// Which budget refused a request, and the figures its answer gives.
#[derive(Debug, Clone, PartialEq)]
pub struct Exhausted {
    /// `global` or `per_key`.
    pub which: &'static str,
    /// The period.
    pub period: Period,
    /// The budget, USD.
    pub limit: f64,
    /// Spent in this period, USD.
    pub spent: f64,
    /// When the period ends (Unix seconds).
    pub resets_at: u64,
    /// The same, on the budget's clock (`2026-03-30T00:00:00+02:00 (Europe/Berlin)`).
    pub resets_local: String,
}

/// Budgets and the spend they are measured against.
pub struct Budget {
    global: Option<f64>,
    per_key: Option<f64>,
    period: Period,
    tz: BudgetTz,
    path: Option<PathBuf>,
    ledger: Mutex<Ledger>,
    dirty: AtomicBool,
    /// Why the spend file could not be read at start (it was set aside).
    pub load_error: Option<String>,
}

impl Budget {
    /// Open the budget, reading the spend kept at `path` (a file of another period starts
    /// the new one at zero; an unreadable one is renamed `*.corrupt` and reported).
    pub fn open(
        global: Option<f64>,
        per_key: Option<f64>,
        period: Period,
        tz: BudgetTz,
        path: Option<PathBuf>,
        now: u64,
    ) -> Self {
        let (mut ledger, mut load_error) = (Ledger::default(), None);
        if let Some(p) = &path {
            match std::fs::read(p) {
                Ok(bytes) => match serde_json::from_slice::<Ledger>(&bytes) {
                    Ok(l) => ledger = l,
                    Err(e) => {
                        let aside = p.with_extension("json.corrupt");
                        let _ = std::fs::rename(p, &aside);
                        tracing::warn!(path = %p.display(), error = %e, "spend file unreadable, set aside");
                        load_error = Some(format!("{}: {e} (moved to {})", p.display(), aside.display()));
                    }
                },
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => load_error = Some(format!("{}: {e}", p.display())),
            }
        }
        if ledger.tz.is_empty() {
            // Written before zones had names: its clock was this fixed offset.
            let kept = i32::try_from(ledger.tz_offset_s).ok().and_then(|s| BudgetTz::fixed(s).ok());
            ledger.tz = kept.map(|k| k.name().to_owned()).unwrap_or_default();
        }
        if ledger.period != Some(period) || ledger.tz != tz.name() {
            // Another period or clock: the kept spend does not measure this budget.
            ledger = Ledger { period: Some(period), tz: tz.name().to_owned(), ..Ledger::default() };
        }
        let b = Self {
            global,
            per_key,
            period,
            tz,
            path,
            ledger: Mutex::new(ledger),
            dirty: AtomicBool::new(false),
            load_error,
        };
        b.roll(&mut b.lock(), now);
        b
    }

    /// Any budget configured.
    pub fn enabled(&self) -> bool {
        self.global.is_some() || self.per_key.is_some()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Start a new period when `now` is past the kept one.
    fn roll(&self, l: &mut Ledger, now: u64) {
        let (start, _) = self.tz.bounds(self.period, now);
        if l.period_start != start {
            l.previous_total_usd = (l.period_start > 0).then_some(l.total_usd);
            l.period_start = start;
            l.total_usd = 0.0;
            l.by_key.clear();
            self.dirty.store(true, Ordering::Relaxed);
        }
    }

    /// `Err` when a budget `scope` is under is spent.
    pub fn admit(&self, scope: &str, now: u64) -> Result<(), Exhausted> {
        self.admit_with(scope, now, None)
    }

    /// The start and end (Unix seconds) of the period holding `now`.
    pub fn bounds(&self, now: u64) -> (u64, u64) {
        self.tz.bounds(self.period, now)
    }

    /// [`admit`](Self::admit) against the spend of every replica (`shared`: over all keys
    /// and for `scope`, from the shared store) when known; this process's own spend counts
    /// too, should the shared figures have lost some (a restarted store).
    pub fn admit_with(&self, scope: &str, now: u64, shared: Option<(f64, f64)>) -> Result<(), Exhausted> {
        if !self.enabled() {
            return Ok(());
        }
        let mut l = self.lock();
        self.roll(&mut l, now);
        let (shared_total, shared_key) = shared.unwrap_or((0.0, 0.0));
        let total = l.total_usd.max(shared_total);
        let exhausted = |which, limit, spent| {
            let (_, resets_at) = self.tz.bounds(self.period, now);
            let resets_local = format!("{} ({})", self.tz.local(resets_at), self.tz.name());
            Exhausted { which, period: self.period, limit, spent, resets_at, resets_local }
        };
        if let Some(limit) = self.global
            && total >= limit
        {
            return Err(exhausted("global", limit, total));
        }
        if let Some(limit) = self.per_key {
            let spent = l.by_key.get(scope).copied().unwrap_or(0.0).max(shared_key);
            if spent >= limit {
                return Err(exhausted("per_key", limit, spent));
            }
        }
        Ok(())
    }

    /// Add a request's cost (kept whether or not a budget is set, for `/stats`).
    pub fn add(&self, scope: &str, usd: f64, now: u64) {
        if usd <= 0.0 {
            return;
        }
        let mut l = self.lock();
        self.roll(&mut l, now);
        l.total_usd += usd;
        // The key's name copied only the first time it spends in the period.
        match l.by_key.get_mut(scope) {
            Some(spent) => *spent += usd,
            None => {
                l.by_key.insert(scope.to_owned(), usd);
            }
        }
        self.dirty.store(true, Ordering::Relaxed);
    }

    /// Write the spend file when it changed (blocking file I/O: call it off the async workers).
    pub fn flush(&self) {
        let Some(path) = &self.path else { return };
        if !self.dirty.swap(false, Ordering::Relaxed) {
            return;
        }
        let bytes = match serde_json::to_vec(&*self.lock()) {
            Ok(b) => b,
            Err(_) => return,
        };
        if let Err(e) = write_atomically(path, &bytes) {
            self.dirty.store(true, Ordering::Relaxed);
            tracing::warn!(path = %path.display(), error = %e, "spend file not written");
        }
    }

    /// The `/stats` block: spend in this period, by key scope (hashed), against the budgets.
    pub fn json(&self, now: u64) -> serde_json::Value {
        let mut l = self.lock();
        self.roll(&mut l, now);
        let (start, end) = self.tz.bounds(self.period, now);
        let mut keys: Vec<(&String, &f64)> = l.by_key.iter().collect();
        keys.sort_by(|a, b| b.1.total_cmp(a.1));
        let by_key: serde_json::Map<String, serde_json::Value> =
            keys.into_iter().take(50).map(|(k, v)| (k.clone(), serde_json::json!(round6(*v)))).collect();
        serde_json::json!({
            "period": self.period.name(),
            "tz": self.tz.name(),
            "tz_offset_seconds": self.tz.offset_at(now),
            "period_start_local": self.tz.local(start),
            "resets_at_local": self.tz.local(end),
            "period_start": crate::stats::time::iso(start),
            "resets_at": crate::stats::time::iso(end),
            "spent_usd": round6(l.total_usd),
            "previous_period_spent_usd": l.previous_total_usd.map(round6),
            "budget_usd": self.global,
            "remaining_usd": self.global.map(|b| round6((b - l.total_usd).max(0.0))),
            "budget_per_key_usd": self.per_key,
            "keys": l.by_key.len(),
            "by_key_scope": by_key,
            "path": self.path.as_ref().map(|p| p.display().to_string()),
            "load_error": self.load_error,
        })
    }
}

/// `v` to a millionth of a dollar.
pub fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// Write `bytes` to a temporary file beside `path`, sync it, and rename it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension(format!("json.tmp.{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spend_refuses_after_the_line_and_survives_a_reopen() {
        let dir = std::env::temp_dir().join(format!("hr-budget-{}", std::process::id()));
        let path = dir.join(STATE);
        let _ = std::fs::remove_dir_all(&dir);
        let now = 1_796_435_058;
        let b = Budget::open(Some(1.0), Some(0.5), Period::Daily, BudgetTz::utc(), Some(path.clone()), now);
        assert!(b.admit("k1", now).is_ok());
        b.add("k1", 0.6, now);
        let e = b.admit("k1", now).expect_err("test error");
        assert_eq!((e.which, e.resets_at), ("per_key", 1_796_515_200));
        assert!(b.admit("k2", now).is_ok());
        b.add("k2", 0.45, now);
        assert_eq!(b.admit("k3", now).expect_err("test error").which, "global");
        b.flush();
        let again =
            Budget::open(Some(1.0), Some(0.5), Period::Daily, BudgetTz::utc(), Some(path.clone()), now + 10);
        assert_eq!(again.admit("k3", now + 10).expect_err("test error").which, "global");
        // The next day starts from zero.
        assert!(again.admit("k3", now + 86_400).is_ok());
        std::fs::write(&path, b"{torn").expect("test value");
        let corrupt = Budget::open(Some(1.0), None, Period::Daily, BudgetTz::utc(), Some(path), now);
        assert!(corrupt.load_error.is_some());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_named_zone_rolls_at_local_midnight_across_dst() {
        let berlin = BudgetTz::parse("Europe/Berlin").expect("zone");
        // 2026-03-29, the 23-hour day: it ends at 22:00Z.
        let (before, after) = (1_774_821_540, 1_774_821_600); // 21:59Z, 22:00Z
        let b = Budget::open(Some(0.5), None, Period::Daily, berlin.clone(), None, before);
        b.add("k", 1.0, before);
        let e = b.admit("k", before).expect_err("spent");
        assert_eq!(e.resets_at, after);
        assert_eq!(e.resets_local, "2026-03-30T00:00:00+02:00 (Europe/Berlin)");
        assert!(b.admit("k", after).is_ok(), "a new local day");
        assert_eq!(b.json(after)["previous_period_spent_usd"], 1.0);
        assert_eq!(b.json(after)["period_start_local"], "2026-03-30T00:00:00+02:00");
    }

    #[test]
    fn spend_kept_under_another_clock_is_not_carried_over() {
        let dir = std::env::temp_dir().join(format!("hr-budget-tz-{}", std::process::id()));
        let path = dir.join(STATE);
        let _ = std::fs::remove_dir_all(&dir);
        let now = 1_796_435_058;
        // A file written before zones had names (an offset only) keeps its spend under that offset.
        std::fs::create_dir_all(&dir).expect("dir");
        let old = serde_json::json!({"period": "daily", "tz_offset_s": 7200,
            "period_start": BudgetTz::fixed(7200).expect("fixed").bounds(Period::Daily, now).0,
            "total_usd": 2.0, "by_key": {}});
        std::fs::write(&path, old.to_string()).expect("write");
        let fixed = BudgetTz::parse("+02:00").expect("fixed");
        let kept = Budget::open(Some(1.0), None, Period::Daily, fixed, Some(path.clone()), now);
        assert!(kept.admit("k", now).is_err(), "the old file's spend counts");
        let berlin = BudgetTz::parse("Europe/Berlin").expect("zone");
        let other = Budget::open(Some(1.0), None, Period::Daily, berlin, Some(path), now);
        assert!(other.admit("k", now).is_ok(), "another clock starts from zero");
        let _ = std::fs::remove_dir_all(&dir);
    }

    const STATE: &str = "spend.json";
}
