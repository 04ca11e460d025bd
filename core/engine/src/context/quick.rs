//! Does a request fit its window? Answered from the previous turn's counts where the bytes
//! are the same.
//!
//! Once a conversation's body is larger in bytes than its window in tokens, every turn must
//! be counted to know whether it fits. Counting is exact ([`super::fit::Tally`]'s rule: each message's
//! JSON, plus everything outside the list), and the same bytes always count the same, so a
//! message whose bytes equal those of the message at its place in the previous turn keeps its
//! count: only new or changed messages are counted. When the total fits, the request needs
//! nothing more; when it does not, the full measurement runs as it always does.

use std::ops::Range;

use crate::request::Dialect;
use crate::request::raw::{self, Object};
use crate::tokens::TokenCounter;

/// The previous turn's counts: its body, each message's span in it and count, the list's
/// span, and the rest.
#[derive(Default)]
pub struct TallyMemo {
    body: Vec<u8>,
    items: Vec<(Range<usize>, u32)>,
    list: Range<usize>,
    rest: (String, u32),
}

impl TallyMemo {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.body.len() + self.items.len() * 24 + self.rest.0.len()
    }

    /// The request's total as `Tally::of` would count it, reusing counts of unchanged
    /// messages; `None` when the body is not a plain message list (the full path decides).
    /// `body` must be valid JSON: the engine's own output for a body it validated.
    pub fn total(&mut self, dialect: Dialect, body: &str, counter: &dyn TokenCounter) -> Option<u32> {
        if let Some(total) = self.total_after_repeat(body, counter) {
            return Some(total);
        }
        // `body` is the engine's own output for a body it validated.
        let root = raw::trusted_root(body)?;
        let field = if dialect == Dialect::OpenAiResponses { "input" } else { "messages" };
        let list = root.get(field)?;
        let raws = raw::array(list)?;
        let span = raw::span(body, list);
        let mut items = Vec::with_capacity(raws.len());
        let mut total = 0u32;
        for (i, &item) in raws.iter().enumerate() {
            let range = raw::span(body, item);
            let known = self
                .items
                .get(i)
                .filter(|(r, _)| {
                    self.body
                        .get(r.clone())
                        .is_some_and(|kept| crate::bytes::same(kept, item.get().as_bytes()))
                })
                .map(|(_, n)| *n);
            let n = match known {
                Some(n) => n,
                // The full path refuses a list with a non-object in it: let it.
                None if Object::parse(item).is_none() => return None,
                None => counter.count(item.get()),
            };
            total = total.saturating_add(n);
            items.push((range, n));
        }
        Some(self.keep(body, items, span, counter, total))
    }

    /// The total when `body` repeats the previous body's first messages byte for byte (an
    /// agent's next turn): those keep their spans and counts without being read again, and
    /// only the list's rest is read. `None` when it repeats none (then the list is read whole).
    fn total_after_repeat(&mut self, body: &str, counter: &dyn TokenCounter) -> Option<u32> {
        let common = crate::bytes::common_prefix(body.as_bytes(), &self.body);
        let k = self.items.iter().take_while(|(r, _)| r.end <= common).count();
        let at = self.items.get(k.checked_sub(1)?)?.0.end;
        let rest = raw::rest_of_top_level_array(body, at)?;
        let mut items = self.items[..k].to_vec();
        let mut total = items.iter().fold(0u32, |t, (_, n)| t.saturating_add(*n));
        for item in rest.items {
            // The full path refuses a list with a non-object in it: so does this one.
            Object::parse(item)?;
            let n = counter.count(item.get());
            total = total.saturating_add(n);
            items.push((raw::span(body, item), n));
        }
        let span = self.list.start..rest.array_end;
        Some(self.keep(body, items, span, counter, total))
    }

    /// Keep this turn's body and counts for the next; the request's total.
    fn keep(
        &mut self,
        body: &str,
        items: Vec<(Range<usize>, u32)>,
        list: Range<usize>,
        counter: &dyn TokenCounter,
        total: u32,
    ) -> u32 {
        let rest = format!("{}{}", &body[..list.start], &body[list.end..]);
        let rest_count = if rest == self.rest.0 { self.rest.1 } else { counter.count(&rest) };
        self.body.clear();
        self.body.extend_from_slice(body.as_bytes());
        self.items = items;
        self.list = list;
        self.rest = (rest, rest_count);
        total.saturating_add(rest_count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::conversation;
    use crate::context::fit::Tally;

    #[test]
    fn totals_equal_the_full_tally_turn_after_turn() {
        let count = |s: &str| s.len() as u32 / 3;
        let mut memo = TallyMemo::default();
        let mut messages = Vec::new();
        for turn in 0..6 {
            messages
                .push(format!(r#"{{"role":"user","content":"question {turn} {}"}}"#, "x".repeat(turn * 50)));
            messages.push(format!(r#"{{"role":"assistant","content":"answer {turn}"}}"#));
            let body = format!(r#"{{"model":"m","messages":[{}],"max_tokens":10}}"#, messages.join(","));
            let conv = conversation::parse(Dialect::OpenAiChat, &body).expect("ok").expect("list");
            let full = Tally::of(&body, &conv, &count).total();
            assert_eq!(memo.total(Dialect::OpenAiChat, &body, &count), Some(full), "turn {turn}");
        }
        // A turn that rewrites an early message (the list is read whole), one that changes
        // only what follows the list, then one with a non-object item (refused, as in full).
        messages[1] = r#"{"role":"assistant","content":"rewritten"}"#.to_owned();
        for tail in [r#""max_tokens":10"#, r#""max_tokens":20,"stream":true"#] {
            let body = format!(r#"{{"model":"m","messages":[{}],{tail}}}"#, messages.join(","));
            let conv = conversation::parse(Dialect::OpenAiChat, &body).expect("ok").expect("list");
            let full = Tally::of(&body, &conv, &count).total();
            assert_eq!(memo.total(Dialect::OpenAiChat, &body, &count), Some(full), "{tail}");
        }
        messages.push("7".to_owned());
        let body =
            format!(r#"{{"model":"m","messages":[{}],"max_tokens":20,"stream":true}}"#, messages.join(","));
        assert_eq!(memo.total(Dialect::OpenAiChat, &body, &count), None);
    }
}
