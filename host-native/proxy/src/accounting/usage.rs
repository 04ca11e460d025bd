//! The provider's reported usage, read into one shape whatever the API. Anthropic reports
//! uncached input, cache reads and cache writes apart (writes split by TTL when the request
//! asked for a 1-hour cache); OpenAI reports all input in `prompt_tokens` / `input_tokens`, of
//! which `cached_tokens` were read from its automatic cache (OpenAI bills no cache writes).

use serde_json::Value;

/// Input and output tokens one request was billed for, as the provider reported them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Usage {
    /// Input billed at the full rate.
    pub uncached_input: u64,
    /// Input read from the provider's prompt cache.
    pub cache_read: u64,
    /// Input written to the cache with the 5-minute TTL.
    pub cache_write_5m: u64,
    /// Input written to the cache with the 1-hour TTL.
    pub cache_write_1h: u64,
    /// Output tokens (reasoning included).
    pub output: u64,
    /// Of `output`, reasoning or thinking tokens, when reported apart.
    pub reasoning: u64,
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

impl Usage {
    /// Read a `usage` object of any of the three APIs (`None` when it holds no counts).
    pub fn from_value(usage: &Value) -> Option<Self> {
        let u = usage.as_object()?;
        if u.contains_key("prompt_tokens")
            || u.contains_key("input_tokens_details")
            || u.contains_key("total_tokens")
        {
            // OpenAI Chat (`prompt_tokens`) or Responses (`input_tokens`): cached is a part of input.
            let input = n(&usage["prompt_tokens"]).max(n(&usage["input_tokens"]));
            let cached = n(&usage["prompt_tokens_details"]["cached_tokens"])
                .max(n(&usage["input_tokens_details"]["cached_tokens"]));
            let output = n(&usage["completion_tokens"]).max(n(&usage["output_tokens"]));
            let reasoning = n(&usage["completion_tokens_details"]["reasoning_tokens"])
                .max(n(&usage["output_tokens_details"]["reasoning_tokens"]));
            return Some(Self {
                uncached_input: input.saturating_sub(cached),
                cache_read: cached,
                output,
                reasoning,
                ..Self::default()
            });
        }
        if !u.contains_key("input_tokens") && !u.contains_key("output_tokens") {
            return None;
        }
        // Anthropic: the three input counts are disjoint; `cache_creation` splits the writes by
        // TTL (absent on older responses: then every write was a 5-minute one).
        let writes = n(&usage["cache_creation_input_tokens"]);
        let split = &usage["cache_creation"];
        let (w5, w1h) = if split.is_object() {
            let w1h = n(&split["ephemeral_1h_input_tokens"]);
            (n(&split["ephemeral_5m_input_tokens"]).max(writes.saturating_sub(w1h)), w1h)
        } else {
            (writes, 0)
        };
        Some(Self {
            uncached_input: n(&usage["input_tokens"]),
            cache_read: n(&usage["cache_read_input_tokens"]),
            cache_write_5m: w5,
            cache_write_1h: w1h,
            output: n(&usage["output_tokens"]),
            reasoning: 0,
        })
    }

    /// Every input token, however billed.
    pub fn input_total(&self) -> u64 {
        self.uncached_input + self.cache_read + self.cache_write_5m + self.cache_write_1h
    }

    /// Cache writes of both TTLs.
    pub fn cache_write(&self) -> u64 {
        self.cache_write_5m + self.cache_write_1h
    }

    /// Add `other` in.
    pub fn add(&mut self, other: &Self) {
        self.uncached_input += other.uncached_input;
        self.cache_read += other.cache_read;
        self.cache_write_5m += other.cache_write_5m;
        self.cache_write_1h += other.cache_write_1h;
        self.output += other.output;
        self.reasoning += other.reasoning;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_all_three_apis_cache_fields_included() {
        let a = json!({"input_tokens": 10, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 1000,
            "cache_creation": {"ephemeral_5m_input_tokens": 40, "ephemeral_1h_input_tokens": 60}, "output_tokens": 3});
        let a = Usage::from_value(&a).unwrap();
        assert_eq!(
            (a.uncached_input, a.cache_read, a.cache_write_5m, a.cache_write_1h, a.output),
            (10, 1000, 40, 60, 3)
        );
        assert_eq!(a.input_total(), 1110);
        let old = Usage::from_value(
            &json!({"input_tokens": 5, "cache_creation_input_tokens": 7, "output_tokens": 1}),
        )
        .unwrap();
        assert_eq!((old.cache_write_5m, old.cache_write_1h), (7, 0));
        let chat = json!({"prompt_tokens": 10, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 1}});
        let c = Usage::from_value(&chat).unwrap();
        assert_eq!((c.uncached_input, c.cache_read, c.output, c.reasoning), (6, 4, 3, 1));
        let resp = json!({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 4}, "output_tokens": 3,
            "output_tokens_details": {"reasoning_tokens": 2}});
        let r = Usage::from_value(&resp).unwrap();
        assert_eq!((r.uncached_input, r.cache_read, r.output, r.reasoning), (6, 4, 3, 2));
        assert!(Usage::from_value(&json!({"foo": 1})).is_none());
        assert!(Usage::from_value(&Value::Null).is_none());
    }
}
