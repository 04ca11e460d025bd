//! What the proxy reads of a request body besides compressing it, read once when the body
//! arrives: its conversation (the ledger's session, the engine memory's key), its message
//! count, its hashes (the response cache's key, the bill's prefixes) and what it allows the
//! retrieval tool. The rules are the engine's
//! ([`headroom_core::request::facts`], called natively: the conversation is needed before the
//! engine runs); the body is validated once here and every later read of it only skips.

use bytes::Bytes;
use headroom_core::request::facts::{Hashes, Read, Survey};
use headroom_runtime::wit;

use crate::ccr::Tenant;
use crate::ledger::Session;
use crate::read_memos::ReadMemos;

/// Validate `body` and view it; `None` when it is not a JSON object.
pub fn read(dialect: wit::Dialect, body: &[u8]) -> Option<Read<'_>> {
    Read::validated(crate::dialect::to_core(dialect), std::str::from_utf8(body).ok()?)
}

/// View a body validated before (the client's, once [`Facts::valid`], or one the engine
/// wrote from it). Never on bytes that were not validated: the views only skip.
pub fn read_validated_before(dialect: wit::Dialect, body: &[u8]) -> Option<Read<'_>> {
    Read::trusted(crate::dialect::to_core(dialect), std::str::from_utf8(body).ok()?)
}

/// What the proxy needs of a request, owned (the body moves on after it is read).
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// The conversation and how many messages (Responses: input items) the request holds;
    /// `None` for a body that is not a JSON object with a message list.
    pub session: Option<(Session, u32)>,
    /// What the request allows the retrieval tool (nothing for an unreadable body).
    pub survey: Survey,
    /// The body was validated as a JSON object.
    pub valid: bool,
    /// The model it names (client text, capped).
    pub model: Option<String>,
    /// Its prefixes and the whole request hashed as sent (`cache_control` aside): the
    /// response cache's key and the bill's comparison with the conversation's last request.
    pub hashes: Hashes,
}

impl Facts {
    /// The facts of a read body (`None`: not a JSON object).
    pub fn of(tenant: &Tenant, read: Option<&Read<'_>>) -> Self {
        let Some(read) = read else { return Self::default() };
        Self::with_hashes(tenant, read, read.hashes())
    }

    fn with_hashes(tenant: &Tenant, read: &Read<'_>, hashes: Hashes) -> Self {
        Self {
            session: crate::ledger::session_in(tenant, read),
            survey: read.survey(),
            valid: true,
            model: read.root().str("model").map(|m| crate::accounting::cap_model(&m)),
            hashes,
        }
    }

    /// [`Facts::read`] for a turn: the body is validated and hashed only past the messages it
    /// shares with its conversation's previous body (see [`crate::read_memos`]), and is kept
    /// for the conversation's next.
    pub fn read_remembering(tenant: &Tenant, dialect: wit::Dialect, body: &Bytes, memos: &ReadMemos) -> Self {
        let dialect = crate::dialect::to_core(dialect);
        let Ok(text) = std::str::from_utf8(body) else { return Self::default() };
        let best = memos.best(tenant, dialect, body);
        let previous = best.as_ref().map(|(memo, _)| memo.as_ref());
        let shared = best.as_ref().map(|(memo, shared)| (memo.as_ref(), *shared));
        let Some((read, shared)) = Read::after(dialect, text, shared, false) else {
            return Self::default();
        };
        let (hashes, memo) = read.hashes_after(body.clone(), previous, shared);
        if read.messages().is_some_and(|n| n > 0) {
            memos.keep(tenant, memo, best.as_ref().map(|(memo, _)| memo));
        }
        Self::with_hashes(tenant, &read, hashes)
    }

    /// Read `body` and take its facts.
    pub fn read(tenant: &Tenant, dialect: wit::Dialect, body: &[u8]) -> Self {
        Self::of(tenant, read(dialect, body).as_ref())
    }
}
