//! The one marker format every lossy edit leaves behind.
//!
//! `[... 412 lines elided (lines 88-499), retrieve: headroom_retrieve("h:3f9a...") ...]`
//!
//! It says exactly how much was removed, where it was in the original (1-based, inclusive
//! ranges in the unit named), an optional note (`; ...`) and the key that retrieves the whole
//! original. Markers always occupy whole lines of text output, or a whole JSON string element,
//! never the inside of an existing string.

use std::fmt::Write as _;

/// Unit of what a marker counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Text lines; ranges are 1-based line numbers of the original.
    Lines,
    /// Array items or records; ranges are 1-based item positions.
    Items,
    /// Messages of a request (Responses: input items); ranges are 1-based positions in the
    /// request as the client sent it.
    Messages,
}

impl Unit {
    fn plural(self) -> &'static str {
        match self {
            Self::Lines => "lines",
            Self::Items => "items",
            Self::Messages => "messages",
        }
    }
    fn singular(self) -> &'static str {
        match self {
            Self::Lines => "line",
            Self::Items => "item",
            Self::Messages => "message",
        }
    }
}

/// A parsed marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    /// How many units were removed.
    pub count: usize,
    /// The unit counted.
    pub unit: Unit,
    /// Inclusive 1-based ranges of the original that were removed.
    pub ranges: Vec<(usize, usize)>,
    /// Free text after `; `, if any.
    pub note: Option<String>,
    /// The retrieval key of the whole original.
    pub key: String,
}

impl Marker {
    /// Build a marker for the given removed ranges; `count` is derived from them.
    pub fn new(unit: Unit, ranges: Vec<(usize, usize)>, key: &str) -> Self {
        let count = ranges.iter().map(|(a, b)| b + 1 - a).sum();
        Self { count, unit, ranges, note: None, key: key.to_owned() }
    }

    /// Attach a note. Characters that would end the marker early are replaced.
    pub fn with_note(mut self, note: &str) -> Self {
        let clean: String = note
            .chars()
            .map(|c| if matches!(c, '[' | ']' | '\n' | '\r' | '(' | ')') { ' ' } else { c })
            .collect();
        self.note = Some(clean);
        self
    }

    /// Render the marker (no trailing newline).
    pub fn render(&self) -> String {
        let unit = if self.count == 1 { self.unit.singular() } else { self.unit.plural() };
        let mut out = format!("[... {} {} elided (", self.count, unit);
        out.push_str(if self.ranges.len() == 1 && self.ranges[0].0 == self.ranges[0].1 {
            self.unit.singular()
        } else {
            self.unit.plural()
        });
        out.push(' ');
        for (i, (a, b)) in self.ranges.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if a == b {
                let _ = write!(out, "{a}");
            } else {
                let _ = write!(out, "{a}-{b}");
            }
        }
        out.push(')');
        if let Some(note) = &self.note {
            out.push_str("; ");
            out.push_str(note);
        }
        let _ = write!(out, ", retrieve: headroom_retrieve(\"{}\") ...]", self.key);
        out
    }

    /// Parse a marker at the start of `text`; returns it and the bytes it spans.
    pub fn parse(text: &str) -> Option<(Marker, usize)> {
        let rest = text.strip_prefix("[... ")?;
        let (count, rest) = split_number(rest)?;
        let rest = rest.strip_prefix(' ')?;
        let (unit, rest) = if let Some(r) = rest.strip_prefix("lines").or_else(|| rest.strip_prefix("line")) {
            (Unit::Lines, r)
        } else if let Some(r) = rest.strip_prefix("items").or_else(|| rest.strip_prefix("item")) {
            (Unit::Items, r)
        } else if let Some(r) = rest.strip_prefix("messages").or_else(|| rest.strip_prefix("message")) {
            (Unit::Messages, r)
        } else {
            return None;
        };
        let rest = rest.strip_prefix(" elided (")?;
        let rest = rest
            .strip_prefix(unit.plural())
            .or_else(|| rest.strip_prefix(unit.singular()))?
            .strip_prefix(' ')?;
        let close = rest.find(')')?;
        let mut ranges = Vec::new();
        for part in rest[..close].split(", ") {
            let (a, b) = match part.split_once('-') {
                Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
                None => {
                    let n = part.parse().ok()?;
                    (n, n)
                }
            };
            ranges.push((a, b));
        }
        let rest = &rest[close + 1..];
        let tail = ", retrieve: headroom_retrieve(\"";
        let key_at = rest.find(tail)?;
        let note = match &rest[..key_at] {
            "" => None,
            n => Some(n.strip_prefix("; ")?.to_owned()),
        };
        let after = &rest[key_at + tail.len()..];
        let key_end = after.find('"')?;
        let key = after[..key_end].to_owned();
        let end = after[key_end..].strip_prefix("\") ...]")?;
        let consumed = text.len() - end.len();
        Some((Marker { count, unit, ranges, note, key }, consumed))
    }

    /// Every marker found anywhere in `text`, in order.
    pub fn find_all(text: &str) -> Vec<Marker> {
        let mut found = Vec::new();
        let mut at = 0;
        // `memmem` (vectorised): every block of every request is searched for markers.
        while let Some(pos) = memchr::memmem::find(&text.as_bytes()[at..], b"[... ") {
            let start = at + pos;
            match Marker::parse(&text[start..]) {
                Some((m, len)) => {
                    found.push(m);
                    at = start + len;
                }
                None => at = start + 5,
            }
        }
        found
    }
}

fn split_number(s: &str) -> Option<(usize, &str)> {
    let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    if end == 0 {
        return None;
    }
    Some((s[..end].parse().ok()?, &s[end..]))
}

/// Collapse sorted 1-based indices into inclusive ranges.
pub fn ranges_of(indices: impl IntoIterator<Item = usize>) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::new();
    for i in indices {
        match out.last_mut() {
            Some((_, b)) if *b + 1 == i => *b = i,
            _ => out.push((i, i)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_parses_back() {
        let m = Marker::new(Unit::Lines, vec![(88, 499)], "h:0123456789abcdef01234567");
        let s = m.render();
        assert_eq!(
            s,
            "[... 412 lines elided (lines 88-499), retrieve: headroom_retrieve(\"h:0123456789abcdef01234567\") ...]"
        );
        let (p, len) = Marker::parse(&s).expect("parses");
        assert_eq!(len, s.len());
        assert_eq!(p, m);
    }

    #[test]
    fn notes_and_multiple_ranges_round_trip() {
        let m = Marker::new(Unit::Items, vec![(3, 3), (5, 9)], "h:aa").with_note("2 errors kept (x]");
        let s = m.render();
        assert!(s.starts_with("[... 6 items elided (items 3, 5-9); 2 errors kept  x , retrieve"));
        let (p, _) = Marker::parse(&s).expect("parses");
        assert_eq!(p.ranges, vec![(3, 3), (5, 9)]);
        assert_eq!(p.count, 6);
        assert_eq!(Marker::find_all(&format!("a\n{s}\nb {s}")).len(), 2);
    }

    #[test]
    fn single_line_is_singular() {
        let s = Marker::new(Unit::Lines, vec![(7, 7)], "h:aa").render();
        assert!(s.starts_with("[... 1 line elided (line 7)"), "{s}");
        assert!(Marker::parse(&s).is_some());
    }

    #[test]
    fn message_markers_round_trip() {
        let m = Marker::new(Unit::Messages, vec![(2, 5), (9, 9)], "h:bb").with_note("to fit the window");
        let s = m.render();
        assert!(
            s.starts_with("[... 5 messages elided (messages 2-5, 9); to fit the window, retrieve"),
            "{s}"
        );
        assert_eq!(Marker::parse(&s).map(|(p, _)| p), Some(m));
    }

    #[test]
    fn ranges_collapse() {
        assert_eq!(ranges_of([1, 2, 3, 5, 7, 8]), vec![(1, 3), (5, 5), (7, 8)]);
    }
}
