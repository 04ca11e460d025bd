//! Recognising a table: a header and at least three rows, every line with the same number of
//! fields (at least two), split on commas (quotes respected) or tabs.

/// A parsed table: fields as written (quotes kept, so a row rejoins to its original line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table<'a> {
    /// `,` or `\t`.
    pub delimiter: char,
    /// The header fields.
    pub header: Vec<&'a str>,
    /// Rows, each with the 1-based line number it came from.
    pub rows: Vec<(usize, Vec<&'a str>)>,
    /// Whether the text ended with a newline.
    pub trailing_newline: bool,
}

/// Minimum rows for a text to count as a table.
const MIN_ROWS: usize = 3;

/// The table in `text`, or `None` when it is not one.
pub fn table(text: &str) -> Option<Table<'_>> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let lines: Vec<&str> = body.split('\n').collect();
    if lines.len() < MIN_ROWS + 1 || lines.iter().any(|l| l.trim().is_empty() || l.ends_with('\r')) {
        return None;
    }
    let delimiter = if lines[0].contains('\t') { '\t' } else { ',' };
    let header = split(lines[0], delimiter)?;
    if header.len() < 2 {
        return None;
    }
    let mut rows = Vec::with_capacity(lines.len() - 1);
    for (i, line) in lines.iter().enumerate().skip(1) {
        let fields = split(line, delimiter)?;
        if fields.len() != header.len() {
            return None;
        }
        rows.push((i + 1, fields));
    }
    // Prose with commas splits evenly by chance: a table's header names are short.
    if header.iter().any(|h| h.len() > 64 || h.trim().contains("  ")) {
        return None;
    }
    Some(Table { delimiter, header, rows, trailing_newline: text.ends_with('\n') })
}

/// Split a line into fields; `None` on an unterminated quote.
fn split(line: &str, delimiter: char) -> Option<Vec<&str>> {
    if delimiter == '\t' {
        return Some(line.split('\t').collect());
    }
    let mut fields = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                fields.push(&line[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return None;
    }
    fields.push(&line[start..]);
    Some(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_tsv_and_not_tables() {
        let t = table("a,b\n1,\"x,y\"\n2,z\n3,w\n").expect("csv");
        assert_eq!(t.rows[0], (2, vec!["1", "\"x,y\""]));
        assert!(table("a\tb\n1\t2\n3\t4\n5\t6\n").is_some());
        assert!(table("a,b\n1,2\n3\n4,5\n").is_none(), "ragged");
        assert!(
            table("Hello, world\nFine, thanks\nAnd you, sir\nWell, yes\n")
                .is_some_and(|t| t.header.len() == 2)
        );
        assert!(table("one line, only\n").is_none());
        assert!(table("plain text\nwithout\ndelimiters\nat all\n").is_none());
    }
}
