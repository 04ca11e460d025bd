//! `GET /stats` and `GET /stats-history`. Every query parameter is checked: an unknown name or
//! value gets a 400 saying what is accepted.

use std::sync::Arc;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::errors::ProxyError;
use crate::state::AppState;
use crate::stats::history::{self, Checkpoint};
use crate::stats::time::{Period, iso};

/// Query parameters as name/value pairs, each name allowed once and known.
fn params(query: Option<&str>, allowed: &[&str]) -> Result<Vec<(String, String)>, ProxyError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if !allowed.contains(&k) {
            return Err(ProxyError::BadRequest(format!(
                "unknown query parameter `{}`; accepted: {}",
                k.chars().take(40).collect::<String>(),
                allowed.join(", ")
            )));
        }
        if out.iter().any(|(seen, _)| seen == k) {
            return Err(ProxyError::BadRequest(format!("query parameter `{k}` given more than once")));
        }
        out.push((k.to_owned(), v.to_owned()));
    }
    Ok(out)
}

fn one_of<'a>(name: &str, value: &str, choices: &[&'a str]) -> Result<&'a str, ProxyError> {
    choices.iter().copied().find(|c| *c == value).ok_or_else(|| {
        ProxyError::BadRequest(format!(
            "`{name}` must be one of {}; got `{}`",
            choices.join(", "),
            value.chars().take(40).collect::<String>()
        ))
    })
}

/// `GET /stats[?sessions=N]`.
pub async fn stats(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Response {
    let mut sessions = 20usize;
    match params(query.as_deref(), &["sessions"]) {
        Ok(ps) => {
            for (_, v) in ps {
                match v.parse::<usize>() {
                    Ok(n) if n <= 500 => sessions = n,
                    _ => {
                        return ProxyError::BadRequest(format!(
                            "`sessions` must be an integer from 0 to 500; got `{}`",
                            v.chars().take(40).collect::<String>()
                        ))
                        .into_response();
                    }
                }
            }
        }
        Err(e) => return e.into_response(),
    }
    state.accounting.settle();
    let mut v = state.stats.snapshot(sessions);
    v["telemetry"] = state.telemetry.status();
    v["request_log"] = match &state.request_log {
        Some(log) => {
            json!({"enabled": true, "path": log.path().display().to_string(), "dropped": log.dropped()})
        }
        None => json!({"enabled": false, "error": state.request_log_error}),
    };
    v["originals_stored"] = json!(state.ccr.len());
    v["spend"] = state.spend.json();
    v["response_cache"] = state.cache.json();
    if state.shared.enabled() {
        v["cluster"] = crate::shared::savings::cluster(&state.shared).await;
    }
    Json(v).into_response()
}

/// Stored checkpoints plus the current totals as a last, unstored point.
fn points(state: &AppState) -> (Vec<Checkpoint>, usize) {
    state.accounting.settle();
    let mut points = state.stats.history.checkpoints();
    let stored = points.len();
    let lifetime = state.stats.history.lifetime();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let current = Checkpoint(
        now,
        lifetime.requests,
        lifetime.tokens_saved,
        lifetime.tokens_before,
        lifetime.billed_input,
        lifetime.billed_input_direct,
    );
    if points.last().is_none_or(|p| p.1 != current.1) {
        points.push(current);
    }
    (points, stored)
}

/// `GET /stats-history[?history_mode=compact|full][&format=json|csv][&series=...]`.
pub async fn history(State(state): State<Arc<AppState>>, RawQuery(query): RawQuery) -> Response {
    let ps = match params(query.as_deref(), &["history_mode", "format", "series"]) {
        Ok(ps) => ps,
        Err(e) => return e.into_response(),
    };
    let (mut mode, mut format, mut series) = ("compact", "json", None);
    for (k, v) in &ps {
        let checked = match k.as_str() {
            "history_mode" => one_of(k, v, &["compact", "full"]).map(|c| mode = c),
            "format" => one_of(k, v, &["json", "csv"]).map(|c| format = c),
            _ => one_of(k, v, &["history", "hourly", "daily", "weekly", "monthly"]).map(|c| series = Some(c)),
        };
        if let Err(e) = checked {
            return e.into_response();
        }
    }
    let (all, stored) = points(&state);
    let shown = if mode == "full" { all.clone() } else { history::compact(&all, history::COMPACT_POINTS) };
    if format == "csv" {
        let series = series.unwrap_or("history");
        return csv(series, &all, &shown);
    }
    let rollups: serde_json::Map<String, Value> = Period::ALL
        .iter()
        .filter(|p| series.is_none_or(|s| s == p.name()))
        .map(|p| {
            (p.name().to_owned(), Value::Array(history::rollup(&all, *p).iter().map(|b| b.json()).collect()))
        })
        .collect();
    let lifetime = state.stats.history.lifetime();
    let mut v = json!({
        "generated_at": iso(all.last().map_or(0, |p| p.0)),
        "lifetime": lifetime,
        "summary": format!("billed input tokens {:.0} vs {:.0} without Headroom", lifetime.billed_input, lifetime.billed_input_direct),
        "history_mode": mode,
        "history_summary": {
            "stored_points": stored,
            "available_points": all.len(),
            "returned_points": shown.len(),
            "oldest": all.first().map(|p| iso(p.0)),
            "newest": all.last().map(|p| iso(p.0)),
            "retention": {"max_points": history::MAX_CHECKPOINTS, "max_age_days": history::MAX_AGE_SECS / 86_400},
        },
        "storage": {
            "path": state.stats.history.path().map(|p| p.display().to_string()),
            "persisted": state.stats.history.path().is_some(),
        },
    });
    if series.is_none_or(|s| s == "history") {
        v["history"] = Value::Array(shown.iter().map(Checkpoint::json).collect());
    }
    v["series"] = Value::Object(rollups);
    Json(v).into_response()
}

fn csv(series: &str, all: &[Checkpoint], shown: &[Checkpoint]) -> Response {
    let mut out = String::new();
    if series == "history" {
        out.push_str("timestamp,requests,tokens_saved,tokens_before,billed_input,billed_input_direct\n");
        for p in shown {
            out.push_str(&format!("{},{},{},{},{:.2},{:.2}\n", iso(p.0), p.1, p.2, p.3, p.4, p.5));
        }
    } else {
        let period = Period::ALL.into_iter().find(|p| p.name() == series).unwrap_or(Period::Hourly);
        out.push_str("period_start,requests,tokens_saved,tokens_before,billed_input,billed_input_direct\n");
        for b in history::rollup(all, period) {
            out.push_str(&format!(
                "{},{},{},{},{:.2},{:.2}\n",
                iso(b.start),
                b.requests,
                b.tokens_saved,
                b.tokens_before,
                b.billed_input,
                b.billed_input_direct
            ));
        }
    }
    let disposition = format!("attachment; filename=\"headroom-{series}.csv\"");
    (
        [
            (http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (http::header::CONTENT_DISPOSITION, disposition),
        ],
        out,
    )
        .into_response()
}
