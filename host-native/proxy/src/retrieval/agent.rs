//! Whether a request's history holds tool or command output: the sign of an agent loop, in
//! which markers will come and the retrieval tool should arrive early.

use headroom_runtime::wit::{BlockOrigin, BlockReport};

/// True when a block the engine looked at (its report) is output a tool or a command
/// produced: a tool result, command output sent as user text (text a person typed is never
/// looked at), or a Responses `*_output` item; the assistant's own prose does not count.
pub fn holds_output(report: &[BlockReport]) -> bool {
    report.iter().any(|b| b.origin != BlockOrigin::AssistantText)
}
