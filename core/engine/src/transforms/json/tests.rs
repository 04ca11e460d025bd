use serde_json::{Map, Value, json};

use super::compress;
use crate::marker::Marker;
use crate::transforms::Ctx;
use crate::transforms::query::Query;

fn run(text: &str, lossy: bool, query: &str) -> Option<crate::transforms::Rewrite> {
    let query = Query::new(query);
    compress(text, &Ctx { query: &query, key: "h:test", lossy })
}

/// Parse the rewritten form back into the value it stands for (lossless outputs only).
fn decode(out: &str) -> Value {
    let lines: Vec<&str> = out.split('\n').collect();
    let first = lines.iter().position(|l| l.starts_with("[table")).unwrap_or(lines.len());
    let (skeleton, blocks) = lines.split_at(first);
    let mut tables = Vec::new();
    let mut i = 0;
    while i < blocks.len() {
        let end = (i + 1..blocks.len()).find(|&j| blocks[j].starts_with("[table")).unwrap_or(blocks.len());
        tables.push(decode_table(&blocks[i..end]));
        i = end;
    }
    if skeleton.is_empty() {
        return tables.swap_remove(0);
    }
    // Replace each `<table N>` outside JSON strings with the decoded table.
    let text = skeleton.join("\n");
    let (mut json, mut in_str, mut escaped, mut rest) = (String::new(), false, false, text.as_str());
    while let Some(c) = rest.chars().next() {
        if !in_str && rest.starts_with("<table ") {
            let close = rest.find('>').expect("closed reference");
            let id: usize = rest[7..close].parse().expect("table id");
            json.push_str(&tables[id - 1].to_string());
            rest = &rest[close + 1..];
            continue;
        }
        match (in_str, escaped, c) {
            (true, false, '\\') => escaped = true,
            (true, false, '"') | (false, _, '"') => in_str = !in_str,
            _ => escaped = false,
        }
        json.push(c);
        rest = &rest[c.len_utf8()..];
    }
    serde_json::from_str(&json).expect("skeleton is JSON once tables are substituted")
}

fn decode_table(block: &[&str]) -> Value {
    let header = block[0];
    let after = &header[header.find(": ").expect("count") + 2..];
    let count: usize = after.split(' ').next().and_then(|n| n.parse().ok()).expect("count");
    let constants = ["all identical: ", "same in all: "].iter().find_map(|tag| {
        let at = header.find(tag)? + tag.len();
        serde_json::Deserializer::from_str(&header[at..]).into_iter::<Map<String, Value>>().next()?.ok()
    });
    let constants = constants.unwrap_or_default();
    if block.len() == 1 {
        return Value::Array(vec![Value::Object(constants); count]);
    }
    let columns: Vec<String> = serde_json::from_str(block[1]).expect("column row");
    let rows: Vec<Value> = block[2..]
        .iter()
        .map(|row| {
            let mut record = Map::new();
            for (col, cell) in columns.iter().zip(cells(row)) {
                if !cell.is_empty() {
                    record.insert(col.clone(), serde_json::from_str(cell).expect("cell is JSON"));
                }
            }
            record.extend(constants.clone());
            Value::Object(record)
        })
        .collect();
    assert_eq!(rows.len(), count);
    Value::Array(rows)
}

/// The top-level cells of one row `[a,b,...]`, empty where a key is absent.
fn cells(row: &str) -> Vec<&str> {
    let inner = &row[1..row.len() - 1];
    let (mut out, mut start, mut depth, mut in_str, mut escaped) = (Vec::new(), 0, 0i32, false, false);
    for (i, c) in inner.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_str => escaped = true,
            '"' => in_str = !in_str,
            '[' | '{' if !in_str => depth += 1,
            ']' | '}' if !in_str => depth -= 1,
            ',' if !in_str && depth == 0 => {
                out.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&inner[start..]);
    out
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

fn lossless_round_trip(text: &str) -> String {
    let rw = run(text, false, "").expect("rewritten");
    assert!(!rw.lossy);
    assert!(Marker::find_all(&rw.text).is_empty());
    let original: Value = serde_json::from_str(text).expect("input is JSON");
    assert_eq!(decode(&rw.text), original, "{}", rw.text);
    rw.text
}

fn records(n: usize, f: impl Fn(usize) -> Value) -> String {
    Value::Array((0..n).map(f).collect()).to_string()
}

#[test]
fn nested_array_becomes_a_referenced_table() {
    // Cut from headroom-parity/smart_crusher/nested_object_with_array_b66d43299ea1.json.
    let text = "{\"request_id\": \"req-1\", \"events\": [{\"step\": 0, \"kind\": \"trace\", \"msg\": \"e0\"}, \
        {\"step\": 1, \"kind\": \"trace\", \"msg\": \"e1\"}, {\"step\": 2, \"kind\": \"trace\", \"msg\": \"e2\"}, \
        {\"step\": 3, \"kind\": \"trace\", \"msg\": \"e3\"}, {\"step\": 4, \"kind\": \"trace\", \"msg\": \"e4\"}, \
        {\"step\": 5, \"kind\": \"trace\", \"msg\": \"e5\"}]}";
    let out = lossless_round_trip(text);
    assert_eq!(
        out,
        "{\"request_id\":\"req-1\",\"events\":<table 1>}\n\
         [table 1 = .events: 6 records; same in all: {\"kind\":\"trace\"}]\n\
         [\"step\",\"msg\"]\n[0,\"e0\"]\n[1,\"e1\"]\n[2,\"e2\"]\n[3,\"e3\"]\n[4,\"e4\"]\n[5,\"e5\"]"
    );
}

#[test]
fn absent_keys_differ_from_null_and_numbers_keep_their_text() {
    let text = r#"[{"id":1,"v":1.0,"e":null},{"id":2,"v":1e3},{"id":3,"v":12345678901234567890123,"e":"x"},
        {"id":4,"v":-0.50,"e":null},{"id":5,"e":null},{"id":6,"v":2.50,"e":null}]"#;
    let out = lossless_round_trip(text);
    assert!(out.contains("empty cell = key absent"), "{out}");
    for n in ["1.0", "12345678901234567890123", "-0.50", "2.50"] {
        assert!(out.contains(n), "{n} in {out}");
    }
    // serde_json spells the exponent `e+3`: the same number, one byte more.
    assert!(out.contains("\n[2,1e+3,]\n") && out.contains("\n[5,,null]\n"), "{out}");
}

#[test]
fn key_order_of_records_is_kept() {
    let text = records(8, |i| json!({"z": i, "a": format!("n{i}"), "m": [i, i + 1]}));
    let out = lossless_round_trip(&text);
    let back = decode(&out);
    assert_eq!(back.to_string(), parse(&text).to_string());
}

#[test]
fn identical_records_collapse_to_the_header() {
    // Shape of headroom-parity/smart_crusher/duplicate_dicts_40_40a0670dec17.json.
    let text = records(40, |_| json!({"event": "heartbeat", "ok": true}));
    let out = lossless_round_trip(&text);
    assert_eq!(out, "[table: 40 records, all identical: {\"event\":\"heartbeat\",\"ok\":true}]");
}

#[test]
fn ndjson_is_a_table_of_its_lines() {
    let text: String =
        (0..6).map(|i| format!("{{\"ts\": {i}, \"level\": \"info\", \"msg\": \"tick {i}\"}}\n")).collect();
    let rw = run(&text, false, "").expect("rewritten");
    assert!(
        rw.text.starts_with("[table: 6 records, one per NDJSON line; same in all: {\"level\":\"info\"}]")
    );
    let lines: Vec<Value> = text.lines().map(parse).collect();
    assert_eq!(decode(&rw.text), Value::Array(lines));
}

#[test]
fn pretty_config_is_compacted_and_stays_json() {
    let value = json!({
        "server": {"host": "0.0.0.0", "port": 8080, "tls": {"enabled": true, "cert": "/etc/ssl/cert.pem"}},
        "features": ["a", "b", "c"],
        "limits": {"rps": 100.0, "burst": 20, "per_route": {"/v1/messages": 10, "/v1/chat/completions": 20,
            "/v1/responses": 30, "/v1/embeddings": 40}},
    });
    let text = serde_json::to_string_pretty(&value).expect("pretty");
    let rw = run(&text, false, "").expect("rewritten");
    assert_eq!(rw.transform, "json:compact");
    assert!(rw.text.len() < text.len() && rw.text.lines().count() > 1, "{}", rw.text);
    assert_eq!(parse(&rw.text), value);
}

#[test]
fn declines_what_it_cannot_improve() {
    assert!(run("this is not json at all", true, "").is_none());
    assert!(run("{\"a\":1,\"b\":2}", true, "").is_none());
    assert!(run("[1,2,3]", true, "").is_none());
    assert!(run("42", true, "").is_none());
}

/// Shape of headroom-parity/fidelity_golden_cases.json `latency_anomaly`, plus errors.
fn service_log(n: usize) -> String {
    records(n, |i| {
        let mut r = json!({"seq": i, "region": "us-west-2", "latency_ms": 95 + i % 7, "status": "ok",
            "msg": format!("GET /healthz 200 {i}; no error")});
        if i == 41 {
            r["region"] = json!("us-east-1");
            r["latency_ms"] = json!(99999);
        }
        if i == 57 {
            r["status"] = json!("error");
            r["msg"] = json!("POST /charge 500 NullPointerException at PaymentService.charge line 88");
        }
        if i == 63 {
            r["msg"] = json!("GET /users/alice-7731 200");
        }
        if i == 70 {
            r["trace_id"] = json!("abc123");
        }
        r
    })
}

#[test]
fn lossy_keeps_ends_anomalies_errors_rare_keys_and_query() {
    let text = service_log(100);
    let rw = run(&text, true, "curl /users/alice-7731").expect("rewritten");
    assert!(rw.lossy && rw.transform == "json:table+sample", "{}", rw.transform);
    let out = &rw.text;
    for kept in ["[0,", "[1,", "[2,", "[98,", "[99,", "99999", "NullPointerException", "alice-7731", "abc123"]
    {
        assert!(out.contains(kept), "{kept} missing in\n{out}");
    }
    // "no error" in free text pins nothing.
    assert!(!out.contains("[30,"), "{out}");
    let markers = Marker::find_all(out);
    let rows = out
        .lines()
        .filter(|l| l.starts_with('[') && !l.starts_with("[...") && !l.starts_with("[table"))
        .count();
    let dropped: usize = markers.iter().map(|m| m.count).sum();
    assert_eq!(rows - 1 + dropped, 100, "{out}");
    assert!(markers.iter().all(|m| m.key == "h:test" && m.ranges.len() == 1));
    // Every marker is a line of its own.
    assert_eq!(out.lines().filter(|l| l.starts_with("[... ")).count(), markers.len());
    assert_eq!(run(&text, true, "curl /users/alice-7731"), Some(rw.clone()), "deterministic");
    // Same input without lossy permission: every record stays.
    let full = run(&text, false, "").expect("rewritten");
    assert!(!full.lossy && Marker::find_all(&full.text).is_empty());
    assert_eq!(decode(&full.text), parse(&text));
}

#[test]
fn lossy_markers_sit_where_items_were_in_plain_arrays() {
    // Shape of headroom-parity/smart_crusher/number_array_40_changepoint_8cd416c24d53.json, longer.
    let values: Vec<u32> = (0..60).map(|i| 100 + i % 7).chain((0..60).map(|i| 400 + i % 5)).collect();
    let text = Value::from(values.clone()).to_string();
    let rw = run(&text, true, "").expect("rewritten");
    assert!(rw.lossy);
    let markers = Marker::find_all(&rw.text);
    let kept: Vec<&str> =
        rw.text.lines().filter(|l| !l.contains("[... ") && *l != "[" && *l != "]").collect();
    assert_eq!(kept.len() + markers.iter().map(|m| m.count).sum::<usize>(), values.len(), "{}", rw.text);
    // The change point 103 -> 400 survives on both sides.
    assert!(kept.contains(&"  103,") && kept.contains(&"  400,"), "{}", rw.text);
}

#[test]
fn lossy_keeps_items_reporting_errors_and_unique_values_of_a_field_the_question_names() {
    let text = records(80, |i| {
        let mut r = json!({"id": i, "check": format!("lint-{}", i % 3), "conclusion": "success",
            "log": format!("step {i} done: compiled {} files, 0 warnings, artifacts uploaded to s3://ci-bucket/run/{i}/out.tar", 400 + i * 7)});
        if i == 33 {
            r["log"] = json!("2024-05-01 12:00:00 ERROR [runner] step 33 could not reach the cache");
        }
        if i == 47 {
            r["conclusion"] = json!("cancelled");
        }
        r
    });
    let rw = run(&text, true, "gh run view --json conclusion").expect("rewritten");
    assert!(rw.lossy, "{}\n{}", rw.transform, rw.text);
    assert!(rw.text.contains("could not reach the cache"), "{}", rw.text);
    assert!(rw.text.contains("cancelled"), "{}", rw.text);
}
