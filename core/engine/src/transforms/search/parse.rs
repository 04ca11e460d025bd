//! Recognise the shapes grep and ripgrep print: `path:line:content` matches with
//! `path-line-content` context and `--` separators, `path:content` without line numbers,
//! and single-file or `--heading` output where rows are just `line:content`.

use std::collections::BTreeMap;

/// How the rows of a block name their file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// `path:12:content` (and `path-13-content` context).
    Numbered,
    /// `path:content`.
    Unnumbered,
    /// `12:content` rows, either from one file or under `rg --heading` path lines.
    Pathless,
}

/// One line of the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Row<'a> {
    /// A match (`matched`) or context row of file `file` (`None` when rows carry no path).
    Hit { file: Option<usize>, num: Option<&'a str>, matched: bool, content: &'a str },
    /// `--` between non-adjacent context groups.
    Sep,
    /// A path line of `rg --heading` output.
    Heading(usize),
    /// Anything else (`grep: x: binary file matches`, blank lines), kept as is.
    Other,
}

/// A parsed block: rows in input order and the distinct paths in order of first appearance.
pub(super) struct Parsed<'a> {
    pub rows: Vec<Row<'a>>,
    pub paths: Vec<&'a str>,
}

/// Parse `lines`, or `None` when most of them are not search results.
pub(super) fn parse<'a>(lines: &[&'a str]) -> Option<Parsed<'a>> {
    // Context rows can only be told apart from paths containing `-` by knowing the paths
    // first, so the paths of all matches are collected before anything else.
    let mut known = Interner::default();
    for line in lines {
        if let Some((path, _, _)) = split_numbered(line) {
            known.intern(path);
        }
    }
    let (mut numbered, mut pathless, mut unnumbered, mut total) = (0usize, 0usize, 0usize, 0usize);
    // grep's own complaints (`grep: x.pyc: binary file matches`) neither count for nor
    // against a shape: outputs of `grep -r` in source trees are often mostly those.
    let noise = |l: &str| l.starts_with("grep: ") || l.starts_with("Binary file ") || l.starts_with("rg: ");
    for line in lines.iter().filter(|l| !l.is_empty() && **l != "--" && !noise(l)) {
        total += 1;
        if split_numbered(line).is_some() || split_context(line, &known.index).is_some() {
            numbered += 1;
        } else if split_pathless(line).is_some() {
            pathless += 1;
        } else if split_unnumbered(line).is_some() {
            unnumbered += 1;
        }
    }
    let mode = if numbered * 2 >= total && numbered > 0 {
        Mode::Numbered
    } else if pathless * 2 >= total && pathless > 0 {
        Mode::Pathless
    } else if (unnumbered + numbered) * 2 >= total && unnumbered > 0 {
        Mode::Unnumbered
    } else {
        return None;
    };
    let mut interner = if mode == Mode::Numbered { known.clone() } else { Interner::default() };
    let mut rows = Vec::with_capacity(lines.len());
    match mode {
        Mode::Numbered => {
            for line in lines {
                let row = if *line == "--" {
                    Row::Sep
                } else if let Some((path, num, content)) = split_numbered(line) {
                    Row::Hit { file: known.index.get(path).copied(), num: Some(num), matched: true, content }
                } else if let Some((f, num, content)) = split_context(line, &known.index) {
                    Row::Hit { file: Some(f), num: Some(num), matched: false, content }
                } else {
                    Row::Other
                };
                rows.push(row);
            }
        }
        Mode::Unnumbered => {
            for line in lines {
                let row = match split_unnumbered(line) {
                    Some((path, content)) => {
                        let f = interner.intern(path);
                        Row::Hit { file: Some(f), num: None, matched: true, content }
                    }
                    None if *line == "--" => Row::Sep,
                    None => Row::Other,
                };
                rows.push(row);
            }
        }
        Mode::Pathless => {
            let mut current: Option<usize> = None;
            for (i, line) in lines.iter().enumerate() {
                let row = if *line == "--" {
                    Row::Sep
                } else if let Some((num, matched, content)) = split_pathless(line) {
                    Row::Hit { file: current, num: Some(num), matched, content }
                } else if !line.is_empty()
                    && lines.get(i + 1).is_some_and(|n| split_pathless(n).is_some())
                    && (i == 0 || lines[i - 1].is_empty())
                {
                    let f = interner.intern(line);
                    current = Some(f);
                    Row::Heading(f)
                } else {
                    Row::Other
                };
                rows.push(row);
            }
        }
    }
    Some(Parsed { rows, paths: interner.paths })
}

/// Paths in order of first appearance, with their positions.
#[derive(Default, Clone)]
struct Interner<'a> {
    index: BTreeMap<&'a str, usize>,
    paths: Vec<&'a str>,
}

impl<'a> Interner<'a> {
    fn intern(&mut self, path: &'a str) -> usize {
        let next = self.paths.len();
        let f = *self.index.entry(path).or_insert(next);
        if f == next {
            self.paths.push(path);
        }
        f
    }
}

/// `path:12:content`: the first `:digits:` after a non-empty path that does not start with
/// whitespace.
pub(super) fn split_numbered(line: &str) -> Option<(&str, &str, &str)> {
    let bytes = line.as_bytes();
    if bytes.first().is_none_or(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let mut from = 0;
    while let Some(pos) = line[from..].find(':') {
        let colon = from + pos;
        let digits = bytes[colon + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        let end = colon + 1 + digits;
        if colon > 0 && digits > 0 && bytes.get(end) == Some(&b':') {
            return Some((&line[..colon], &line[colon + 1..end], &line[end + 1..]));
        }
        from = colon + 1;
    }
    None
}

/// `12:content` (a match) or `12-content` (context).
pub(super) fn split_pathless(line: &str) -> Option<(&str, bool, &str)> {
    let digits = line.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    match line.as_bytes().get(digits) {
        Some(b':') => Some((&line[..digits], true, &line[digits + 1..])),
        Some(b'-') => Some((&line[..digits], false, &line[digits + 1..])),
        _ => None,
    }
}

/// `path:content`, where the path has no whitespace and looks like a file path.
pub(super) fn split_unnumbered(line: &str) -> Option<(&str, &str)> {
    let (path, content) = line.split_once(':')?;
    let looks_like_path = !path.is_empty()
        && !path.contains(char::is_whitespace)
        && (path.contains('/') || path.contains('.'))
        && !path.starts_with(|c: char| c.is_ascii_digit());
    looks_like_path.then_some((path, content))
}

/// `path-12-content` for a path already seen in a match. Of several readings the longest
/// known path wins, so `a-1-b.py-3-x` resolves to the file that really exists.
fn split_context<'a>(line: &'a str, index: &BTreeMap<&str, usize>) -> Option<(usize, &'a str, &'a str)> {
    let bytes = line.as_bytes();
    let mut end = line.len();
    while let Some(dash) = line[..end].rfind('-') {
        end = dash;
        let digits = bytes[dash + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
        if dash == 0 || digits == 0 || bytes.get(dash + 1 + digits) != Some(&b'-') {
            continue;
        }
        if let Some(&f) = index.get(&line[..dash]) {
            return Some((f, &line[dash + 1..dash + 1 + digits], &line[dash + 2 + digits..]));
        }
    }
    None
}
