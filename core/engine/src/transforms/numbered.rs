//! Numbered listings (`cat -n`, `nl -ba`) right-align each line number in six columns:
//! `"   412\t    def f():"`. The padding carries nothing (the number and the line are what
//! an agent reads and types back), yet it costs a token or two on every line, about a tenth
//! of a numbered listing. It is dropped before any other step, so every later step (and the
//! index of lines already shown) sees the listing the same way.

/// `cat -n` and `nl -ba` (by default) print each number right-aligned in this many columns,
/// then a tab. Only that shape is unpadded: a `" 12\t"` line is a unified-diff context line of
/// a tab-separated file far more often than a numbered listing, and its space is the diff's.
const WIDTH: usize = 6;
/// At least this many lines must carry a number...
const MIN_NUMBERED: usize = 3;
/// ...and at least this share of the non-blank lines, so program output that happens to
/// start a line with spaces, digits and a tab is left alone.
const MIN_SHARE: f64 = 0.5;

/// `text` with the padding before each `cat -n` / `nl -ba` line number removed; `None` when
/// it is not a numbered listing or has no padding. Numbers, tabs and code are unchanged.
///
/// A numbered listing here is strict: every line that starts with a padded number and a tab
/// has it right-aligned in [`WIDTH`] columns (wider numbers unpadded, as `cat -n` prints
/// them), the numbers strictly ascend through the text (one file's lines, or several slices
/// of it: `sed -n '10,20p;90,99p'`, `grep -C` groups, a head and a tail), and the text is not
/// a diff. Anything else (mixed widths, numbers out of order, a hunk header) is left alone,
/// because its leading spaces may mean something.
pub fn unpad(text: &str) -> Option<String> {
    let mut numbered = 0usize;
    let mut nonblank = 0usize;
    let mut padded = false;
    let mut last: Option<u64> = None;
    for line in crate::split::lines(text) {
        if line.trim_start().is_empty() {
            continue;
        }
        nonblank += 1;
        if line.starts_with("@@ -") {
            return None;
        }
        match field(line) {
            Field::Numbered { pad, number } => {
                if last.is_some_and(|l| number <= l) {
                    return None;
                }
                last = Some(number);
                numbered += 1;
                padded |= pad > 0;
            }
            Field::OtherWidth => return None,
            Field::None => {}
        }
    }
    if !padded || numbered < MIN_NUMBERED || (numbered as f64) < MIN_SHARE * nonblank as f64 {
        return None;
    }
    if crate::detect::is_diff(text) {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    for (i, line) in crate::split::lines(text).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let pad = match field(line) {
            Field::Numbered { pad, .. } => pad,
            _ => 0,
        };
        out.push_str(&line[pad..]);
    }
    Some(out)
}

/// What starts a line.
enum Field {
    /// `cat -n`'s field: `pad` spaces and `number` in [`WIDTH`] columns (or a wider number
    /// with no space), then a tab.
    Numbered { pad: usize, number: u64 },
    /// Spaces, digits and a tab, in some other width.
    OtherWidth,
    /// Anything else.
    None,
}

fn field(line: &str) -> Field {
    let b = line.as_bytes();
    let spaces = b.iter().take_while(|c| **c == b' ').count();
    let digits = b[spaces..].iter().take_while(|c| c.is_ascii_digit()).count();
    if digits == 0 || b.get(spaces + digits) != Some(&b'\t') {
        return Field::None;
    }
    let aligned = spaces + digits == WIDTH || (spaces == 0 && digits > WIDTH);
    // More digits than any listing has lines: not a line number.
    let number = line[spaces..spaces + digits].parse::<u64>().ok().filter(|_| digits <= 12);
    match number {
        Some(number) if aligned => Field::Numbered { pad: spaces, number },
        _ if spaces > 0 => Field::OtherWidth,
        _ => Field::None,
    }
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
    fn still_unpads_real_cat_n_and_nl_output() {
        // `cat -n` (every line numbered), inside an agent's output wrapper.
        let mut cat = String::from("<returncode>0</returncode>\n<output>\n");
        for n in 1..=12 {
            cat.push_str(&format!("{n:>6}\t{}\n", if n % 4 == 0 { "" } else { "    x = 1" }));
        }
        cat.push_str("</output>\n");
        let want = cat.lines().map(|l| l.trim_start()).collect::<Vec<_>>().join("\n") + "\n";
        assert_eq!(unpad(&cat).as_deref(), Some(want.as_str()));
        // `nl` (blank lines unnumbered: seven spaces, kept), and a number wider than six.
        let nl = "     1\ta\n       \n     2\tb\n999999\tc\n1000000\td\n";
        assert_eq!(unpad(nl).as_deref(), Some("1\ta\n       \n2\tb\n999999\tc\n1000000\td\n"));
        // Several slices of one file (`sed -n '5,6p;90,91p'`), ascending.
        let slices = "     5\ta\n     6\tb\n    90\tc\n    91\td\n";
        assert_eq!(unpad(slices).as_deref(), Some("5\ta\n6\tb\n90\tc\n91\td\n"));
    }

    #[test]
    fn a_diff_of_a_tab_separated_file_keeps_its_marker_column() {
        // Context lines of a TSV diff start with the diff's space, then a number and a tab.
        let tsv = "diff --git a/t.tsv b/t.tsv\n--- a/t.tsv\n+++ b/t.tsv\n@@ -10,7 +10,7 @@\n \
                   10\tfoo\n 11\tbar\n 12\tbaz\n-13\tqux\n+13\tquux\n 14\ta\n 15\tb\n 16\tc\n";
        assert_eq!(unpad(tsv), None);
        // Five-digit ids make the context lines exactly `cat -n`'s six columns: still a diff.
        let wide = tsv.replace(" 1", " 1000");
        assert!(wide.contains(" 10000\tfoo\n"));
        assert_eq!(unpad(&wide), None);
        // A lone hunk, with no file header for the detector to see.
        let hunk = &wide[wide.find("@@").unwrap()..];
        assert_eq!(unpad(hunk), None);
        // And through the engine: the diff's context lines keep their space.
        let big = wide.repeat(30);
        let count = |s: &str| (s.len() / 4) as u32;
        let out = crate::compress_content(&big, None, &crate::Options::default(), &count);
        assert_ne!(out.transform, "numbered:unpadded");
        assert!(out.text.is_none_or(|t| !t.contains("\n10000\tfoo")));
    }

    #[test]
    fn a_single_space_before_a_number_and_a_tab_is_not_padding() {
        let text = "scores:\n 7\talice\n 9\tbob\n 8\tcarol\n 12\tdave\n";
        assert_eq!(unpad(text), None);
        // Six columns, but numbers out of order: a table, not a listing.
        assert_eq!(unpad("  1200\ta\n   900\tb\n  1100\tc\n"), None);
    }

    #[test]
    fn mixed_widths_are_left_alone() {
        assert_eq!(unpad("     1\ta\n    2\tb\n     3\tc\n     4\td\n"), None);
        assert_eq!(unpad("   1\ta\n   2\tb\n   3\tc\n"), None);
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
