//! Test-runner output: pytest, sympy's runner, unittest, cargo test, go test, jest.

use super::Sample;
use crate::needles::AnyOf;

/// A runner's header or summary line, or several per-test result lines.
pub(super) fn is_test_output(sample: &Sample) -> bool {
    if sample.lines.iter().any(|l| is_banner(l)) {
        return true;
    }
    sample.share_of(is_result_line, 0.2).is_some_and(|n| n >= 2)
}

/// Lines only a test runner prints: session headers and final summaries.
pub(crate) fn is_banner(line: &str) -> bool {
    let t = line.trim();
    if t.starts_with("===") && t.ends_with("===") {
        let inner = t.trim_matches('=').trim();
        return inner == "test session starts"
            || inner == "test process starts"
            || inner == "FAILURES"
            || inner == "ERRORS"
            || inner.contains("short test summary info")
            || inner.starts_with("tests finished:")
            || is_pytest_summary(inner);
    }
    t.starts_with("test result: ok.")
        || t.starts_with("test result: FAILED.")
        || (t.starts_with("Ran ") && t.contains(" test") && t.contains(" in "))
        || t.starts_with("Test Suites: ")
        || (t.starts_with("Tests: ") && (t.contains(" passed") || t.contains(" failed")))
        || is_go_package_result(t)
}

/// `1 failed, 3 passed in 0.12s` (the inside of pytest's last line).
fn is_pytest_summary(inner: &str) -> bool {
    let counted =
        ["passed", "failed", "error", "errors", "skipped", "xfailed", "xpassed", "deselected", "warnings"]
            .iter()
            .any(|w| inner.contains(&format!(" {w}")));
    (counted || inner.starts_with("no tests ran")) && inner.contains(" in ") && inner.ends_with('s')
}

/// `ok <TAB> example.com/pkg <TAB> 0.012s` or `FAIL <TAB> example.com/pkg <TAB> 0.3s`.
fn is_go_package_result(t: &str) -> bool {
    // The status is the first word (`t` is trimmed): most lines are rejected here.
    if !(t.starts_with("ok") || t.starts_with("FAIL")) {
        return false;
    }
    let mut parts = t.split_whitespace();
    let (Some(status), Some(_pkg), Some(time)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    (status == "ok" || status == "FAIL")
        && t.contains('\t')
        && time.ends_with('s')
        && time.trim_end_matches('s').parse::<f64>().is_ok()
}

/// One test's result: `path::test PASSED`, `FAILED path::test`, `test x ... ok`,
/// `--- FAIL: TestX`, `=== RUN TestX`, `PASS src/x.test.js`.
/// The separator of a pytest node id (`tests/test_a.py::test_b`).
static PYTEST_ID: AnyOf<1> = AnyOf::new(["::"]);

pub(crate) fn is_result_line(line: &str) -> bool {
    let t = line.trim();
    const STATUSES: [&str; 6] = ["PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL", "XPASS"];
    if PYTEST_ID.in_text(t) {
        let first = t.split_whitespace().next().unwrap_or("");
        if STATUSES.contains(&first) {
            return true;
        }
        if t.split_whitespace().nth(1).is_some_and(|w| STATUSES.contains(&w)) {
            return true;
        }
    }
    if let Some(rest) = t.strip_prefix("test ") {
        return [" ... ok", " ... FAILED", " ... ignored", " ... bench"].iter().any(|s| rest.contains(s));
    }
    if t.starts_with("--- PASS: ")
        || t.starts_with("--- FAIL: ")
        || t.starts_with("--- SKIP: ")
        || t.starts_with("=== RUN ")
    {
        return true;
    }
    for prefix in ["PASS ", "FAIL "] {
        if let Some(rest) = t.strip_prefix(prefix) {
            let file = rest.split_whitespace().next().unwrap_or("");
            return [".js", ".ts", ".jsx", ".tsx", ".mjs", ".cjs"].iter().any(|e| file.ends_with(e));
        }
    }
    false
}
