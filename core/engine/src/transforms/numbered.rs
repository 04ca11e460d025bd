//! Numbered listings (`cat -n`, `nl -ba`) right-align each line number in six columns:
//! `"   412\t    def f():"`. The padding carries nothing (the number and the line are what
//! an agent reads and types back), yet it costs a token or two on every line, about a tenth
//! of a numbered listing. It is dropped before any other step, so every later step (and the
//! index of lines already shown) sees the listing the same way.

/// At least this many lines must carry a padded number...
const MIN_NUMBERED: usize = 3;
/// ...and at least this share of the non-blank lines, so program output that happens to
/// start a line with spaces, digits and a tab is left alone.
const MIN_SHARE: f64 = 0.5;

/// `text` with the padding before each `cat -n` / `nl -ba` line number removed; `None` when
/// it is not a numbered listing or has no padding. Numbers, tabs and code are unchanged.
pub fn unpad(text: &str) -> Option<String> {
    let mut padded = 0usize;
    let mut nonblank = 0usize;
    for line in text.split('\n') {
        if line.trim().is_empty() {
            continue;
        }
        nonblank += 1;
        if padding(line) > 0 {
            padded += 1;
        }
    }
    if padded < MIN_NUMBERED || (padded as f64) < MIN_SHARE * nonblank as f64 {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&line[padding(line)..]);
    }
    Some(out)
}

/// Leading spaces of a line shaped `<spaces><digits>\t...` (0 for any other line).
fn padding(line: &str) -> usize {
    let b = line.as_bytes();
    let spaces = b.iter().take_while(|c| **c == b' ').count();
    let digits = b[spaces..].iter().take_while(|c| c.is_ascii_digit()).count();
    if spaces > 0 && digits > 0 && b.get(spaces + digits) == Some(&b'\t') { spaces } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_only_the_padding_of_line_numbers() {
        let text =
            "   411\t\n   412\t    def f(self):\n   413\t        return 1  # 2\t3\n--\n  1000\tx = 1\n";
        assert_eq!(
            unpad(text).as_deref(),
            Some("411\t\n412\t    def f(self):\n413\t        return 1  # 2\t3\n--\n1000\tx = 1\n")
        );
    }

    #[test]
    fn leaves_other_text_alone() {
        // Already unpadded, grep-numbered, or too few numbered lines among other output.
        assert_eq!(unpad("1\ta\n2\tb\n3\tc\n"), None);
        assert_eq!(unpad("12:    def f():\n13:        pass\n14:\n"), None);
        let mixed = "result:\n    10\t20\nmore output here\nand here\nand more\n     3\t4\n";
        assert_eq!(unpad(mixed), None);
        assert_eq!(unpad(""), None);
    }

    #[test]
    fn the_engine_unpads_a_numbered_slice_it_otherwise_keeps_whole() {
        // An asked-for slice is never outlined (D11); it still loses its padding, losslessly.
        let text: String =
            (300..360).map(|n| format!("{n:>6}\t    value_{n} = compute(value_{n})\n")).collect();
        let opts =
            crate::Options { query: Some("nl -ba a.py | sed -n '300,359p'".into()), ..Default::default() };
        let count = |s: &str| (s.len() / 4) as u32;
        let out = crate::compress_content(&text, None, &opts, &count);
        assert_eq!(out.transform, "numbered:unpadded");
        assert_eq!(out.text, unpad(&text));
        assert!(out.offloads.is_empty());
        assert!(out.text.is_some_and(|t| t.starts_with("300\t    value_300 = ")));
    }
}
