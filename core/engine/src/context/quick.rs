//! Does a request fit its window? Answered from the previous turn's counts where the bytes
//! are the same, and from a bound where they are not counted yet.
//!
//! Once a conversation's body is larger in bytes than its window in tokens, every turn must
//! be measured to know whether it fits. Counting is exact ([`super::fit::Tally`]'s rule: each
//! message's JSON, plus everything outside the list), and the same bytes always count the same,
//! so a message whose bytes equal those of the message at its place in the previous turn keeps
//! its count. A token is at least one byte, so a message not counted yet weighs at most its
//! length: the request fits when the counts known plus the bytes not counted are within the
//! limit. A conversation that first outgrows its window in bytes is therefore not counted all
//! at once on that turn: it counts, oldest first, only the messages it takes to bring the
//! bound within the limit, and each next turn counts the messages it adds and a little of what
//! is left, until all are counted. When even the exact total is over the limit, the full
//! measurement runs as it always does.

use std::ops::Range;

use crate::request::Dialect;
use crate::request::raw::{self, Object};
use crate::tokens::TokenCounter;

/// A span of the previous body and its count, once counted.
type Item = (Range<usize>, Option<u32>);

/// The previous turn's counts: its body, each message's span in it and count, the list's
/// span, and the rest.
#[derive(Default)]
pub struct TallyMemo {
    body: String,
    items: Vec<Item>,
    list: Range<usize>,
    rest: (String, Option<u32>),
    /// Whether the previous turn was measured here: then the messages a turn adds are few,
    /// and counting them at once keeps the bound at the exact total instead of at the limit,
    /// where every later turn would have to count more than it adds.
    live: bool,
}

impl TallyMemo {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.body.len() + self.items.len() * 24 + self.rest.0.len()
    }

    /// A turn that fit by its bytes alone: the next turn's new messages may be many.
    pub fn idle(&mut self) {
        self.live = false;
    }

    /// Whether the request's total as `Tally::of` would count it is within `limit`, reusing
    /// counts of unchanged messages and counting only what it takes to decide; `None` when
    /// the body is not a plain message list (the full path decides).
    /// `body` must be valid JSON: the engine's own output for a body it validated.
    pub fn fits(
        &mut self,
        dialect: Dialect,
        body: &str,
        counter: &dyn TokenCounter,
        limit: u32,
    ) -> Option<bool> {
        let (mut items, list, fresh) = match self.read_after_repeat(body) {
            Some(read) => read,
            None => {
                let (items, list) = self.read_whole(dialect, body)?;
                let none = items.len();
                (items, list, none)
            }
        };
        if self.live {
            for (range, count) in &mut items[fresh..] {
                *count = Some(counter.count(&body[range.clone()]));
            }
        }
        self.live = true;
        let rest = format!("{}{}", &body[..list.start], &body[list.end..]);
        let rest_count = if rest == self.rest.0 { self.rest.1 } else { None };
        self.body.clear();
        self.body.push_str(body);
        self.items = items;
        self.list = list;
        self.rest = (rest, rest_count);
        Some(self.settle(counter, limit))
    }

    /// Count what is not counted yet, the rest first and then the messages oldest first (they
    /// stay the same longest), until the bound is within `limit` or everything is counted.
    fn settle(&mut self, counter: &dyn TokenCounter, limit: u32) -> bool {
        let weight = |text_len: usize, count: Option<u32>| {
            count.map_or(u64::try_from(text_len).unwrap_or(u64::MAX), u64::from)
        };
        let limit = u64::from(limit);
        let mut bound = self
            .items
            .iter()
            .fold(weight(self.rest.0.len(), self.rest.1), |b, (r, n)| b.saturating_add(weight(r.len(), *n)));
        if bound <= limit {
            return true;
        }
        if self.rest.1.is_none() {
            let n = counter.count(&self.rest.0);
            bound = bound - weight(self.rest.0.len(), None) + u64::from(n);
            self.rest.1 = Some(n);
        }
        for (range, count) in &mut self.items {
            if bound <= limit {
                return true;
            }
            if count.is_some() {
                continue;
            }
            // Spans are the body's own items, cut at JSON delimiters.
            let Some(text) = self.body.get(range.clone()) else { return false };
            let n = counter.count(text);
            bound = bound - weight(range.len(), None) + u64::from(n);
            *count = Some(n);
        }
        bound <= limit
    }

    /// The messages of `body`, where it repeats none of the previous body's first messages
    /// byte for byte: each compared with the message at its place before.
    fn read_whole(&self, dialect: Dialect, body: &str) -> Option<(Vec<Item>, Range<usize>)> {
        let root = raw::trusted_root(body)?;
        let field = if dialect == Dialect::OpenAiResponses { "input" } else { "messages" };
        let list = root.get(field)?;
        let raws = raw::array(list)?;
        let mut items = Vec::with_capacity(raws.len());
        for (i, &item) in raws.iter().enumerate() {
            let known = self
                .items
                .get(i)
                .filter(|(r, _)| {
                    self.body
                        .as_bytes()
                        .get(r.clone())
                        .is_some_and(|kept| crate::bytes::same(kept, item.get().as_bytes()))
                })
                .and_then(|(_, n)| *n);
            // The full path refuses a list with a non-object in it: so does this one.
            if known.is_none() {
                Object::parse(item)?;
            }
            items.push((raw::span(body, item), known));
        }
        Some((items, raw::span(body, list)))
    }

    /// The messages of `body` when it repeats the previous body's first messages byte for
    /// byte (an agent's next turn): those keep their spans and counts without being read
    /// again, and only the list's rest is read; with the index of the first message read.
    /// `None` when it repeats none.
    fn read_after_repeat(&self, body: &str) -> Option<(Vec<Item>, Range<usize>, usize)> {
        let common = crate::bytes::common_prefix(body.as_bytes(), self.body.as_bytes());
        let k = self.items.iter().take_while(|(r, _)| r.end <= common).count();
        let at = self.items.get(k.checked_sub(1)?)?.0.end;
        let rest = raw::rest_of_top_level_array(body, at)?;
        let mut items = self.items[..k].to_vec();
        for item in rest.items {
            // The full path refuses a list with a non-object in it: so does this one.
            Object::parse(item)?;
            items.push((raw::span(body, item), None));
        }
        Some((items, self.list.start..rest.array_end, k))
    }
}
#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::context::conversation;
    use crate::context::fit::Tally;

    /// A counter that says how many bytes it read.
    struct Counting(Cell<usize>);

    impl TokenCounter for Counting {
        fn count(&self, text: &str) -> u32 {
            self.0.set(self.0.get() + text.len());
            text.len() as u32 / 3
        }
    }

    fn full(body: &str) -> u32 {
        let conv = conversation::parse(Dialect::OpenAiChat, body).expect("ok").expect("list");
        Tally::of(body, &conv, &|s: &str| s.len() as u32 / 3).total()
    }

    #[test]
    fn decides_as_the_full_tally_turn_after_turn() {
        let counter = Counting(Cell::new(0));
        let mut messages = Vec::new();
        let mut bodies = Vec::new();
        for turn in 0..6 {
            messages
                .push(format!(r#"{{"role":"user","content":"question {turn} {}"}}"#, "x".repeat(turn * 50)));
            messages.push(format!(r#"{{"role":"assistant","content":"answer {turn}"}}"#));
            bodies.push(format!(r#"{{"model":"m","messages":[{}],"max_tokens":10}}"#, messages.join(",")));
        }
        // A turn that rewrites an early message (the list is read whole), then one that
        // changes only what follows the list.
        messages[1] = r#"{"role":"assistant","content":"rewritten"}"#.to_owned();
        for tail in [r#""max_tokens":10"#, r#""max_tokens":20,"stream":true"#] {
            bodies.push(format!(r#"{{"model":"m","messages":[{}],{tail}}}"#, messages.join(",")));
        }
        // Limits below, at and above each total, and between the total and the bytes.
        for (offset, idle) in [(-1i64, false), (0, true), (1, false), (40, true), (400, false)] {
            let mut memo = TallyMemo::default();
            for (turn, body) in bodies.iter().enumerate() {
                if idle && turn % 2 == 1 {
                    memo.idle();
                }
                let limit = u32::try_from(i64::from(full(body)) + offset).expect("small");
                let fits = memo.fits(Dialect::OpenAiChat, body, &counter, limit);
                assert_eq!(fits, Some(full(body) <= limit), "{offset} {body}");
            }
        }
        // A list with a non-object item is refused, as in full.
        messages.push("7".to_owned());
        let body =
            format!(r#"{{"model":"m","messages":[{}],"max_tokens":20,"stream":true}}"#, messages.join(","));
        assert_eq!(TallyMemo::default().fits(Dialect::OpenAiChat, &body, &counter, 1), None);
    }

    #[test]
    fn a_body_outgrowing_its_limit_in_bytes_is_counted_over_the_next_turns() {
        let counter = Counting(Cell::new(0));
        let mut memo = TallyMemo::default();
        let mut messages = Vec::new();
        let limit = 30_000;
        let (mut most, mut last) = (0, 0);
        for turn in 0..120 {
            messages.push(format!(r#"{{"role":"tool","content":"{turn:03} {}"}}"#, "y".repeat(1_000)));
            let body = format!(r#"{{"model":"m","messages":[{}]}}"#, messages.join(","));
            counter.0.set(0);
            // As `fit_window` calls it: a body within the limit in bytes fits unmeasured.
            if body.len() <= limit as usize {
                memo.idle();
                continue;
            }
            assert_eq!(memo.fits(Dialect::OpenAiChat, &body, &counter, limit), Some(full(&body) <= limit));
            most = most.max(counter.0.get());
            last = counter.0.get();
        }
        // Each turn adds about 1 KB. With a third of a token per byte, no turn counts the
        // 30 KB the conversation held when it outgrew the limit: it counts what it adds and
        // at most three older messages; once all are counted, only what it adds.
        assert!(most > 0 && most <= 4_200, "{most}");
        assert!((1_000..1_100).contains(&last), "{last}");
    }
}
