//! Server-sent events as they arrive: bytes in, whole events out, each with its exact raw
//! bytes so an event the proxy does not change is relayed byte for byte.

use bytes::Bytes;

/// One event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The event exactly as received, terminator included.
    pub raw: Bytes,
    /// The `event:` field, if any.
    pub name: Option<String>,
    /// The `data:` lines joined by newlines.
    pub data: String,
}

/// Reassembles events across chunk boundaries.
#[derive(Default)]
pub struct Parser {
    pending: Vec<u8>,
    /// Bytes of `pending` already searched for a boundary (a large event arriving in many
    /// chunks is scanned once, not once per chunk).
    scanned: usize,
}

impl Parser {
    /// Feed a chunk; returns the events it completed.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<Event> {
        self.pending.extend_from_slice(chunk);
        let mut events = Vec::new();
        // A boundary is at most 4 bytes (`\r\n\r\n`): resume just before where the last scan ended.
        while let Some(end) = boundary(&self.pending, self.scanned.saturating_sub(3)) {
            let raw: Vec<u8> = self.pending.drain(..end).collect();
            events.push(parse(Bytes::from(raw)));
            self.scanned = 0;
        }
        self.scanned = self.pending.len();
        events
    }

    /// Whatever is left when the stream ends (an event without its blank line).
    pub fn finish(&mut self) -> Option<Event> {
        if self.pending.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        Some(parse(Bytes::from(std::mem::take(&mut self.pending))))
    }
}

/// End (exclusive) of the first complete event: after a blank line in any line-ending style.
fn boundary(buf: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while i < buf.len() {
        if buf[i] == b'\n' {
            match buf.get(i + 1) {
                Some(b'\n') => return Some(i + 2),
                Some(b'\r') if buf.get(i + 2) == Some(&b'\n') => return Some(i + 3),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

fn parse(raw: Bytes) -> Event {
    let text = String::from_utf8_lossy(&raw);
    let mut name = None;
    let mut data: Vec<&str> = Vec::new();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let (field, value) = line.split_once(':').unwrap_or((line, ""));
        let value = value.strip_prefix(' ').unwrap_or(value);
        match field {
            "event" => name = Some(value.to_owned()),
            "data" => data.push(value),
            _ => {}
        }
    }
    let data = data.join("\n");
    Event { raw, name, data }
}

/// An event written by the proxy.
pub fn encode(name: Option<&str>, data: &str) -> Bytes {
    match name {
        Some(n) => Bytes::from(format!("event: {n}\ndata: {data}\n\n")),
        None => Bytes::from(format!("data: {data}\n\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reassembles_split_events_and_keeps_raw_bytes() {
        let mut p = Parser::default();
        assert!(p.push(b"event: a\ndata: {\"x\"").is_empty());
        let events = p.push(b":1}\n\ndata: [DONE]\r\n\r\ndata: tail");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].name.as_deref(), Some("a"));
        assert_eq!(events[0].data, "{\"x\":1}");
        assert_eq!(&events[0].raw[..], b"event: a\ndata: {\"x\":1}\n\n");
        assert_eq!(events[1].data, "[DONE]");
        assert_eq!(p.finish().map(|e| e.data), Some("tail".into()));
    }

    #[test]
    fn boundaries_split_across_chunks_are_found() {
        for split in ["a\n", "\n", "\r\n", "\r\n\r"] {
            let mut p = Parser::default();
            let whole = "data: a\r\n\r\ndata: b\n\n";
            let cut = whole.find(split).map_or(0, |i| i + split.len());
            let mut events = p.push(&whole.as_bytes()[..cut]);
            events.extend(p.push(&whole.as_bytes()[cut..]));
            assert_eq!(events.iter().map(|e| e.data.as_str()).collect::<Vec<_>>(), ["a", "b"], "{split:?}");
        }
        let mut p = Parser::default();
        let bytes = b"data: x\n\n";
        let events: Vec<Event> = bytes.iter().flat_map(|b| p.push(&[*b])).collect();
        assert_eq!(events.len(), 1);
    }
}
