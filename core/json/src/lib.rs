//! One JSON scanner for provider request bodies, shared by the engine and the native proxy
//! so both read a body by the same rules.
//!
//! serde_json re-validates every nested value it hands out as a `RawValue`, so reading a
//! message's blocks walked the same bytes once per nesting level, and the proxy's own reads
//! (its session key, its retrieval survey) walked them again. Here a body is validated once
//! with serde_json's grammar, and every view after that only skips bytes.

pub mod scan;
mod views;

pub use views::{
    Object, Raw, RestOfArray, array, as_str, each_field, is_str, parse, rest_of_top_level_array, root, span,
    trusted_root,
};
