//! Which items of a big array survive a lossy step: the ends, anomalies, errors, rare values
//! and keys, and whatever the query mentions.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::transforms::lines::MIN_ELIDED_RUN;
use crate::transforms::query::Query;

/// Arrays up to this many items are never sampled: dropping from them rarely pays.
pub(super) const LOSSY_MIN_ITEMS: usize = 30;
const HEAD: usize = 3;
const TAIL: usize = 2;
/// Numeric fields need this many values before a spread means anything.
const MIN_NUMERIC: usize = 8;

/// One step of rendering a kept/dropped mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seg {
    /// Show item `i` (0-based).
    Item(usize),
    /// Items `a..=b` (0-based) are replaced by one marker.
    Elided(usize, usize),
}

/// Turn a keep mask into items and elided runs. A run is elided only if it has at least
/// [`MIN_ELIDED_RUN`] items and `pays(a, b)` says its items cost more than a marker.
pub(super) fn plan(keep: &[bool], pays: impl Fn(usize, usize) -> bool) -> Vec<Seg> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < keep.len() {
        if keep[i] {
            out.push(Seg::Item(i));
            i += 1;
            continue;
        }
        let start = i;
        while i < keep.len() && !keep[i] {
            i += 1;
        }
        if i - start < MIN_ELIDED_RUN || !pays(start, i - 1) {
            out.extend((start..i).map(Seg::Item));
        } else {
            out.push(Seg::Elided(start, i - 1));
        }
    }
    out
}

/// What we know about one field across the array.
#[derive(Default)]
struct Field {
    present: usize,
    /// Compact JSON of each value -> how many items carry it.
    values: BTreeMap<String, usize>,
    /// (item index, value) for numeric values, in item order.
    numbers: Vec<(usize, f64)>,
    /// Items whose value is not empty (null, false, "", [] or {} count as empty).
    non_empty: usize,
}

/// The fields of an item: an object's entries, or the item itself under the name "".
fn fields(item: &Value) -> Vec<(&str, &Value)> {
    match item {
        Value::Object(map) => map.iter().map(|(k, v)| (k.as_str(), v)).collect(),
        other => vec![("", other)],
    }
}

/// Which items to keep when `items` is sampled (all of them when it is not big enough).
pub(super) fn keep_mask(items: &[Value], query: &Query) -> Vec<bool> {
    let n = items.len();
    if n <= LOSSY_MIN_ITEMS {
        return vec![true; n];
    }
    let mut keep: Vec<bool> = (0..n).map(|i| i < HEAD || i + TAIL >= n).collect();
    let mut stats: BTreeMap<&str, Field> = BTreeMap::new();
    let mut rendered: Vec<Vec<(&str, &Value, String)>> = Vec::with_capacity(n);
    for (i, item) in items.iter().enumerate() {
        let mut row = Vec::new();
        for (name, v) in fields(item) {
            let f = stats.entry(name).or_default();
            let text = v.to_string();
            f.present += 1;
            *f.values.entry(text.clone()).or_default() += 1;
            if let Some(x) = v.as_f64().filter(|x| x.is_finite()) {
                f.numbers.push((i, x));
            }
            f.non_empty += usize::from(!is_empty(v));
            row.push((name, v, text));
        }
        rendered.push(row);
    }
    for (i, item) in items.iter().enumerate() {
        let pinned = rendered[i].iter().any(|&(name, v, ref text)| {
            let f = &stats[name];
            let count = f.values[text];
            let low_cardinality = (2..=(n / 10).max(3)).contains(&f.values.len());
            (f.present < n && f.present * 10 <= n)
                || (low_cardinality && count * 20 <= n)
                || (is_status(name) && ((is_errorish(name, v) && count * 2 <= n) || count * 10 <= n))
                || (is_error_field(name) && !is_empty(v) && f.non_empty * 2 <= n)
        });
        // Values only: a field the question names is in every record's keys.
        let values: String =
            rendered[i].iter().map(|(_, _, text)| text.as_str()).collect::<Vec<_>>().join(" ");
        if pinned || query.mentions(&values) || reports_an_error(item) {
            keep[i] = true;
        }
    }
    // A field the question names: the items whose value there is unique are what it asks
    // about (the one failed check, the odd status).
    let terms = query.terms();
    for (name, f) in &stats {
        let lower = name.to_lowercase();
        if name.len() < 3 || !terms.contains(&lower) {
            continue;
        }
        for (i, row) in rendered.iter().enumerate() {
            if row.iter().any(|(field, _, text)| field == name && f.values[text] == 1) && f.values.len() > 1 {
                keep[i] = true;
            }
        }
    }
    for f in stats.values() {
        for i in numeric_anomalies(&f.numbers) {
            keep[i] = true;
        }
    }
    keep
}

/// True when a string anywhere in `v` holds a line the error test accepts: an error log
/// event, a failed check's message. Error lines survive every lossy step.
fn reports_an_error(v: &Value) -> bool {
    match v {
        Value::String(s) => s.lines().any(crate::transforms::errors::is_error_line),
        Value::Array(a) => a.iter().any(reports_an_error),
        Value::Object(m) => m.values().any(reports_an_error),
        _ => false,
    }
}

/// Items whose value lies far outside the field's spread (3 sigma, or 3 IQR beyond the
/// quartiles), and both sides of a jump far larger than the usual step (a change point).
fn numeric_anomalies(numbers: &[(usize, f64)]) -> Vec<usize> {
    if numbers.len() < MIN_NUMERIC {
        return Vec::new();
    }
    let xs: Vec<f64> = numbers.iter().map(|(_, x)| *x).collect();
    let (mean, sd) = mean_sd(&xs);
    let mut sorted = xs.clone();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
    let (q1, q3) = (q(0.25), q(0.75));
    let iqr = q3 - q1;
    let sigma_out = |x: f64| sd > 0.0 && (x - mean).abs() > 3.0 * sd;
    let iqr_out = |x: f64| iqr > 0.0 && (x < q1 - 3.0 * iqr || x > q3 + 3.0 * iqr);
    let mut out: Vec<usize> =
        numbers.iter().filter(|(_, x)| sigma_out(*x) || iqr_out(*x)).map(|(i, _)| *i).collect();
    if out.len() * 10 > numbers.len() {
        // A heavy tail, not a few anomalies: keep only the extreme ones.
        out = numbers.iter().filter(|(_, x)| sigma_out(*x)).map(|(i, _)| *i).collect();
        if out.len() * 10 > numbers.len() {
            out.clear();
        }
    }
    let steps: Vec<f64> = numbers.windows(2).map(|w| w[1].1 - w[0].1).collect();
    let (step_mean, step_sd) = mean_sd(&steps);
    let jumps: Vec<usize> =
        (0..steps.len()).filter(|&j| step_sd > 0.0 && (steps[j] - step_mean).abs() > 3.0 * step_sd).collect();
    if jumps.len() * 10 <= steps.len() {
        for j in jumps {
            out.extend([numbers[j].0, numbers[j + 1].0]);
        }
    }
    out
}

fn mean_sd(xs: &[f64]) -> (f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Fields whose value says how something went (not free text).
fn is_status(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    const EXACT: &[&str] = &[
        "status",
        "state",
        "level",
        "severity",
        "result",
        "outcome",
        "code",
        "conclusion",
        "health",
        "ok",
        "success",
        "passed",
        "exitcode",
        "returncode",
        "statuscode",
        "loglevel",
    ];
    const SUFFIX: &[&str] = &["_status", "_state", "_level", "_code", "_result", "status", "_severity"];
    EXACT.contains(&n.as_str()) || SUFFIX.iter().any(|s| n.ends_with(s))
}

/// A status-like value that reports a failure.
fn is_errorish(name: &str, v: &Value) -> bool {
    const WORDS: &[&str] = &[
        "error",
        "err",
        "fail",
        "failed",
        "failure",
        "fatal",
        "critical",
        "crit",
        "panic",
        "exception",
        "warn",
        "warning",
        "timeout",
        "timedout",
        "cancelled",
        "canceled",
        "aborted",
        "rejected",
        "denied",
        "unhealthy",
        "down",
        "crashed",
        "killed",
        "emerg",
        "alert",
    ];
    let name = name.to_ascii_lowercase();
    match v {
        Value::String(s) => {
            let s = s.to_ascii_lowercase();
            WORDS.contains(&s.as_str())
                || s.contains("error")
                || s.contains("fail")
                || s.contains("exception")
        }
        Value::Number(num) => {
            let x = num.as_f64().unwrap_or(0.0);
            if name.contains("exit") || name.contains("return") {
                x != 0.0
            } else {
                (400.0..600.0).contains(&x)
            }
        }
        Value::Bool(b) => !b && matches!(name.as_str(), "ok" | "success" | "passed"),
        _ => false,
    }
}

/// Fields that carry an error when something went wrong and are empty otherwise.
fn is_error_field(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(n.as_str(), "error" | "errors" | "err" | "exception" | "failure" | "fault")
        || n.starts_with("error_")
        || n.ends_with("_error")
}
