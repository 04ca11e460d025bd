//! Spend-control flags of `headroom proxy`: prices, budgets and rate limits, with
//! `HEADROOM_*` environment twins. Bad values are rejected at start with a message naming the
//! flag.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::budget::Period;
use super::clock::BudgetTz;
use super::prices::{PriceFileError, Prices};

/// Command-line options.
#[derive(clap::Args, Debug, Clone)]
pub struct SpendArgs {
    /// A JSON price file that overrides or extends the embedded prices (format in
    /// `docs/spend.md`).
    #[arg(long, env = "HEADROOM_PRICES")]
    pub prices: Option<PathBuf>,
    /// Spend allowed per budget period, in USD, over all keys: past it requests get 429 until
    /// the period ends.
    #[arg(long, env = "HEADROOM_BUDGET", value_parser = parse_usd)]
    pub budget: Option<f64>,
    /// Spend allowed per budget period for each API key (its hashed scope), in USD.
    #[arg(long, env = "HEADROOM_BUDGET_PER_KEY", value_parser = parse_usd)]
    pub budget_per_key: Option<f64>,
    /// The budget period: hourly, daily or monthly.
    #[arg(long, env = "HEADROOM_BUDGET_PERIOD", default_value = "daily", value_parser = parse_period)]
    pub budget_period: Period,
    /// The clock budget periods follow: `UTC`, a fixed offset such as `+02:00`, or a time zone
    /// such as `Europe/Berlin` (daylight saving included; the tz database is built in).
    #[arg(long, env = "HEADROOM_BUDGET_TZ", default_value = "UTC", value_parser = BudgetTz::parse)]
    pub budget_tz: BudgetTz,
    /// Requests per minute allowed per API key (token bucket).
    #[arg(long, env = "HEADROOM_RPM", value_parser = clap::value_parser!(u32).range(1..))]
    pub rpm: Option<u32>,
    /// Input tokens per minute allowed per API key, counted on the body as sent upstream
    /// (after compression).
    #[arg(long, env = "HEADROOM_TPM", value_parser = clap::value_parser!(u64).range(1..))]
    pub tpm: Option<u64>,
    /// Turn off the rate limits set by `--rpm` / `--tpm` or their environment twins.
    #[arg(long, env = "HEADROOM_NO_RATE_LIMIT")]
    pub no_rate_limit: bool,
}

/// Resolved spend configuration.
#[derive(Debug, Clone)]
pub struct SpendConfig {
    /// The price table (embedded, plus the price file).
    pub prices: Arc<Prices>,
    /// The price file, when one was given.
    pub prices_file: Option<PathBuf>,
    /// Global budget per period, USD.
    pub budget: Option<f64>,
    /// Budget per key scope per period, USD.
    pub budget_per_key: Option<f64>,
    /// The budget period.
    pub period: Period,
    /// The budget's clock.
    pub tz: BudgetTz,
    /// Where spend is kept across restarts (`None`: memory only).
    pub state_path: Option<PathBuf>,
    /// Requests per minute per key.
    pub rpm: Option<u32>,
    /// Input tokens per minute per key.
    pub tpm: Option<u64>,
}

impl Default for SpendConfig {
    /// Embedded prices, no budget, no limits, nothing on disk.
    fn default() -> Self {
        Self {
            prices: Arc::new(Prices::embedded()),
            prices_file: None,
            budget: None,
            budget_per_key: None,
            period: Period::Daily,
            tz: BudgetTz::utc(),
            state_path: None,
            rpm: None,
            tpm: None,
        }
    }
}

/// The file spend is kept in, inside the workspace directory.
pub const STATE_FILE: &str = "proxy_spend.json";

impl SpendArgs {
    /// Resolve: load the price file (its errors name the line) and place the spend file.
    pub fn resolve(self, workspace_dir: Option<&Path>) -> Result<SpendConfig, PriceFileError> {
        let prices_file = self.prices.filter(|p| !p.as_os_str().is_empty());
        let prices = match &prices_file {
            Some(path) => Prices::with_file(path)?,
            None => Prices::embedded(),
        };
        let state_path = workspace_dir
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".headroom")))
            .map(|d| d.join(STATE_FILE));
        let limits = !self.no_rate_limit;
        Ok(SpendConfig {
            prices: Arc::new(prices),
            prices_file,
            budget: self.budget,
            budget_per_key: self.budget_per_key,
            period: self.budget_period,
            tz: self.budget_tz,
            state_path,
            rpm: self.rpm.filter(|_| limits),
            tpm: self.tpm.filter(|_| limits),
        })
    }
}

fn parse_usd(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .trim_start_matches('$')
        .parse()
        .map_err(|_| format!("`{s}` is not an amount in USD (e.g. 5 or 12.50)"))?;
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("a budget must be a positive amount in USD, got `{s}`"))
    }
}

fn parse_period(s: &str) -> Result<Period, String> {
    match s.to_ascii_lowercase().as_str() {
        "hourly" => Ok(Period::Hourly),
        "daily" => Ok(Period::Daily),
        "monthly" => Ok(Period::Monthly),
        _ => Err(format!("unknown budget period `{s}` (expected hourly, daily or monthly)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_are_checked() {
        assert_eq!(parse_usd("$5"), Ok(5.0));
        assert!(parse_usd("0").is_err());
        assert!(parse_usd("-1").is_err());
        assert!(parse_usd("abc").is_err());
        assert!(parse_usd("NaN").is_err());
        assert!(parse_period("weekly").expect_err("test error").contains("hourly, daily or monthly"));
    }
}
