//! One trace per request for Langfuse (OTLP spans): the request, its compression with one
//! child per transform, and the upstream exchange. Token counts and timings are attributes;
//! content never is (spans are built from [`Exported`] only).

use super::proto::{self, KeyValue, Value};
use super::safe::Exported;

fn id(request_id: &str, what: &str, len: usize) -> Vec<u8> {
    let mut h = blake3::Hasher::new();
    h.update(request_id.as_bytes());
    h.update(b"\0");
    h.update(what.as_bytes());
    h.finalize().as_bytes()[..len].to_vec()
}

fn s(key: &str, v: &str) -> KeyValue {
    KeyValue::new(key, Value::String(v.to_owned()))
}

fn i(key: &str, v: u64) -> KeyValue {
    KeyValue::new(key, Value::Int(i64::try_from(v).unwrap_or(i64::MAX)))
}

fn b(key: &str, v: bool) -> KeyValue {
    KeyValue::new(key, Value::Bool(v))
}

/// The spans of one request: `headroom.request` (root), `headroom.compression` with a
/// `headroom.transform` child per transform (each transform's engine time is its share of
/// the engine call, see `Compression::from_report`), and `headroom.upstream`.
pub fn spans(e: &Exported) -> Vec<proto::Span> {
    let rid = e.request_id.as_str();
    let trace_id = id(rid, "trace", 16);
    let root_id = id(rid, "request", 8);
    let end = e.start_ns + e.latency_ns;
    let prepared = e.start_ns + e.overhead_ns;
    let saved = e.tokens_before.saturating_sub(e.tokens_after);
    let mut root_attrs = vec![
        s("langfuse.trace.name", &format!("headroom {}", e.route)),
        s("headroom.request_id", rid),
        s("gen_ai.system", e.provider),
        s("gen_ai.request.model", e.model.as_str()),
        s("http.route", e.route),
        i("http.response.status_code", u64::from(e.status)),
        b("headroom.streaming", e.streaming),
        b("headroom.bypass", e.bypass),
        i("headroom.tokens_before", e.tokens_before),
        i("headroom.tokens_after", e.tokens_after),
        i("headroom.tokens_saved", saved),
        i("headroom.retrieval_rounds", u64::from(e.retrieval_rounds)),
    ];
    if let Some(session) = &e.session {
        root_attrs.push(s("langfuse.session.id", session.as_str()));
    }
    if let Some(sdk) = &e.sdk {
        root_attrs.push(s("headroom.sdk", sdk.as_str()));
    }
    if let Some(n) = e.input_tokens {
        root_attrs.push(i("gen_ai.usage.input_tokens", n));
    }
    if let Some(n) = e.output_tokens {
        root_attrs.push(i("gen_ai.usage.output_tokens", n));
    }
    if let Some(n) = e.cache_read_tokens {
        root_attrs.push(i("gen_ai.usage.cache_read_input_tokens", n));
    }
    if let Some(kind) = e.error_kind {
        root_attrs.push(s("error.type", kind));
    }
    let status = |failed: bool, why: &str| {
        Some(if failed {
            proto::Status { message: why.to_owned(), code: proto::STATUS_ERROR }
        } else {
            proto::Status { message: String::new(), code: proto::STATUS_OK }
        })
    };
    let span =
        |name: &str, span_id: Vec<u8>, parent: Vec<u8>, kind: i32, start: u64, stop: u64| proto::Span {
            trace_id: trace_id.clone(),
            span_id,
            parent_span_id: parent,
            name: name.to_owned(),
            kind,
            start_time_unix_nano: start,
            end_time_unix_nano: stop.max(start),
            attributes: Vec::new(),
            status: None,
        };
    let mut root =
        span("headroom.request", root_id.clone(), Vec::new(), proto::SPAN_KIND_SERVER, e.start_ns, end);
    root.attributes = root_attrs;
    root.status = status(e.error_kind.is_some(), e.error_kind.unwrap_or(""));
    let mut out = vec![root];
    if e.compression_ns > 0 || e.compression_failed {
        let comp_id = id(rid, "compression", 8);
        let comp_start = prepared.saturating_sub(e.compression_ns).max(e.start_ns);
        let mut comp = span(
            "headroom.compression",
            comp_id.clone(),
            root_id.clone(),
            proto::SPAN_KIND_INTERNAL,
            comp_start,
            comp_start + e.compression_ns,
        );
        comp.attributes = vec![
            i("headroom.tokens_before", e.tokens_before),
            i("headroom.tokens_after", e.tokens_after),
            i("headroom.tokens_saved", saved),
            b("headroom.compression_failed", e.compression_failed),
        ];
        comp.status = status(e.compression_failed, "compression failed; the original was forwarded");
        out.push(comp);
        let mut at = comp_start;
        for (n, t) in e.transforms.iter().enumerate() {
            let mut ts = span(
                &format!("headroom.transform {}", t.name.as_str()),
                id(rid, &format!("transform{n}"), 8),
                comp_id.clone(),
                proto::SPAN_KIND_INTERNAL,
                at,
                at + t.nanos,
            );
            at += t.nanos;
            ts.attributes = vec![
                s("headroom.transform", t.name.as_str()),
                i("headroom.blocks", u64::from(t.blocks)),
                i("headroom.tokens_before", t.tokens_before),
                i("headroom.tokens_after", t.tokens_after),
                i("headroom.tokens_saved", t.tokens_before.saturating_sub(t.tokens_after)),
                b("headroom.duration_estimated", true),
            ];
            out.push(ts);
        }
    }
    let mut up =
        span("headroom.upstream", id(rid, "upstream", 8), root_id, proto::SPAN_KIND_CLIENT, prepared, end);
    up.attributes = vec![
        s("gen_ai.system", e.provider),
        s("gen_ai.request.model", e.model.as_str()),
        i("http.response.status_code", u64::from(e.status)),
    ];
    if let Some(t) = e.ttfb_ns {
        up.attributes.push(KeyValue::new("headroom.ttfb_ms", Value::Double(t as f64 / 1e6)));
    }
    out.push(up);
    out
}

/// Requests' spans as one OTLP traces export.
pub fn request(batch: &[Exported], resource: &proto::Resource) -> proto::ExportTraceServiceRequest {
    proto::ExportTraceServiceRequest {
        resource_spans: vec![proto::ResourceSpans {
            resource: Some(resource.clone()),
            scope_spans: vec![proto::ScopeSpans {
                scope: Some(super::scope()),
                spans: batch.iter().flat_map(spans).collect(),
            }],
        }],
    }
}
