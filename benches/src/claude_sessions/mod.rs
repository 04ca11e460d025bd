//! Real Claude Code sessions (`../shared/corpus/claude-code-sessions`) replayed through the
//! engine request by request: tokens, the bill under prompt caching at the sessions' real TTLs
//! and cold points, prefix kept, next-step fidelity, error lines, and savings by tool.

pub mod bill;
pub mod case;
pub mod refs;
pub mod replay;
pub mod report;
pub mod tally;
pub mod text;
pub mod tools;
