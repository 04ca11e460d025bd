//! Command output that agents such as mini-swe-agent and aider send back as plain `user`
//! messages rather than tool results. Recognised by its wrappers, so text a person typed is
//! never mistaken for it.

use std::ops::Range;

/// Byte ranges of the command's output within a wrapped message: the `<output>` element, or
/// the `<output_head>` and `<output_tail>` elements a harness writes when it truncated a long
/// output. Empty when `text` is not a wrapped command output.
pub fn find(text: &str) -> Vec<Range<usize>> {
    if !text.trim_start().starts_with("<returncode>") {
        return Vec::new();
    }
    ["output", "output_head", "output_tail"].iter().filter_map(|tag| element(text, tag)).collect()
}

fn element(text: &str, tag: &str) -> Option<Range<usize>> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    // `memmem` (vectorised) rather than `str::find`: the whole output is scanned for each tag.
    let at = memchr::memmem::find(text.as_bytes(), open.as_bytes())?;
    let mut start = at + open.len();
    if text[start..].starts_with('\n') {
        start += 1;
    }
    let end = start + memchr::memmem::find(&text.as_bytes()[start..], close.as_bytes())?;
    Some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_output_of_a_wrapped_command() {
        let t = "<returncode>0</returncode>\n<output>\nfoo\nbar\n</output>";
        let ranges = find(t);
        assert_eq!(ranges.len(), 1);
        assert_eq!(&t[ranges[0].clone()], "foo\nbar\n");
        assert!(find("Please fix the bug in <output> handling").is_empty());
    }

    #[test]
    fn finds_head_and_tail_of_a_truncated_output() {
        let t = "<returncode>0</returncode>\n<warning>\nlong\n</warning><output_head>\na\nb\n</output_head>\n\
                 <elided_chars>\n99 characters elided\n</elided_chars>\n<output_tail>\ny\nz\n</output_tail>";
        let ranges = find(t);
        assert_eq!(ranges.len(), 2);
        assert_eq!(&t[ranges[0].clone()], "a\nb\n");
        assert_eq!(&t[ranges[1].clone()], "y\nz\n");
    }
}
