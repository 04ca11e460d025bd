//! Shared pieces of the benchmark drivers: loading the agent trajectories and building
//! provider requests from them.

pub mod billing;
pub mod fidelity;
pub mod trajectory;
