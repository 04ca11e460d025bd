//! Hoisting, collapsing, and (when allowed) eliding the middle behind a marker.

use headroom_plugin_sdk::{Context, Marker, Unit, ranges_of};

use crate::parse::Table;

/// Rows kept at each end when the middle is elided.
const HEAD: usize = 8;
const TAIL: usize = 4;
/// Tables with more rows than this (after collapsing) are cut when lossy steps are allowed.
const LONG: usize = 30;
/// Words that make a row an error row (kept whatever happens).
const ERROR_WORDS: &[&str] = &["error", "fail", "exception", "fatal", "panic", "timeout", "nan", "invalid"];

/// One output row: its fields and the original lines it stands for.
struct Row<'a> {
    fields: Vec<&'a str>,
    first: usize,
    last: usize,
}

/// The rewrite of `text` (parsed as `table`): `(text, summary, lossy)`, or `None` when nothing
/// applies.
pub fn compress(
    text: &str,
    table: &Table<'_>,
    key: &str,
    context: &Context,
) -> Option<(String, String, bool)> {
    let sep = table.delimiter.to_string();
    let n = table.header.len();
    // Constant columns: one value in every row (never all columns: a table stays a table).
    let constant: Vec<usize> =
        (0..n).filter(|&c| table.rows.iter().all(|(_, r)| r[c] == table.rows[0].1[c])).collect();
    let constant = if constant.len() == n { Vec::new() } else { constant };
    let keep: Vec<usize> = (0..n).filter(|c| !constant.contains(c)).collect();
    // Runs of identical rows (after hoisting) collapse into one.
    let mut rows: Vec<Row<'_>> = Vec::new();
    for (line, r) in &table.rows {
        let fields: Vec<&str> = keep.iter().map(|&c| r[c]).collect();
        match rows.last_mut() {
            Some(last) if last.fields == fields => last.last = *line,
            _ => rows.push(Row { fields, first: *line, last: *line }),
        }
    }
    let collapsed = rows.iter().any(|r| r.last > r.first);
    if constant.is_empty() && !collapsed && !(context.lossy && rows.len() > LONG) {
        return None;
    }
    let mut steps = Vec::new();
    let mut out = String::with_capacity(text.len() / 2);
    if !constant.is_empty() {
        let pairs: Vec<String> =
            constant.iter().map(|&c| format!("{}={}", table.header[c], table.rows[0].1[c])).collect();
        out.push_str("# constant: ");
        out.push_str(&pairs.join(", "));
        out.push('\n');
        steps.push("hoist");
    }
    let mut header: Vec<&str> = keep.iter().map(|&c| table.header[c]).collect();
    if collapsed {
        header.push("_repeat");
        steps.push("collapse");
    }
    out.push_str(&header.join(&sep));
    out.push('\n');
    let render = |out: &mut String, r: &Row<'_>| {
        out.push_str(&r.fields.join(&sep));
        if collapsed {
            out.push_str(&sep);
            out.push_str(&(r.last - r.first + 1).to_string());
        }
        out.push('\n');
    };
    let lossy = context.lossy && rows.len() > LONG;
    if lossy {
        let kept = kept_rows(&rows, &header, context.query.as_deref());
        let mut dropped_lines = Vec::new();
        let mut marker_at = None;
        for (i, r) in rows.iter().enumerate() {
            if kept[i] {
                render(&mut out, r);
            } else {
                marker_at.get_or_insert(out.len());
                dropped_lines.extend(r.first..=r.last);
            }
        }
        if let Some(at) = marker_at {
            let note = summary(&rows, &kept, &header);
            let mut marker = Marker::new(Unit::Lines, ranges_of(dropped_lines), key);
            if !note.is_empty() {
                marker = marker.with_note(&note);
            }
            out.insert_str(at, &format!("{}\n", marker.render()));
            steps.push("elide");
        }
    } else {
        for r in &rows {
            render(&mut out, r);
        }
    }
    if !table.trailing_newline {
        out.pop();
    }
    (out.len() < text.len())
        .then(|| (out, format!("csv-table:{}", steps.join("+")), steps.contains(&"elide")))
}

/// Which rows survive eliding: both ends, error rows, numeric outliers, query matches.
fn kept_rows(rows: &[Row<'_>], header: &[&str], query: Option<&str>) -> Vec<bool> {
    let terms: Vec<String> = query
        .unwrap_or_default()
        .split(|c: char| !c.is_alphanumeric() && c != '_' && c != '-' && c != '.')
        .filter(|t| t.len() >= 3)
        .map(str::to_lowercase)
        .collect();
    let stats: Vec<Option<(f64, f64)>> = (0..header.len().min(rows.first().map_or(0, |r| r.fields.len())))
        .map(|c| mean_sd(rows.iter().map(|r| r.fields[c])))
        .collect();
    rows.iter()
        .enumerate()
        .map(|(i, r)| {
            if i < HEAD || i + TAIL >= rows.len() {
                return true;
            }
            let lower = r.fields.join(" ").to_lowercase();
            if ERROR_WORDS.iter().any(|w| lower.contains(w))
                || terms.iter().any(|t| lower.contains(t.as_str()))
            {
                return true;
            }
            r.fields.iter().zip(&stats).any(|(f, s)| match (s, number(f)) {
                (Some((mean, sd)), Some(x)) => *sd > 0.0 && (x - mean).abs() > 3.0 * sd,
                _ => false,
            })
        })
        .collect()
}

/// `col: min..max mean m` for each numeric column over the elided rows.
fn summary(rows: &[Row<'_>], kept: &[bool], header: &[&str]) -> String {
    let mut parts = Vec::new();
    for (c, name) in header.iter().enumerate().take(rows.first().map_or(0, |r| r.fields.len())) {
        let values: Vec<f64> =
            rows.iter().zip(kept).filter(|(_, k)| !**k).filter_map(|(r, _)| number(r.fields[c])).collect();
        let dropped = kept.iter().filter(|k| !**k).count();
        if values.is_empty() || values.len() < dropped {
            continue;
        }
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        parts.push(format!("{name}: {}..{} mean {}", short(min), short(max), short(mean)));
    }
    parts.join("; ")
}

fn number(field: &str) -> Option<f64> {
    field.trim().trim_matches('"').parse::<f64>().ok().filter(|x| x.is_finite())
}

fn mean_sd<'a>(fields: impl Iterator<Item = &'a str>) -> Option<(f64, f64)> {
    let mut values = Vec::new();
    for f in fields {
        values.push(number(f)?);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    Some((mean, var.sqrt()))
}

fn short(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 { format!("{x:.0}") } else { format!("{x:.3}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::table;

    const KEY: &str = "h:0123456789abcdef01234567";

    fn run(text: &str, lossy: bool, query: Option<&str>) -> Option<(String, String, bool)> {
        let t = table(text).expect("a table");
        compress(text, &t, KEY, &Context { query: query.map(str::to_owned), lossy })
    }

    #[test]
    fn constant_columns_are_hoisted_and_runs_collapsed() {
        let text = "host,region,status,ms\nweb1,eu,ok,12\nweb1,eu,ok,12\nweb1,eu,ok,12\nweb2,eu,ok,15\n";
        let (out, summary, lossy) = run(text, false, None).expect("rewritten");
        assert_eq!(out, "# constant: region=eu, status=ok\nhost,ms,_repeat\nweb1,12,3\nweb2,15,1\n");
        assert_eq!(summary, "csv-table:hoist+collapse");
        assert!(!lossy);
    }

    #[test]
    fn long_tables_keep_ends_errors_outliers_and_query_rows_behind_an_exact_marker() {
        let mut text = String::from("id\tstatus\tms\n");
        for i in 1..=100 {
            let (status, ms) = match i {
                40 => ("error", 20),
                60 => ("ok", 5000),
                _ => ("ok", 20 + i % 7),
            };
            text.push_str(&format!("job-{i}\t{status}\t{ms}\n"));
        }
        text.push_str("job-77x\tok\t21\n");
        let (out, summary, lossy) = run(&text, true, Some("why did job-77x fail")).expect("rewritten");
        assert!(lossy && summary.ends_with("elide"), "{summary}");
        for kept in ["job-1\t", "job-8\t", "job-40\terror", "job-60\tok\t5000", "job-77x", "job-100\t"] {
            assert!(out.contains(kept), "{kept} missing:\n{out}");
        }
        let markers = Marker::find_all(&out);
        assert_eq!(markers.len(), 1);
        assert_eq!(markers[0].key, KEY);
        // Original lines: header is line 1, job-i on line i+1.
        assert!(markers[0].ranges.contains(&(10, 40)), "{:?}", markers[0].ranges);
        assert!(markers[0].note.as_deref().unwrap_or_default().contains("ms: "), "{:?}", markers[0].note);
        assert!(out.len() < text.len() / 3);
        // Lossless when lossy steps are not allowed: everything is still there.
        let (full, _, lossy) = run(&text, false, None).unwrap_or((text.clone(), String::new(), false));
        assert!(!lossy);
        assert_eq!(full.lines().count(), text.lines().count());
    }

    #[test]
    fn nothing_to_do_declines() {
        assert!(run("a,b\n1,2\n3,4\n5,6\n", true, None).is_none());
    }
}
