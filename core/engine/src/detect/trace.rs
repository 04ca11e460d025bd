//! Stack traces: Python tracebacks, Java/JS `at` frames, Rust panics with backtraces, Go
//! goroutine dumps. Frame parsing lives here so the stack-trace and test-output transforms
//! and detection agree on what a frame is.

use super::Sample;

/// How a frame is printed; decides which end of a stack is the innermost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// `  File "x.py", line 3, in f` plus indented source lines; innermost last.
    Python,
    /// `    at pkg.Cls.method(File.java:12)` or `    at fn (file.js:1:2)`; innermost first.
    At,
    /// `   3: crate::f` plus `at src/x.rs:1:2`; innermost first.
    Rust,
    /// `main.f(...)` plus a tab-indented `file.go:12 +0x1d` line; innermost first.
    Go,
}

impl Style {
    /// True when the first frame printed is the one that raised.
    pub(crate) fn innermost_first(self) -> bool {
        self != Style::Python
    }
}

/// One frame: its lines `start..end` (the frame line and its detail lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Frame {
    pub start: usize,
    pub end: usize,
    pub style: Style,
}

/// True when the sample holds a stack trace of a known shape.
pub(super) fn is_stack_trace(sample: &Sample) -> bool {
    let lines = &sample.lines;
    let python = lines.iter().any(|l| l.trim_end() == "Traceback (most recent call last):")
        && lines.iter().any(|l| is_python_frame(l));
    let rust = lines.iter().any(|l| l.starts_with("thread '") && l.contains("' panicked at"));
    let go = lines.iter().any(|l| is_goroutine_header(l))
        && lines.iter().any(|l| l.starts_with('\t') && l.contains(".go:"));
    if python || rust || go {
        return true;
    }
    let at = sample.count(is_at_frame);
    at >= 2 && sample.share(at, 0.3)
}

fn is_goroutine_header(line: &str) -> bool {
    line.strip_prefix("goroutine ")
        .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_digit()) && r.contains(" [") && r.ends_with("]:"))
}

fn is_python_frame(line: &str) -> bool {
    line.trim_start().starts_with("File \"") && line.contains("\", line ")
}

fn is_at_frame(line: &str) -> bool {
    let Some(rest) = line.trim_start().strip_prefix("at ") else {
        return false;
    };
    line.starts_with(char::is_whitespace)
        && !rest.is_empty()
        && (rest.trim_end().ends_with(')') || has_line_col(rest))
}

/// `file:12` or `file:12:5` somewhere in `s`.
fn has_line_col(s: &str) -> bool {
    s.match_indices(':').any(|(i, _)| s.as_bytes().get(i + 1).is_some_and(u8::is_ascii_digit))
}

fn is_rust_frame(line: &str) -> bool {
    let t = line.trim_start();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    line.starts_with(' ') && digits > 0 && t[digits..].starts_with(": ") && t.len() > digits + 2
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Every frame in `lines`, in order.
pub(crate) fn frames(lines: &[&str]) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut rust_backtrace = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim_end() == "stack backtrace:" {
            rust_backtrace = true;
        }
        let style = if is_python_frame(line) {
            Some(Style::Python)
        } else if rust_backtrace && is_rust_frame(line) {
            Some(Style::Rust)
        } else if is_at_frame(line) {
            Some(Style::At)
        } else if !line.starts_with(char::is_whitespace)
            && line.trim_end().ends_with(')')
            && lines.get(i + 1).is_some_and(|n| n.starts_with('\t') && n.contains(".go:"))
        {
            Some(Style::Go)
        } else {
            None
        };
        let Some(style) = style else {
            i += 1;
            continue;
        };
        let base = indent(line);
        let mut end = i + 1;
        while end < lines.len() {
            let next = lines[end];
            let detail = match style {
                Style::Go => end == i + 1,
                Style::At => false,
                Style::Python => !next.trim().is_empty() && indent(next) > base && !is_python_frame(next),
                Style::Rust => !next.trim().is_empty() && indent(next) > base && !is_rust_frame(next),
            };
            if !detail {
                break;
            }
            end += 1;
        }
        out.push(Frame { start: i, end, style });
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_frames_of_each_style() {
        let py = [
            "Traceback (most recent call last):",
            "  File \"a.py\", line 1, in <module>",
            "    f()",
            "ValueError: x",
        ];
        assert_eq!(frames(&py), vec![Frame { start: 1, end: 3, style: Style::Python }]);
        let java =
            ["java.lang.IllegalStateException: boom", "\tat a.B.c(B.java:3)", "\tat a.B.main(B.java:9)"];
        assert_eq!(frames(&java).len(), 2);
        let go = [
            "goroutine 1 [running]:",
            "main.f(0x1)",
            "\t/app/main.go:7 +0x1d",
            "main.main()",
            "\t/app/main.go:3 +0x25",
        ];
        let f = frames(&go);
        assert_eq!(f.len(), 2);
        assert_eq!((f[1].start, f[1].end, f[1].style), (3, 5, Style::Go));
        let rust = [
            "stack backtrace:",
            "   0: std::panicking::begin_panic",
            "             at /rustc/x/panicking.rs:1:2",
            "   1: app::main",
        ];
        assert_eq!(frames(&rust).iter().map(|f| (f.start, f.end)).collect::<Vec<_>>(), vec![(1, 3), (3, 4)]);
    }
}
