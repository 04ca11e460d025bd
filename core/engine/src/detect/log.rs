//! Log lines: a timestamp, a severity level, or a bracketed prefix at the start.

const LEVELS: [&str; 11] =
    ["TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "ERR", "FATAL", "CRITICAL", "SEVERE"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// True when the line starts like a log record.
pub(super) fn is_log_line(line: &str) -> bool {
    let t = line.trim_start_matches(['[', ' ']);
    if starts_with_date(t) || starts_with_time(t) || starts_with_syslog_date(t) {
        return true;
    }
    // A level word among the first few tokens: `INFO msg`, `[WARN] msg`, `INFO:root:msg`,
    // `app | ERROR | msg`. The first 60 characters, borrowed (this runs on every sampled line).
    let head = if line.len() <= 60 {
        line
    } else if line.as_bytes()[..60].is_ascii() {
        &line[..60]
    } else {
        line.char_indices().nth(60).map_or(line, |(at, _)| &line[..at])
    };
    if !head.is_ascii() {
        return head.split(|c: char| !c.is_ascii_alphabetic()).take(6).any(|w| LEVELS.contains(&w));
    }
    // The same six pieces by bytes (one per character in ASCII), without a pattern searcher.
    let b = head.as_bytes();
    let mut start = 0;
    let mut pieces = 0;
    for (i, c) in b.iter().enumerate() {
        if !c.is_ascii_alphabetic() {
            if LEVELS.contains(&&head[start..i]) {
                return true;
            }
            pieces += 1;
            if pieces == 6 {
                return false;
            }
            start = i + 1;
        }
    }
    LEVELS.contains(&&head[start..])
}

fn starts_with_date(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && (b[4] == b'-' || b[4] == b'/')
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b[4]
        && b[8..10].iter().all(u8::is_ascii_digit)
}

fn starts_with_time(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 8
        && b[..2].iter().all(u8::is_ascii_digit)
        && b[2] == b':'
        && b[3..5].iter().all(u8::is_ascii_digit)
        && b[5] == b':'
        && b[6..8].iter().all(u8::is_ascii_digit)
}

/// `Oct 24 12:00:01 host ...`.
fn starts_with_syslog_date(t: &str) -> bool {
    let Some(month) = t.get(..3) else {
        return false;
    };
    if !MONTHS.contains(&month) {
        return false;
    }
    let rest = t[3..].trim_start();
    let day = rest.bytes().take_while(u8::is_ascii_digit).count();
    (1..=2).contains(&day) && starts_with_time(rest[day..].trim_start())
}

/// `path.py:12: DeprecationWarning: ...`, Python's warning format.
pub(super) fn is_warning_line(line: &str) -> bool {
    let Some((path, rest)) = super::split_once_colon(line) else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || !super::is_path_like(path) {
        return false;
    }
    let kind = rest[digits..].trim_start_matches(':').trim_start().split(':').next().unwrap_or("");
    !kind.contains(' ') && kind.ends_with("Warning")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_log_starts() {
        assert!(is_log_line("2024-01-31T10:00:00Z INFO started"));
        assert!(is_log_line("[12:00:01] worker up"));
        assert!(is_log_line("Oct 24 12:00:01 host sshd[1]: ok"));
        assert!(is_log_line("INFO:root:hello"));
        assert!(is_log_line("[WARN] disk low"));
        assert!(!is_log_line("This is information about errors."));
    }

    #[test]
    fn level_word_is_looked_for_in_the_first_sixty_characters() {
        // Characters, not bytes: the cut never splits a character, and a level word that
        // the sixtieth character ends is still whole.
        let pad = "a".repeat(54);
        assert!(is_log_line(&format!("é{pad} INFO x")));
        assert!(!is_log_line(&format!("é{pad}a INFO x")));
        assert!(is_log_line(&format!("{pad}  INFO")));
        assert!(!is_log_line(&format!("{pad}   INFO")));
        assert!(!is_log_line(&"é".repeat(80)));
    }
}
