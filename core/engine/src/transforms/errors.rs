//! The one test of "this line reports an error". Every lossy step keeps the lines it
//! accepts verbatim (the shared line renderer, the code outliner, grouped search results,
//! JSON samples and token mode's offloading all ask it), because an error line is what the
//! next step of an agent most often needs, and a fact dropped is never worth a token.
//!
//! It is deliberately narrow: an error *report*, not code that handles errors. `if err !=
//! nil {`, `return Err(e)` or `except ValueError:` are not accepted, otherwise an offloaded
//! source file would keep half its lines.

use crate::needles::AnyOf;

/// Log levels that mean something failed, as a whole upper-case word anywhere in the line
/// (`2015-10-18 18:04:08,065 ERROR [main] ...`, `app | FATAL | ...`, `[SEVERE]`).
const LEVELS: &[&str] = &["ERROR", "ERR", "FATAL", "CRITICAL", "SEVERE", "EMERG", "EMERGENCY", "PANIC"];

/// Lower- or mixed-case level spellings of structured and bracketed logs.
static TAGGED: AnyOf<15> = AnyOf::new([
    "[error]",
    "[fatal]",
    "[critical]",
    "[Error]",
    "[Fatal]",
    "level=error",
    "level=fatal",
    "level=critical",
    "level=panic",
    "\"level\":\"error\"",
    "\"level\": \"error\"",
    "\"level\":\"fatal\"",
    "\"level\": \"fatal\"",
    "\"severity\":\"ERROR\"",
    "\"severity\": \"ERROR\"",
]);

/// Starts of a line (after indentation) that report a failure.
static STARTS: AnyOf<20> = AnyOf::new([
    "error:",
    "error[",
    "error TS",
    "Error:",
    "Error ",
    "fatal:",
    "fatal error:",
    "panic:",
    "FAIL",
    "--- FAIL",
    "npm ERR!",
    "npm error",
    "Caused by:",
    "Traceback (most recent call last)",
    "Exception in thread",
    "Segmentation fault",
    "Uncaught ",
    "Unhandled ",
    "BUILD FAILED",
    "AssertionError",
]);

/// Parts of a line that report a failure wherever they stand (compiler diagnostics behind a
/// `path:line:col: ` prefix, Rust panics, make's error lines).
static CONTAINS: AnyOf<10> = AnyOf::new([
    ": error:",
    ": error[",
    ": error TS",
    ": fatal error:",
    ": Error:",
    "' panicked at",
    "\" panicked at",
    "make: ***",
    "Error: ",
    "Exception: ",
]);

/// Lines of source code that merely mention errors; never an error report.
static CODE_STARTS: AnyOf<24> = AnyOf::new([
    "except", "catch", "} catch", "raise ", "throw ", "return ", "if ", "elif ", "else", "//", "#", "/*",
    "*", "def ", "fn ", "func ", "class ", "pub ", "let ", "const ", "var ", "case ", "import ", "from ",
]);

/// Every tagged or contained pattern holds one of these.
static ANCHORS: AnyOf<7> = AnyOf::new(["rror", "RROR", "atal", "ritical", "anic", "***", "xception"]);

/// A compiler's `path:1:2: warning:` and Python's `DeprecationWarning: `, wherever they stand.
static WARNING_PARTS: AnyOf<2> = AnyOf::new([": warning:", "Warning: "]);

/// Every failing level word starts with one of these upper-case pairs.
static LEVEL_PAIRS: AnyOf<6> = AnyOf::new(["ER", "FA", "CR", "SE", "EM", "PA"]);

/// True when `line` reports an error, a failure or a crash. Every lossy step keeps such
/// lines verbatim.
pub fn is_error_line(line: &str) -> bool {
    let raw = line.strip_suffix('\r').unwrap_or(line);
    // pytest's explanation lines: `E       AssertionError: ...`, at the start of the line.
    if raw.starts_with("E ") && raw.len() > 2 && !raw[2..].trim().is_empty() {
        return true;
    }
    let t = raw.trim_start();
    if t.is_empty() {
        return false;
    }
    if glog_error(t) {
        return true;
    }
    if STARTS.starts(t) {
        return !t.starts_with("FAIL") || fail_word(t);
    }
    if CODE_STARTS.starts(t) {
        return false;
    }
    // Every tagged or contained pattern holds one of these: most lines are rejected by a few
    // substring searches instead of twenty-five (this test runs on every line a step drops).
    let tagged_or_contained = ANCHORS.in_text(t) && (TAGGED.in_text(t) || CONTAINS.in_text(t));
    if tagged_or_contained || exception_head(t) {
        return true;
    }
    has_level_word(t)
}

/// `FAIL`, `FAILED`, `FAILURE` as a word, not `FAILOVER_TIMEOUT = 3`.
fn fail_word(t: &str) -> bool {
    let word: &str = t.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
    matches!(word, "FAIL" | "FAILED" | "FAILURE" | "FAILURES")
}

/// glog / klog: `E1018 18:04:08.065123 ...` and `F1018 ...`.
fn glog_error(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() > 6
        && matches!(b[0], b'E' | b'F')
        && b[1..5].iter().all(u8::is_ascii_digit)
        && b[5] == b' '
        && b.get(6).is_some_and(u8::is_ascii_digit)
}

/// `ValueError: bad`, `java.lang.IllegalStateException: x`, `KeyError`: the line starts with
/// an exception's name, then a colon or the end of the line.
fn exception_head(t: &str) -> bool {
    let end = t.find(|c: char| !(c.is_alphanumeric() || matches!(c, '.' | '_' | '$'))).unwrap_or(t.len());
    let name = &t[..end];
    let rest = &t[end..];
    (name.ends_with("Error") || name.ends_with("Exception") || name.ends_with("Failure"))
        && name.len() > 5
        && (rest.is_empty() || rest.starts_with(':'))
}

/// A failing log level as a whole upper-case word.
fn has_level_word(t: &str) -> bool {
    if !LEVEL_PAIRS.in_text(t) {
        return false;
    }
    any_of_first_words(t, |w| LEVELS.contains(&w))
}

/// `t.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').take(24).any(pred)`, by bytes
/// when `t` is ASCII (one byte per character), without a pattern searcher.
fn any_of_first_words(t: &str, mut pred: impl FnMut(&str) -> bool) -> bool {
    if !t.is_ascii() {
        return t.split(|c: char| !c.is_ascii_alphanumeric() && c != '_').take(24).any(pred);
    }
    let mut start = 0;
    let mut pieces = 0;
    for (i, c) in t.bytes().enumerate() {
        if !c.is_ascii_alphanumeric() && c != b'_' {
            if pred(&t[start..i]) {
                return true;
            }
            pieces += 1;
            if pieces == 24 {
                return false;
            }
            start = i + 1;
        }
    }
    pred(&t[start..])
}

/// True when `line` is a warning: a `WARN`/`WARNING` level word, a compiler's `warning:`, a
/// Python `...Warning:`. Warnings are the anomalies a question is often about; steps that
/// keep only a few lines of an output keep its first warnings too.
pub fn is_warning_line(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with("warning:") || t.starts_with("warning[") || WARNING_PARTS.in_text(t) {
        return true;
    }
    // Both level words hold `WARN`: most lines are rejected by a `memchr` for a capital `W`
    // instead of being split into words.
    WARN.in_text(t) && any_of_first_words(t, |w| w == "WARN" || w == "WARNING")
}

/// What both warning level words hold.
static WARN: AnyOf<1> = AnyOf::new(["WARN"]);

#[cfg(test)]
mod tests {
    use super::{is_error_line, is_warning_line};

    #[test]
    fn first_words_by_bytes_are_the_split_words() {
        let words = |t: &str| {
            let mut seen = Vec::new();
            super::any_of_first_words(t, |w| {
                seen.push(w.to_owned());
                false
            });
            seen
        };
        let long = "w ".repeat(30);
        for t in ["", "a", "a b", "a__b-c", "x.y.z", "é ERROR", "ERROR é", "  lead", "end.", long.as_str()]
        {
            let split: Vec<String> = t
                .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .take(24)
                .map(str::to_owned)
                .collect();
            assert_eq!(words(t), split, "{t:?}");
        }
    }

    #[test]
    fn warnings_of_logs_compilers_and_python() {
        for line in [
            "2026-12-04 21:49:47.543 UTC [9892] postgres@postgres WARNING:  there is no transaction in progress",
            "2015-10-18 18:04:08,065 WARN [main] org.apache.hadoop.util.NativeCodeLoader: Unable to load",
            "warning: unused variable: `x`",
            "src/a.c:3:5: warning: implicit declaration",
            "  /x.py:3: DeprecationWarning: use y",
        ] {
            assert!(is_warning_line(line), "{line}");
        }
        assert!(!is_warning_line("warnings = []"));
        assert!(!is_warning_line("2015-10-18 INFO all good"));
    }

    #[test]
    fn accepts_error_reports_of_every_common_tool() {
        for line in [
            "2015-10-18 18:04:08,065 ERROR [RMCommunicator Allocator] org.apache.hadoop.mapreduce.v2.app.rm.RMContainerAllocator: ERROR IN CONTACTING RM.",
            "2024-01-01T00:00:00Z FATAL could not bind",
            "Oct 18 18:04:08 host app[12]: CRITICAL disk full",
            "SEVERE: Servlet.service() threw exception",
            "[SEVERE] boom",
            "time=2024 level=error msg=\"failed\"",
            "{\"level\":\"error\",\"msg\":\"x\"}",
            "E       AssertionError: assert 1 == 2",
            "E   ModuleNotFoundError: No module named 'x'",
            "error[E0425]: cannot find value `x` in this scope",
            "error: could not compile `foo` due to previous error",
            "src/main.rs:10:5: error: expected `;`",
            "src/a.ts(3,5): error TS2304: Cannot find name 'x'.",
            "npm ERR! code E404",
            "npm error code ENOENT",
            "panic: runtime error: index out of range [3] with length 3",
            "--- FAIL: TestThing (0.00s)",
            "FAIL\tgithub.com/x/y\t0.012s",
            "FAILED tests/test_a.py::test_b - AssertionError",
            "Caused by: java.io.IOException: Connection reset",
            "Traceback (most recent call last):",
            "ValueError: invalid literal for int()",
            "java.lang.NullPointerException",
            "thread 'main' panicked at src/main.rs:2:5:",
            "Exception in thread \"main\" java.lang.RuntimeException: x",
            "fatal: not a git repository (or any of the parent directories): .git",
            "make: *** [Makefile:12: all] Error 2",
            "E1018 18:04:08.065123   12345 server.go:12] failed",
            "Error: Cannot find module 'x'",
            "ERROR: test_x (tests.TestY)",
        ] {
            assert!(is_error_line(line), "{line}");
        }
    }

    #[test]
    fn code_handling_errors_and_ordinary_lines_are_not_error_reports() {
        for line in [
            "    if err != nil {",
            "        return Err(e);",
            "    except ValueError:",
            "    raise ValueError(\"bad\")",
            "} catch (Exception e) {",
            "def handle_error(self):",
            "2015-10-18 18:04:08,065 INFO [main] started",
            "WARNING: deprecated",
            "FAILOVER_TIMEOUT = 3",
            "errors = []",
            "    // Error: this comment explains",
            "Everything fine",
            "",
            "E",
        ] {
            assert!(!is_error_line(line), "{line}");
        }
    }
}
