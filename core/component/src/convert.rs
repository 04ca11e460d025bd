//! WIT <-> headroom-core conversions. Defaults live in headroom-core's `Options::default`.

use crate::exports::headroom::compress::compressor::{ContentOutcome, MessagesOutcome, RequestOutcome};
use crate::headroom::compress::types as wit;

pub fn options(o: wit::Options) -> headroom_core::Options {
    let d = headroom_core::Options::default();
    headroom_core::Options {
        mode: match o.mode {
            Some(wit::Mode::Token) => headroom_core::Mode::Token,
            Some(wit::Mode::Cache) => headroom_core::Mode::Cache,
            None => d.mode,
        },
        frozen_count: o.frozen_count.unwrap_or(d.frozen_count),
        min_tokens: o.min_tokens.unwrap_or(d.min_tokens),
        protected_tools: o.protected_tools.unwrap_or(d.protected_tools),
        query: o.query.or(d.query),
        offload_after_turns: o.offload_after_turns.unwrap_or(d.offload_after_turns),
        offload_batch_tokens: o.offload_batch_tokens.unwrap_or(d.offload_batch_tokens),
        lossy: o.lossy.unwrap_or(d.lossy),
        context_limit: o.context_limit.or(d.context_limit),
        context_strategy: match o.context_strategy {
            Some(wit::ContextStrategy::Scored) => headroom_core::ContextStrategy::Scored,
            Some(wit::ContextStrategy::Position) => headroom_core::ContextStrategy::Position,
            Some(wit::ContextStrategy::Rolling) => headroom_core::ContextStrategy::Rolling,
            Some(wit::ContextStrategy::Off) => headroom_core::ContextStrategy::Off,
            None => d.context_strategy,
        },
        compress_first: o.compress_first.unwrap_or(d.compress_first),
        code_aware: o.code_aware.unwrap_or(d.code_aware),
    }
}

pub fn dialect(d: wit::Dialect) -> headroom_core::Dialect {
    match d {
        wit::Dialect::AnthropicMessages => headroom_core::Dialect::AnthropicMessages,
        wit::Dialect::OpenaiChat => headroom_core::Dialect::OpenAiChat,
        wit::Dialect::OpenaiResponses => headroom_core::Dialect::OpenAiResponses,
    }
}

pub fn dialect_out(d: headroom_core::Dialect) -> wit::Dialect {
    match d {
        headroom_core::Dialect::AnthropicMessages => wit::Dialect::AnthropicMessages,
        headroom_core::Dialect::OpenAiChat => wit::Dialect::OpenaiChat,
        headroom_core::Dialect::OpenAiResponses => wit::Dialect::OpenaiResponses,
    }
}

pub fn kind_in(k: wit::ContentKind) -> headroom_core::ContentKind {
    use headroom_core::ContentKind as K;
    match k {
        wit::ContentKind::Json => K::Json,
        wit::ContentKind::Log => K::Log,
        wit::ContentKind::Search => K::Search,
        wit::ContentKind::Diff => K::Diff,
        wit::ContentKind::Code => K::Code,
        wit::ContentKind::StackTrace => K::StackTrace,
        wit::ContentKind::TestOutput => K::TestOutput,
        wit::ContentKind::Listing => K::Listing,
        wit::ContentKind::Prose => K::Prose,
        wit::ContentKind::Other(s) => K::Other(s),
    }
}

pub fn kind_out(k: headroom_core::ContentKind) -> wit::ContentKind {
    use headroom_core::ContentKind as K;
    match k {
        K::Json => wit::ContentKind::Json,
        K::Log => wit::ContentKind::Log,
        K::Search => wit::ContentKind::Search,
        K::Diff => wit::ContentKind::Diff,
        K::Code => wit::ContentKind::Code,
        K::StackTrace => wit::ContentKind::StackTrace,
        K::TestOutput => wit::ContentKind::TestOutput,
        K::Listing => wit::ContentKind::Listing,
        K::Prose => wit::ContentKind::Prose,
        K::Other(s) => wit::ContentKind::Other(s),
    }
}

fn reason(r: headroom_core::DeclineReason) -> wit::DeclineReason {
    use headroom_core::DeclineReason as R;
    match r {
        R::BelowThreshold => wit::DeclineReason::BelowThreshold,
        R::Protected => wit::DeclineReason::Protected,
        R::NoTransform => wit::DeclineReason::NoTransform,
        R::NotSmaller => wit::DeclineReason::NotSmaller,
    }
}

fn offload(o: headroom_core::Offload) -> wit::Offload {
    wit::Offload { key: o.key, original: o.original }
}

pub fn request_outcome(o: headroom_core::RequestOutcome) -> RequestOutcome {
    RequestOutcome {
        body: o.body,
        report: o.report.into_iter().map(block_report).collect(),
        offloads: o.offloads.into_iter().map(offload).collect(),
        context: o.context.map(context_report),
        model: o.model.map(|m| wit::ModelInfo { name: m.name, window: m.window }),
    }
}

pub fn messages_outcome(o: headroom_core::MessagesOutcome) -> MessagesOutcome {
    MessagesOutcome {
        dialect: dialect_out(o.dialect),
        messages: o.messages,
        tokens_before: o.tokens_before,
        tokens_after: o.tokens_after,
        report: o.report.into_iter().map(block_report).collect(),
        offloads: o.offloads.into_iter().map(offload).collect(),
        context: o.context.map(context_report),
    }
}

fn block_report(b: headroom_core::BlockReport) -> wit::BlockReport {
    wit::BlockReport {
        message_index: b.message_index,
        block_index: b.block_index,
        kind: kind_out(b.kind),
        status: match b.status {
            headroom_core::Status::Compressed(t) => wit::BlockStatus::Compressed(t),
            headroom_core::Status::Declined(r) => wit::BlockStatus::Declined(reason(r)),
        },
        tokens_before: b.tokens_before,
        tokens_after: b.tokens_after,
        origin: match b.origin {
            headroom_core::Origin::ToolOutput => wit::BlockOrigin::ToolOutput,
            headroom_core::Origin::UserText => wit::BlockOrigin::UserText,
            headroom_core::Origin::AssistantText => wit::BlockOrigin::AssistantText,
        },
    }
}

fn context_report(c: headroom_core::ContextReport) -> wit::ContextReport {
    wit::ContextReport {
        window: c.window,
        output_budget: c.output_budget,
        tokens_before: c.tokens_before,
        tokens_after: c.tokens_after,
        compressed_deeper: c.compressed_deeper,
        messages_dropped: c.messages_dropped,
        key: c.key,
    }
}

pub fn content_outcome(o: headroom_core::ContentOutcome) -> ContentOutcome {
    ContentOutcome {
        text: o.text,
        kind: kind_out(o.kind),
        transform: o.transform,
        tokens_before: o.tokens_before,
        tokens_after: o.tokens_after,
        offloads: o.offloads.into_iter().map(offload).collect(),
    }
}

pub fn error(e: headroom_core::CompressError) -> wit::CompressError {
    match e {
        headroom_core::CompressError::MalformedRequest(m) => wit::CompressError::MalformedRequest(m),
        headroom_core::CompressError::Internal(m) => wit::CompressError::Internal(m),
    }
}
