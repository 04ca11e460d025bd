//! grep / ripgrep results: `path:N:text`, `path-N-context`, `N:text`, `path:text`, `--`
//! separators, and `rg --heading` groups (a bare path line, then numbered lines).

use super::{Sample, is_path_like};

/// Most sampled lines are search hits (or their separators and headings).
pub(super) fn is_search(sample: &Sample) -> bool {
    let (mut numbered, mut path_text, mut file_text, mut other) = (0, 0, 0, 0);
    // Lines that are no part of a search: once they are too many for the share below, the
    // rest need not be classified.
    let most = 0.6 * sample.lines.len() as f64;
    let mut misses = 0;
    for line in &sample.lines {
        match classify(line) {
            Hit::Numbered => numbered += 1,
            Hit::PathText => {
                path_text += 1;
                let path = line.split(':').next().unwrap_or("");
                file_text += usize::from(path.rsplit('/').next().unwrap_or("").contains('.'));
            }
            Hit::Separator | Hit::Heading => other += 1,
            Hit::No => {
                misses += 1;
                if ((sample.lines.len() - misses) as f64) < most {
                    return false;
                }
            }
        }
    }
    let hits = numbered + path_text;
    // A lone `prog: message` line is an error message, not a search result.
    (numbered >= 1 || path_text >= 2 || file_text >= 1)
        && sample.share(hits + other, 0.6)
        && hits * 2 >= other
}

#[derive(Debug, PartialEq, Eq)]
enum Hit {
    Numbered,
    PathText,
    Separator,
    Heading,
    No,
}

fn classify(line: &str) -> Hit {
    if line == "--" || line.starts_with("grep: ") || line.starts_with("rg: ") {
        return Hit::Separator;
    }
    if line.starts_with("Binary file ") && line.ends_with(" matches") {
        return Hit::PathText;
    }
    if line.starts_with(char::is_whitespace) {
        return Hit::No;
    }
    if leading_number(line).is_some() {
        return Hit::Numbered;
    }
    if let Some((path, rest)) = super::split_once_colon(line)
        && is_path_like(path)
    {
        if is_warning(rest) {
            return Hit::No;
        }
        if leading_number(rest).is_some() || (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit())) {
            return Hit::Numbered;
        }
        if !rest.trim().is_empty() {
            return Hit::PathText;
        }
    }
    if context_line(line) {
        return Hit::Numbered;
    }
    if is_path_like(line) {
        return Hit::Heading;
    }
    Hit::No
}

/// `N:` or `N-` at the start, not a clock time or a date.
fn leading_number(s: &str) -> Option<usize> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let sep = *s.as_bytes().get(digits)?;
    if sep != b':' && sep != b'-' {
        return None;
    }
    let after = &s.as_bytes()[digits + 1..];
    // `12:30:01` and `2024-01-31` are times and dates, not line numbers.
    let two_digits_then =
        |c: u8| after.len() >= 3 && after[..2].iter().all(u8::is_ascii_digit) && after[2] == c;
    if two_digits_then(sep) || (sep == b':' && after.len() == 2 && after.iter().all(u8::is_ascii_digit)) {
        return None;
    }
    s[..digits].parse().ok()
}

/// `path-N-context` as printed by `grep -rn -C`.
fn context_line(line: &str) -> bool {
    let b = line.as_bytes();
    line.match_indices('-').any(|(at, _)| {
        let digits = b[at + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        at > 0 && digits > 0 && b.get(at + 1 + digits) == Some(&b'-') && is_path_like(&line[..at])
    })
}

/// `path:3: DeprecationWarning: ...` is Python warning output, not a search hit.
fn is_warning(rest: &str) -> bool {
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start_matches(':').trim_start();
    let word = rest.split(':').next().unwrap_or("");
    !word.contains(' ') && word.ends_with("Warning")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_grep_forms() {
        assert_eq!(classify("src/a.py:12:    def f():"), Hit::Numbered);
        assert_eq!(classify("src/a.py-13-    pass"), Hit::Numbered);
        assert_eq!(classify("1159:    def row_join(self, other):"), Hit::Numbered);
        assert_eq!(classify("testing/test_collection.py:        assert x"), Hit::PathText);
        assert_eq!(classify("12:30:01 INFO started"), Hit::No);
        assert_eq!(classify("2024-01-31 started"), Hit::No);
        assert_eq!(classify("/testbed/sympy/core/basic.py:3: DeprecationWarning: x"), Hit::No);
        assert_eq!(classify("INFO:root:hello"), Hit::No);
        assert_eq!(classify("src/a.py"), Hit::Heading);
        assert_eq!(classify("./data/TeXmacs:"), Hit::Heading);
    }
}
