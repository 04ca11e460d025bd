//! Usage added up over the rounds of one client request. Every round is billed, so the client
//! must be told the sum (in JSON and in streams), or its own accounting (a context meter, a
//! cost display, auto-compaction) undercounts what the proxy spent on its behalf.
//!
//! Usage objects of all three dialects are trees of counts (`input_tokens`,
//! `cache_creation.ephemeral_1h_input_tokens`, `prompt_tokens_details.cached_tokens`,
//! `output_tokens_details.reasoning_tokens`, ...), so one rule serves them all: integer leaves
//! are summed, anything else (`service_tier`, `null`) is taken from the newer round.

use serde_json::{Map, Value};

/// Add `round` into `total`.
pub fn add(total: &mut Value, round: &Value) {
    match (total, round) {
        (Value::Object(t), Value::Object(r)) => {
            for (key, value) in r {
                match t.get_mut(key) {
                    Some(slot) => add(slot, value),
                    None => {
                        t.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (t @ Value::Number(_), Value::Number(r)) => {
            if let (Some(a), Some(b)) = (t.as_u64(), r.as_u64()) {
                *t = (a + b).into();
            } else {
                *t = Value::Number(r.clone());
            }
        }
        (t, r) if !r.is_null() => *t = r.clone(),
        _ => {}
    }
}

/// `a` and `b` added up.
pub fn sum(a: &Value, b: &Value) -> Value {
    let mut total = a.clone();
    if total.is_null() {
        total = Value::Object(Map::new());
    }
    add(&mut total, b);
    total
}

/// Overwrite `round` with the fields of `later`: an Anthropic `message_delta` repeats the
/// message's counts so far (cumulative, not increments).
pub fn overlay(round: &mut Value, later: &Value) {
    let Some(later) = later.as_object() else { return };
    if !round.is_object() {
        *round = Value::Object(Map::new());
    }
    if let Some(fields) = round.as_object_mut() {
        for (key, value) in later {
            if !value.is_null() {
                fields.insert(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_are_summed_at_every_depth_and_labels_kept() {
        let mut total = json!({"input_tokens": 10, "cache_creation": {"ephemeral_1h_input_tokens": 4},
            "service_tier": "standard", "output_tokens_details": null});
        add(
            &mut total,
            &json!({"input_tokens": 5, "cache_read_input_tokens": 7,
            "cache_creation": {"ephemeral_1h_input_tokens": 6, "ephemeral_5m_input_tokens": 1},
            "service_tier": "priority", "output_tokens_details": {"reasoning_tokens": 2}}),
        );
        assert_eq!(
            total,
            json!({"input_tokens": 15, "cache_read_input_tokens": 7,
                "cache_creation": {"ephemeral_1h_input_tokens": 10, "ephemeral_5m_input_tokens": 1},
                "service_tier": "priority", "output_tokens_details": {"reasoning_tokens": 2}})
        );
        assert_eq!(sum(&Value::Null, &json!({"a": 1})), json!({"a": 1}));
        let mut round = json!({"input_tokens": 10, "output_tokens": 1});
        overlay(&mut round, &json!({"output_tokens": 9, "input_tokens": null}));
        assert_eq!(round, json!({"input_tokens": 10, "output_tokens": 9}));
    }
}
