//! OpenTelemetry metrics from the one instrument set: the `/metrics` registry's OpenMetrics
//! exposition is read back into families and re-encoded as OTLP (cumulative sums, gauges,
//! explicit-bucket histograms). Adding an instrument to `crate::metrics` adds it here.

use super::proto::{self, KeyValue, Value};

/// What kind of instrument a family is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Monotonic sum.
    Counter,
    /// Last value.
    Gauge,
    /// Explicit buckets.
    Histogram,
}

/// One labelled series of a family.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Series {
    /// Label pairs, as exposed.
    pub labels: Vec<(String, String)>,
    /// Counter or gauge value; a histogram's sum.
    pub value: f64,
    /// A histogram's cumulative buckets (upper bound, count), `+Inf` last.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buckets: Vec<(f64, u64)>,
    /// A histogram's count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// One instrument.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Family {
    /// The family name (`headroom_requests`).
    pub name: String,
    /// Its help text.
    pub description: String,
    /// UCUM unit (`s`), empty when dimensionless.
    pub unit: String,
    /// Instrument kind.
    pub kind: Kind,
    /// Its series.
    pub series: Vec<Series>,
}

/// The families of an OpenMetrics exposition (as `prometheus-client` writes it).
pub fn parse(text: &str) -> Vec<Family> {
    let mut out: Vec<Family> = Vec::new();
    let mut help = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = rest.split_once(' ').map_or("", |(_, h)| h).to_owned();
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or((rest, ""));
            let kind = match kind {
                "counter" => Kind::Counter,
                "gauge" => Kind::Gauge,
                "histogram" => Kind::Histogram,
                _ => continue,
            };
            out.push(Family {
                name: name.to_owned(),
                description: std::mem::take(&mut help),
                unit: String::new(),
                kind,
                series: Vec::new(),
            });
        } else if let Some(rest) = line.strip_prefix("# UNIT ") {
            if let (Some(f), Some((_, unit))) = (out.last_mut(), rest.split_once(' ')) {
                f.unit = ucum(unit).to_owned();
            }
        } else if !line.starts_with('#')
            && let Some(f) = out.last_mut()
            && let Some((sample, labels, value)) = sample(line)
        {
            add(f, sample, labels, value);
        }
    }
    out
}

fn ucum(unit: &str) -> &str {
    match unit {
        "seconds" => "s",
        "bytes" => "By",
        other => other,
    }
}

/// Label pairs of a sample.
type Labels = Vec<(String, String)>;

/// `name{labels} value` split; label values unescaped.
fn sample(line: &str) -> Option<(&str, Labels, f64)> {
    let (head, value) = line.rsplit_once(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    let Some((name, rest)) = head.split_once('{') else { return Some((head, Vec::new(), value)) };
    let body = rest.strip_suffix('}')?;
    let mut labels = Vec::new();
    let mut chars = body.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|&c| c != '=').collect();
        if key.is_empty() {
            break;
        }
        if chars.next() != Some('"') {
            return None;
        }
        let mut val = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => val.push('\n'),
                    Some(other) => val.push(other),
                    None => return None,
                },
                '"' => break,
                c => val.push(c),
            }
        }
        labels.push((key.trim_start_matches(',').to_owned(), val));
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    Some((name, labels, value))
}

fn add(f: &mut Family, sample: &str, mut labels: Labels, value: f64) {
    let suffix = sample.strip_prefix(f.name.as_str()).unwrap_or("");
    match (f.kind, suffix) {
        (Kind::Counter, "_total") | (Kind::Gauge, "") => {
            f.series.push(Series { labels, value, ..Series::default() });
        }
        (Kind::Histogram, "_bucket" | "_sum" | "_count") => {
            let le = labels.iter().position(|(k, _)| k == "le").map(|i| labels.remove(i).1);
            let i = match f.series.iter().position(|s| s.labels == labels) {
                Some(i) => i,
                None => {
                    f.series.push(Series { labels, count: Some(0), ..Series::default() });
                    f.series.len() - 1
                }
            };
            let s = &mut f.series[i];
            match (suffix, le) {
                ("_sum", _) => s.value = value,
                ("_count", _) => s.count = Some(value as u64),
                (_, Some(le)) => {
                    let bound =
                        if le == "+Inf" { f64::INFINITY } else { le.parse().unwrap_or(f64::INFINITY) };
                    s.buckets.push((bound, value as u64));
                }
                _ => {}
            }
        }
        _ => {}
    }
}

fn attributes(labels: &[(String, String)]) -> Vec<KeyValue> {
    labels.iter().map(|(k, v)| KeyValue::new(k.clone(), Value::String(v.clone()))).collect()
}

/// The families as one OTLP metrics export (cumulative since `start_ns`).
pub fn request(
    families: &[Family],
    resource: &proto::Resource,
    start_ns: u64,
    now_ns: u64,
) -> proto::ExportMetricsServiceRequest {
    let metrics = families
        .iter()
        .filter(|f| !f.series.is_empty())
        .map(|f| {
            let number = |s: &Series| proto::NumberDataPoint {
                attributes: attributes(&s.labels),
                start_time_unix_nano: start_ns,
                time_unix_nano: now_ns,
                value: Some(if s.value.fract() == 0.0 && s.value.abs() < 9.0e15 {
                    proto::Number::Int(s.value as i64)
                } else {
                    proto::Number::Double(s.value)
                }),
            };
            let data = match f.kind {
                Kind::Counter => proto::Data::Sum(proto::Sum {
                    data_points: f.series.iter().map(number).collect(),
                    aggregation_temporality: proto::CUMULATIVE,
                    is_monotonic: true,
                }),
                Kind::Gauge => {
                    proto::Data::Gauge(proto::Gauge { data_points: f.series.iter().map(number).collect() })
                }
                Kind::Histogram => proto::Data::Histogram(proto::Histogram {
                    data_points: f
                        .series
                        .iter()
                        .map(|s| {
                            // OpenMetrics buckets are cumulative; OTLP's are per bucket.
                            let mut prev = 0;
                            let bucket_counts = s
                                .buckets
                                .iter()
                                .map(|&(_, c)| {
                                    let n = c.saturating_sub(prev);
                                    prev = c;
                                    n
                                })
                                .collect();
                            proto::HistogramDataPoint {
                                attributes: attributes(&s.labels),
                                start_time_unix_nano: start_ns,
                                time_unix_nano: now_ns,
                                count: s.count.unwrap_or(prev),
                                sum: Some(s.value),
                                bucket_counts,
                                explicit_bounds: s
                                    .buckets
                                    .iter()
                                    .map(|&(b, _)| b)
                                    .filter(|b| b.is_finite())
                                    .collect(),
                            }
                        })
                        .collect(),
                    aggregation_temporality: proto::CUMULATIVE,
                }),
            };
            proto::Metric {
                name: f.name.clone(),
                description: f.description.clone(),
                unit: f.unit.clone(),
                data: Some(data),
            }
        })
        .collect();
    proto::ExportMetricsServiceRequest {
        resource_metrics: vec![proto::ResourceMetrics {
            resource: Some(resource.clone()),
            scope_metrics: vec![proto::ScopeMetrics { scope: Some(super::scope()), metrics }],
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_counters_gauges_and_histograms() {
        let text = "# HELP headroom_requests Requests.\n# TYPE headroom_requests counter\n\
            headroom_requests_total{provider=\"openai\",model=\"a\\\"b\",status=\"200\"} 3\n\
            # HELP headroom_lat Latency.\n# TYPE headroom_lat histogram\n# UNIT headroom_lat seconds\n\
            headroom_lat_sum{provider=\"openai\"} 0.5\nheadroom_lat_count{provider=\"openai\"} 2\n\
            headroom_lat_bucket{le=\"0.1\",provider=\"openai\"} 1\nheadroom_lat_bucket{le=\"+Inf\",provider=\"openai\"} 2\n\
            # HELP headroom_g G.\n# TYPE headroom_g gauge\nheadroom_g 7\n# EOF\n";
        let f = parse(text);
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].series[0].labels[1], ("model".into(), "a\"b".into()));
        assert_eq!(f[0].series[0].value, 3.0);
        assert_eq!(f[1].unit, "s");
        assert_eq!(f[1].series[0].buckets, vec![(0.1, 1), (f64::INFINITY, 2)]);
        assert_eq!(f[1].series[0].count, Some(2));
        assert_eq!(f[2].series[0].value, 7.0);
        let req = request(&f, &proto::Resource::default(), 1, 2);
        let m = &req.resource_metrics[0].scope_metrics[0].metrics;
        let Some(proto::Data::Histogram(h)) = &m[1].data else { panic!("{m:?}") };
        assert_eq!(h.data_points[0].bucket_counts, vec![1, 1]);
        assert_eq!(h.data_points[0].explicit_bounds, vec![0.1]);
    }
}
