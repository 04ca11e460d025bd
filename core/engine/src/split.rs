//! Lines of a text by `memchr`: the engine walks every line of every block it considers, and
//! the standard library's `split('\n')` finds each end a word at a time.

/// The pieces of `text` between `\n`s, exactly as `text.split('\n')` gives them (an empty
/// text is one empty line; a final `\n` leaves an empty last piece).
pub(crate) fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', text.as_bytes()).chain(std::iter::once(text.len())).map(move |end| {
        let line = &text[start..end];
        start = end + 1;
        line
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn gives_what_split_gives() {
        for text in ["", "\n", "a", "a\n", "\na", "a\nb", "a\n\nb\n", "é\r\nü\n\n", "\n\n\n"] {
            assert_eq!(
                super::lines(text).collect::<Vec<_>>(),
                text.split('\n').collect::<Vec<_>>(),
                "{text:?}"
            );
        }
    }
}
