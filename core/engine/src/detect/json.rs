//! JSON documents and NDJSON streams.

use super::Sample;
use serde::de::IgnoredAny;

/// A whole document that parses, or a stream whose sampled lines are mostly JSON objects.
pub(super) fn is_json(text: &str, sample: &Sample) -> bool {
    let body = text.trim();
    if !(body.starts_with('{') || body.starts_with('[')) {
        return false;
    }
    // Parsing fails at the first bad byte, so a non-JSON text costs little here.
    if serde_json::from_str::<IgnoredAny>(body).is_ok() {
        return true;
    }
    let objects = sample.count(|l| {
        let l = l.trim();
        l.starts_with('{') && l.ends_with('}') && serde_json::from_str::<IgnoredAny>(l).is_ok()
    });
    objects >= 2 && sample.share(objects, 0.8)
}
