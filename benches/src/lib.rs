//! Shared pieces of the benchmark drivers: loading the agent trajectories and the Claude Code
//! sessions, and building provider requests from them.

pub mod billing;
pub mod claude_sessions;
pub mod fidelity;
pub mod machine;
pub mod results_file;
pub mod trajectory;
