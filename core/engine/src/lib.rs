//! Headroom's compression engine.

pub mod detect;
pub mod kind;
pub mod marker;
pub mod offload;
pub mod tokens;
pub mod transforms;
