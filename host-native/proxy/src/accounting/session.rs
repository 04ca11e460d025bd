//! Per-conversation cache state, for the bill's counterfactual and for cache breaks.
//!
//! The counterfactual of a request is the client's original request under the same cache:
//! when the client's history is unchanged since its last request in the session (the same
//! preamble and the same leading messages, `cache_control` markers aside) and the cache is
//! still warm (within the TTL its writes asked for), the original would have read the whole
//! previous original request from the cache and written the rest; otherwise it starts cold.
//! A provider that let the cache go (no reads, although the proxy changed nothing the
//! provider had seen) would have done the same to the original. Sizes are the provider's own
//! counts plus the tokens compression removed (o200k: the closest count the proxy has).
//!
//! A cache break the proxy caused: the client's history was unchanged and warm, and what the
//! proxy forwarded was not (a batch offload, the retrieval tool first offered, a failed
//! compression forwarding originals after compressed turns).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use headroom_core::request::facts::Read;
use headroom_runtime::wit::Dialect;

use super::bill::{Bill, Weights};
use super::{Draft, Usage};
use crate::ccr::Tenant;
use crate::ledger;
use crate::provider::Provider;
use crate::read_memos::ReadMemos;

/// Conversations remembered at most (the oldest are forgotten first).
const MAX_SESSIONS: usize = 16_384;

#[derive(Clone)]
struct State {
    /// The session's id ([`ledger::Session::id`], a hash: made once per session).
    id: String,
    items: usize,
    original: [u8; 32],
    forwarded: [u8; 32],
    original_total: u64,
    last: Instant,
    ttl_1h: bool,
    caches: bool,
}

/// What the session state says about one request.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The session's id.
    pub session: Option<String>,
    /// The request's bill.
    pub bill: Bill,
    /// A cache break: `proxy` or `provider`.
    pub cache_break: Option<&'static str>,
}

/// The per-session state.
pub struct Sessions {
    map: Mutex<crate::FastMap<ledger::Session, State>>,
    /// The last forwarded body of each recent conversation: its next forwarded body is hashed
    /// only past the messages the two share.
    forwarded: ReadMemos,
}

impl Default for Sessions {
    fn default() -> Self {
        Self::new(0)
    }
}

/// Hashes of the forwarded body's prefixes (`[0]` covers the preamble, `[i]` the preamble and
/// the first `i` messages or input items); `None` without a message list. The body is the
/// engine's output (or the retrieval tool's splice) from a client body validated when it
/// arrived, so it is only skipped; one that was not validated is read in full. The messages it
/// shares with the conversation's previous forwarded body keep their hashes (`memos`).
fn prefix_hashes(
    dialect: Dialect,
    body: &Bytes,
    validated_before: bool,
    tenant: &Tenant,
    memos: &ReadMemos,
) -> Option<Vec<[u8; 32]>> {
    let dialect = crate::dialect::to_core(dialect);
    let text = std::str::from_utf8(body).ok()?;
    let best = memos.best(tenant, dialect, body);
    let previous = best.as_ref().map(|(memo, _)| memo.as_ref());
    let (read, shared) = Read::after(
        dialect,
        text,
        best.as_ref().map(|(memo, shared)| (memo.as_ref(), *shared)),
        validated_before,
    )?;
    let (hashes, memo) = read.hashes_after(body.clone(), previous, shared);
    if read.messages().is_some_and(|n| n > 0) {
        memos.keep(tenant, memo, best.as_ref().map(|(memo, _)| memo));
    }
    Some(hashes.prefixes).filter(|h| !h.is_empty())
}

impl Sessions {
    /// Keeping at most `budget` bytes of forwarded bodies (0: none).
    pub fn new(budget: usize) -> Self {
        Self { map: Mutex::default(), forwarded: ReadMemos::new(budget) }
    }

    /// Account one answered request of `draft`'s session.
    pub fn observe(&self, draft: &Draft, model: &str, usage: &Usage, now: Instant) -> Outcome {
        let weights = Weights::of(draft.provider, model);
        let saved = draft.compression.saved();
        let original_total = usage.input_total() + saved;
        let original = Some(&draft.prefixes).filter(|p| draft.session.is_some() && !p.is_empty());
        let forwarded = match &draft.forwarded {
            Some(f) if original.is_some() && f != &draft.original => {
                prefix_hashes(draft.dialect, f, draft.valid, &draft.tenant, &self.forwarded)
            }
            _ => original.cloned(),
        };
        let openai = draft.provider == Provider::OpenAi;
        let mut caches = openai || usage.cache_read + usage.cache_write() > 0;
        let mut ttl_1h = usage.cache_write_1h > 0;
        let (mut warm, mut provider_cold, mut proxy_break, mut previous_total) = (false, false, false, 0);
        let mut session = None;
        let mut map = self.map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let (Some(s), Some(o), Some(f)) = (&draft.session, &original, &forwarded) {
            let next = |id: String, ttl_1h: bool, caches: bool| State {
                id,
                items: o.len() - 1,
                original: o[o.len() - 1],
                forwarded: f[f.len() - 1],
                original_total,
                last: now,
                ttl_1h,
                caches,
            };
            if let Some(prev) = map.get_mut(s) {
                caches |= prev.caches;
                ttl_1h |= prev.ttl_1h && usage.cache_write_5m == 0;
                let ttl = Duration::from_secs(if ttl_1h || prev.ttl_1h { 3600 } else { 300 });
                let client_same = o.get(prev.items) == Some(&prev.original);
                let forwarded_same = f.get(prev.items) == Some(&prev.forwarded);
                let within = now.saturating_duration_since(prev.last) < ttl;
                warm = client_same && within && caches;
                provider_cold = warm && forwarded_same && usage.cache_read == 0;
                proxy_break = warm && !forwarded_same;
                previous_total = prev.original_total;
                session = Some(prev.id.clone());
                *prev = next(std::mem::take(&mut prev.id), ttl_1h, caches);
            } else {
                if map.len() >= MAX_SESSIONS {
                    let cutoff = now.checked_sub(Duration::from_secs(3600));
                    map.retain(|_, s| cutoff.is_some_and(|c| s.last > c));
                    if map.len() >= MAX_SESSIONS {
                        map.clear();
                    }
                }
                let id = s.id();
                session = Some(id.clone());
                map.insert(s.clone(), next(id, ttl_1h, caches));
            }
        }
        drop(map);
        let session = session.or_else(|| draft.session.as_ref().map(ledger::Session::id));
        let direct = counterfactual(
            usage,
            original_total,
            caches,
            openai,
            ttl_1h,
            warm && !provider_cold,
            previous_total,
        );
        let bill = Bill {
            actual: *usage,
            direct,
            billed: weights.billed(usage),
            billed_direct: weights.billed(&direct),
        };
        let cache_break = if proxy_break {
            Some("proxy")
        } else if provider_cold {
            Some("provider")
        } else {
            None
        };
        Outcome { session, bill, cache_break }
    }
}

/// The original request's input counts under the same cache.
fn counterfactual(
    usage: &Usage,
    total: u64,
    caches: bool,
    openai: bool,
    ttl_1h: bool,
    warm: bool,
    previous_total: u64,
) -> Usage {
    let mut direct = Usage { output: usage.output, reasoning: usage.reasoning, ..Usage::default() };
    if !caches {
        direct.uncached_input = total;
        return direct;
    }
    direct.cache_read = if warm { previous_total.min(total) } else { 0 };
    let rest = total - direct.cache_read;
    if openai {
        direct.uncached_input = rest;
        return direct;
    }
    // Anthropic: after the last breakpoint input is uncached (the client's shape, kept as it was).
    direct.uncached_input = usage.uncached_input.min(rest);
    let writes = rest - direct.uncached_input;
    let share_1h = if usage.cache_write() > 0 {
        usage.cache_write_1h as f64 / usage.cache_write() as f64
    } else if ttl_1h {
        1.0
    } else {
        0.0
    };
    direct.cache_write_1h = (writes as f64 * share_1h).round() as u64;
    direct.cache_write_5m = writes - direct.cache_write_1h;
    direct
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counterfactual_adds_the_saved_tokens_where_the_original_would_have_paid() {
        let u =
            Usage { uncached_input: 5, cache_read: 900, cache_write_1h: 100, output: 7, ..Usage::default() };
        // Warm: the original reads its whole previous request (1200) and writes the rest.
        let d = counterfactual(&u, 1005 + 300, true, false, true, true, 1200);
        assert_eq!((d.cache_read, d.uncached_input, d.cache_write_1h, d.cache_write_5m), (1200, 5, 100, 0));
        // Cold: everything written.
        let d = counterfactual(&u, 1305, true, false, true, false, 1200);
        assert_eq!((d.cache_read, d.cache_write_1h), (0, 1300));
        // No caching client: all uncached.
        assert_eq!(counterfactual(&u, 1305, false, false, false, true, 1200).uncached_input, 1305);
        // OpenAI: no writes.
        let d = counterfactual(&u, 1305, true, true, false, true, 1000);
        assert_eq!((d.cache_read, d.uncached_input), (1000, 305));
    }

    fn draft(original: &str, forwarded: &str, saved: u64) -> Draft {
        let tenant = crate::ccr::Tenant::of(&http::HeaderMap::new());
        let mut d = Draft::new(
            Provider::Anthropic,
            Dialect::AnthropicMessages,
            Instant::now(),
            tenant,
            original.to_owned().into(),
        );
        let compression = super::super::Compression { tokens_before: saved, ..Default::default() };
        d.read(&crate::facts::Facts::read(&d.tenant, Dialect::AnthropicMessages, original.as_bytes()));
        d.prepared(&forwarded.to_owned().into(), compression);
        d
    }

    fn body(messages: &[&str]) -> String {
        let list: Vec<String> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                format!(r#"{{"role":"{}","content":"{m}"}}"#, if i % 2 == 0 { "user" } else { "assistant" })
            })
            .collect();
        format!(r#"{{"model":"claude-x","system":"s","messages":[{}]}}"#, list.join(","))
    }

    #[test]
    fn a_session_bills_the_original_under_the_same_cache_and_attributes_breaks() {
        // Without forwarded bodies kept, and with them (each turn hashed past what it shares).
        for budget in [0, 1 << 20] {
            bills_and_breaks(&Sessions::new(budget));
        }
    }

    fn bills_and_breaks(sessions: &Sessions) {
        let now = Instant::now();
        let u = |uncached, read, w1h| Usage {
            uncached_input: uncached,
            cache_read: read,
            cache_write_1h: w1h,
            ..Usage::default()
        };
        // Turn 1, cold: the original would have been written just the same.
        let t1 = body(&["task"]);
        let o = sessions.observe(&draft(&t1, &t1, 0), "claude-x", &u(5, 0, 1000), now);
        assert!(o.session.is_some() && o.cache_break.is_none());
        assert_eq!(o.bill.billed, o.bill.billed_direct);
        // Turn 2, warm, nothing rewritten: the original reads its previous request whole.
        let t2 = body(&["task", "a", "more"]);
        let o = sessions.observe(&draft(&t2, &t2, 0), "claude-x", &u(5, 1000, 200), now);
        assert_eq!((o.bill.direct.cache_read, o.cache_break), (1005, None));
        // The id kept with the session's state is the session's own.
        let id = draft(&t2, &t2, 0).session.as_ref().map(crate::ledger::Session::id);
        assert!(id.is_some() && o.session == id, "{:?} {id:?}", o.session);
        // Turn 3: the proxy rewrote history the provider had cached (a batch): a break it caused,
        // and the original (300 tokens larger) would still have read its cache.
        let t3 = body(&["task", "a", "more", "b", "again"]);
        let f3 = body(&["task", "a", "more (shortened)", "b", "again"]);
        let o = sessions.observe(&draft(&t3, &f3, 300), "claude-x", &u(5, 0, 1500), now);
        assert_eq!(o.cache_break, Some("proxy"));
        assert_eq!(o.bill.direct.cache_read, 1205);
        assert!((o.bill.billed - 3005.0).abs() < 1e-9);
        assert!(o.bill.billed_direct < o.bill.billed, "{:?}", o.bill);
        // Turn 4: the proxy kept its rewritten prefix, yet nothing was read: the provider's.
        let t4 = body(&["task", "a", "more", "b", "again", "c", "go"]);
        let f4 = body(&["task", "a", "more (shortened)", "b", "again", "c", "go"]);
        let o = sessions.observe(&draft(&t4, &f4, 300), "claude-x", &u(5, 0, 1600), now);
        assert_eq!(o.cache_break, Some("provider"));
        assert_eq!(o.bill.direct.cache_read, 0, "the original would have found the cache cold too");
    }

    #[test]
    fn prefixes_ignore_moved_breakpoints() {
        let a = br#"{"model":"m","system":"s","messages":[{"role":"user","content":[{"type":"text","text":"a","cache_control":{"type":"ephemeral"}}]}]}"#;
        let b = br#"{"model":"m","system":"s","messages":[{"role":"user","content":[{"type":"text","text":"a"}]},{"role":"assistant","content":"x"}]}"#;
        let (a, b) = (Bytes::from_static(a), Bytes::from_static(b));
        let tenant = Tenant::of(&http::HeaderMap::new());
        let none = ReadMemos::new(0);
        let hashes = |body: &Bytes, validated: bool, memos: &ReadMemos| {
            prefix_hashes(Dialect::AnthropicMessages, body, validated, &tenant, memos)
        };
        let ha = hashes(&a, false, &none).unwrap();
        let hb = hashes(&b, false, &none).unwrap();
        assert_eq!(hashes(&b, true, &none), Some(hb.clone()), "skipped, not read");
        assert_eq!(hashes(&Bytes::from_static(b"{not json"), false, &none), None);
        // Hashed past the messages shared with the previous body: the same hashes.
        let kept = ReadMemos::new(1 << 20);
        for validated in [false, true] {
            assert_eq!(hashes(&a, validated, &kept), Some(ha.clone()));
            assert_eq!(hashes(&b, validated, &kept), Some(hb.clone()));
            assert_eq!(hashes(&b, validated, &kept), Some(hb.clone()), "all of it shared");
        }
        assert!(kept.held().0 > 0);
        assert_eq!(ha.len(), 2);
        assert_eq!(ha[1], hb[1]);
        assert_ne!(hb[1], hb[2]);
    }
}
