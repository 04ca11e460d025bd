//! The scanner: one validating pass with the grammar serde_json applies (RFC 8259, control
//! characters refused in strings, nesting limited like serde_json's `Value`), and skips over
//! text already validated: strings by their closing quote (`memchr`), containers by bracket
//! counting.

/// Nesting serde_json accepts in a `Value` before it reports "recursion limit exceeded"; the
/// same limit keeps the recursive readers of nested content bounded. A deeper body is
/// refused as malformed, and the host forwards it as it came.
const MAX_DEPTH: usize = 128;

/// Why a body is not JSON, with the byte offset where reading stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    /// What was wrong.
    pub what: &'static str,
    /// Byte offset into the text.
    pub at: usize,
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.what, self.at)
    }
}

/// Where a validation pass stands: the open containers, innermost last (`true`: object).
/// Together with the offset it was taken at, it lets a later pass over a body that shares
/// the same bytes up to that offset start there instead of at byte 0.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Open {
    stack: Vec<bool>,
}

impl Open {
    /// The state inside the array that is the value of a top-level field.
    pub fn in_top_level_array() -> Self {
        Self { stack: vec![true, false] }
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

fn ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && is_ws(b[i]) {
        i += 1;
    }
    i
}

/// Validate `text` as exactly one JSON value (surrounded by optional whitespace).
pub fn validate(text: &str) -> Result<(), Invalid> {
    let b = text.as_bytes();
    let i = ws(b, 0);
    let end = value_from(b, i, &mut Open::default(), false)?;
    let end = ws(b, end);
    if end != b.len() {
        return Err(Invalid { what: "trailing characters", at: end });
    }
    Ok(())
}

/// Validate the rest of `text` from `at`, where the open containers are `open` and a value
/// (or the container's end, when `after_value`) comes next. Used to resume a pass over a body
/// whose bytes before `at` were validated already.
pub fn validate_from(text: &str, at: usize, mut open: Open, after_value: bool) -> Result<(), Invalid> {
    let b = text.as_bytes();
    let end = value_from(b, ws(b, at), &mut open, after_value)?;
    let end = ws(b, end);
    if end != b.len() {
        return Err(Invalid { what: "trailing characters", at: end });
    }
    Ok(())
}

/// Validate from `i` until the containers in `open` (and the value started at `i`) close;
/// returns the offset after the last closed value.
fn value_from(b: &[u8], mut i: usize, open: &mut Open, mut after_value: bool) -> Result<usize, Invalid> {
    let err = |what, at| Err(Invalid { what, at });
    loop {
        if after_value {
            // Inside a container, a value just ended: a comma or the container's end.
            let Some(&in_object) = open.stack.last() else { return Ok(i) };
            i = ws(b, i);
            match b.get(i) {
                Some(b',') => {
                    i = ws(b, i + 1);
                    if in_object {
                        i = key(b, i)?;
                    }
                    after_value = false;
                }
                Some(b'}') if in_object => {
                    open.stack.pop();
                    i += 1;
                }
                Some(b']') if !in_object => {
                    open.stack.pop();
                    i += 1;
                }
                Some(_) => return err("expected `,` or the container's end", i),
                None => return err("unexpected end", i),
            }
            continue;
        }
        match b.get(i) {
            Some(b'"') => i = string_end(b, i)?,
            Some(&c @ (b'{' | b'[')) => {
                if open.stack.len() + 1 >= MAX_DEPTH {
                    return err("nesting too deep", i);
                }
                let object = c == b'{';
                let close = if object { b'}' } else { b']' };
                i = ws(b, i + 1);
                if b.get(i) == Some(&close) {
                    i += 1;
                } else {
                    open.stack.push(object);
                    if object {
                        i = key(b, i)?;
                    }
                    continue;
                }
            }
            Some(b't') => i = literal(b, i, b"true")?,
            Some(b'f') => i = literal(b, i, b"false")?,
            Some(b'n') => i = literal(b, i, b"null")?,
            Some(b'-' | b'0'..=b'9') => i = number(b, i)?,
            Some(_) => return err("expected a value", i),
            None => return err("unexpected end", i),
        }
        after_value = true;
        if open.stack.is_empty() {
            return Ok(i);
        }
    }
}

/// A key and its colon; returns where the value starts.
fn key(b: &[u8], i: usize) -> Result<usize, Invalid> {
    if b.get(i) != Some(&b'"') {
        return Err(Invalid { what: "expected a key", at: i });
    }
    let i = ws(b, string_end(b, i)?);
    if b.get(i) != Some(&b':') {
        return Err(Invalid { what: "expected `:`", at: i });
    }
    Ok(ws(b, i + 1))
}

fn literal(b: &[u8], i: usize, word: &[u8]) -> Result<usize, Invalid> {
    if b[i..].starts_with(word) {
        Ok(i + word.len())
    } else {
        Err(Invalid { what: "invalid literal", at: i })
    }
}

fn number(b: &[u8], mut i: usize) -> Result<usize, Invalid> {
    let bad = |at| Err(Invalid { what: "invalid number", at });
    let digits = |b: &[u8], mut i: usize| {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        (i, i - start)
    };
    if b[i] == b'-' {
        i += 1;
    }
    match b.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => i = digits(b, i).0,
        _ => return bad(i),
    }
    if b.get(i) == Some(&b'.') {
        let (j, n) = digits(b, i + 1);
        if n == 0 {
            return bad(j);
        }
        i = j;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let (j, n) = digits(b, i);
        if n == 0 {
            return bad(j);
        }
        i = j;
    }
    Ok(i)
}

/// The offset after the string starting with the quote at `i`, validated.
///
/// One pass: eight bytes at a time while none of them is a quote, a backslash or a control
/// character, then that byte on its own. (Finding the closing quote first and checking the
/// content after took three passes, and `memchr` stopping at every `\n` escape of a tool
/// output made the escape check the slowest of them.)
fn string_end(b: &[u8], i: usize) -> Result<usize, Invalid> {
    let mut at = i + 1;
    loop {
        while let Some(word) = b.get(at..at + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            let special = special_bytes(u64::from_le_bytes(w));
            if special != 0 {
                at += (special.trailing_zeros() / 8) as usize;
                break;
            }
            at += 8;
        }
        match b.get(at) {
            None => return Err(Invalid { what: "unterminated string", at: i }),
            Some(b'"') => return Ok(at + 1),
            Some(b'\\') => {
                at += match b.get(at + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => 2,
                    Some(b'u')
                        if b.get(at + 2..at + 6).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
                    {
                        6
                    }
                    Some(_) => return Err(Invalid { what: "invalid escape", at }),
                    None => return Err(Invalid { what: "unterminated string", at: i }),
                };
            }
            Some(&c) if c < 0x20 => return Err(Invalid { what: "control character in a string", at }),
            Some(_) => at += 1,
        }
    }
}

/// A mask whose lowest set bit lies in the first byte of `word` (little-endian) that is a
/// quote, a backslash or below 0x20; 0 when there is none. Bits above the lowest may be
/// false positives (a borrow runs on past a match), so only the lowest is read.
#[inline(always)]
fn special_bytes(word: u64) -> u64 {
    let below_space = word.wrapping_sub(0x20 * ONES) & !word & HIGH;
    zero_bytes(word ^ (b'"' as u64 * ONES)) | zero_bytes(word ^ (b'\\' as u64 * ONES)) | below_space
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// A mask whose lowest set bit lies in the first zero byte of `v` (the borrow that finds it
/// may mark bytes above it too).
#[inline(always)]
fn zero_bytes(v: u64) -> u64 {
    v.wrapping_sub(ONES) & !v & HIGH
}

/// The offset after the value starting at `i` of text already validated.
pub fn skip_value(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => skip_string(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut at = i;
            while at < b.len() {
                match b[at] {
                    b'"' => {
                        at = skip_string(b, at);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return at + 1;
                        }
                    }
                    _ => {}
                }
                at += 1;
            }
            b.len()
        }
        _ => {
            let mut at = i;
            while at < b.len() && !matches!(b[at], b',' | b'}' | b']') && !is_ws(b[at]) {
                at += 1;
            }
            at
        }
    }
}

/// The offset after the string at `i` of text already validated. Looks for quotes only
/// (escaped newlines are frequent in tool output; escaped quotes are not), and tells an
/// escaped quote by the parity of the backslashes before it. The first 16 bytes are looked
/// at a word at a time: most strings in a body's structure (keys, roles, ids, types) end
/// there, and `memchr`'s call and set-up cost more than the whole of such a string.
pub fn skip_string(b: &[u8], i: usize) -> usize {
    let mut at = i + 1;
    for _ in 0..2 {
        let Some(word) = b.get(at..at + 8) else { break };
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let quotes = quote_bytes(u64::from_le_bytes(w));
        if quotes != 0 {
            let quote = at + (quotes.trailing_zeros() / 8) as usize;
            if !escaped(b, i, quote) {
                return quote + 1;
            }
            at = quote + 1;
            break;
        }
        at += 8;
    }
    while let Some(n) = memchr::memchr(b'"', &b[at..]) {
        at += n;
        if !escaped(b, i, at) {
            return at + 1;
        }
        at += 1;
    }
    b.len()
}

/// Whether the quote at `quote`, in the string opened at `open`, is escaped: an odd run of
/// backslashes before it.
fn escaped(b: &[u8], open: usize, quote: usize) -> bool {
    b[open + 1..quote].iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 1
}

/// A mask whose lowest set bit lies in the first byte of `word` (little-endian) that is a
/// quote; 0 when there is none (bits above the lowest may be false positives, as in
/// [`special_bytes`]).
#[inline(always)]
fn quote_bytes(word: u64) -> u64 {
    zero_bytes(word ^ (b'"' as u64 * ONES))
}

/// Skip whitespace (for the views).
pub fn skip_ws(b: &[u8], i: usize) -> usize {
    ws(b, i)
}

/// Decode the JSON string `raw` (quotes included, already validated); `None` for a lone
/// surrogate escape, which serde_json refuses to decode too.
pub fn decode(raw: &str) -> Option<std::borrow::Cow<'_, str>> {
    let inner = &raw[1..raw.len() - 1];
    if !inner.as_bytes().contains(&b'\\') {
        return Some(std::borrow::Cow::Borrowed(inner));
    }
    let b = inner.as_bytes();
    let mut out = String::with_capacity(inner.len());
    let mut at = 0;
    while let Some(n) = memchr::memchr(b'\\', &b[at..]) {
        out.push_str(&inner[at..at + n]);
        at += n;
        let c = match b[at + 1] {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            _ => {
                let hi = hex4(&b[at + 2..at + 6]);
                at += 6;
                let code = if (0xD800..0xDC00).contains(&hi) {
                    if b.get(at) != Some(&b'\\') || b.get(at + 1) != Some(&b'u') || b.len() < at + 6 {
                        return None;
                    }
                    let lo = hex4(&b[at + 2..at + 6]);
                    if !(0xDC00..0xE000).contains(&lo) {
                        return None;
                    }
                    at += 6;
                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                } else if (0xDC00..0xE000).contains(&hi) {
                    return None;
                } else {
                    hi
                };
                out.push(char::from_u32(code)?);
                continue;
            }
        };
        out.push(c);
        at += 2;
    }
    out.push_str(&inner[at..]);
    Some(std::borrow::Cow::Owned(out))
}

fn hex4(h: &[u8]) -> u32 {
    h.iter().fold(0, |n, &c| n * 16 + (c as char).to_digit(16).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// serde_json's verdict on `text` as one JSON value.
    fn serde_accepts(text: &str) -> bool {
        serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok()
    }

    /// Every short string over an alphabet of JSON's structural bytes gets the same verdict
    /// from this scanner as from serde_json.
    #[test]
    fn verdicts_agree_with_serde_json_on_every_short_string() {
        let alphabet: &[&str] =
            &["{", "}", "[", "]", "\"", ":", ",", "1", "-", ".", "e", " ", "\\", "u", "t", "n", "0"];
        let mut checked = 0;
        let mut stack = vec![String::new()];
        while let Some(s) = stack.pop() {
            assert_eq!(validate(&s).is_ok(), serde_accepts(&s), "{s:?}");
            checked += 1;
            if s.len() < 5 {
                for a in alphabet {
                    stack.push(format!("{s}{a}"));
                }
            }
        }
        assert!(checked > 1_000_000 / 2);
    }

    #[test]
    fn verdicts_agree_on_strings_numbers_and_escapes() {
        for text in [
            r#""a\u00e9\ud83d\ude00""#,
            r#""\ud83d""#,
            r#""\x""#,
            "\"a\u{1}\"",
            "\"tab\there\"",
            r#""\/\b\f\n\r\t\"\\""#,
            "-0.5e+10",
            "01",
            "1.",
            "1e",
            "-",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" : [ true , false , null ] }",
            " {} ",
            "{} x",
            "truex",
            "nul",
            "\"é ü 中\"",
        ] {
            assert_eq!(validate(text).is_ok(), serde_accepts(text), "{text:?}");
        }
    }

    /// Long strings, where bytes are read eight at a time: every special byte (quote,
    /// backslash, control character, the escapes that follow a backslash) at every offset
    /// of a word and across word edges, among ASCII and multi-byte UTF-8.
    #[test]
    fn verdicts_and_ends_agree_on_long_strings_at_every_offset() {
        let specials = [
            "\"", "\\", "\u{1}", "\u{1f}", "\\n", "\\u00e9", "\\x", "\\u12", "\u{7f}", "é", "中", "\\\"",
            "\\\\", "\\\\\\\"",
        ];
        let fillers =
            ["abcdefghijklmnopqrstuvwx", "ééééééééé", " \u{7f}~!#$%&'()*+,-./:;<=>?@[]^_`{|}", "", "abcdef"];
        for filler in fillers {
            for special in specials {
                for at in 0..=filler.len() {
                    if !filler.is_char_boundary(at) {
                        continue;
                    }
                    let inner = format!("{}{special}{}", &filler[..at], &filler[at..]);
                    for text in [format!("\"{inner}\""), format!("\"{inner}"), format!("[\"{inner}\",1]")] {
                        assert_eq!(validate(&text).is_ok(), serde_accepts(&text), "{text:?}");
                        if text.starts_with('"') && validate(&text).is_ok() {
                            assert_eq!(string_end(text.as_bytes(), 0), Ok(text.len()), "{text:?}");
                            // The skip over validated text ends there too, whatever follows.
                            assert_eq!(skip_string(text.as_bytes(), 0), text.len(), "{text:?}");
                            let more = format!("{text},\"\\\"\",\"a\"");
                            assert_eq!(skip_string(more.as_bytes(), 0), text.len(), "{more:?}");
                        }
                    }
                }
            }
        }
    }

    /// serde_json's `Value` stops at 128 levels; this scanner refuses the same, so the
    /// recursive readers of nested content never go deeper (`IgnoredAny` has no limit).
    #[test]
    fn nesting_is_bounded_like_serde_json_values() {
        for depth in [1, 100, 127, 128, 129, 10_000] {
            let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let value = serde_json::from_str::<serde_json::Value>(&text).is_ok();
            assert_eq!(validate(&text).is_ok(), value, "depth {depth}");
        }
    }

    #[test]
    fn strings_decode_as_serde_json_decodes_them() {
        for text in [r#""plain""#, r#""a\nb\u00e9\ud83d\ude00\"""#, r#""\ud83d""#, r#""\ude00x""#, r#""""#] {
            let ours = decode(text).map(|c| c.into_owned());
            let theirs: Option<String> = serde_json::from_str(text).ok();
            assert_eq!(ours, theirs, "{text}");
        }
    }

    #[test]
    fn a_resumed_pass_gives_the_verdict_of_a_whole_pass() {
        let body = r#"{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}],"x":1}"#;
        let at = body.find(r#"{"role":"assistant""#).unwrap();
        assert!(validate_from(body, at, Open::in_top_level_array(), false).is_ok());
        let broken = body.replace(r#""x":1}"#, r#""x":}"#);
        assert!(validate_from(&broken, at, Open::in_top_level_array(), false).is_err());
    }
}
