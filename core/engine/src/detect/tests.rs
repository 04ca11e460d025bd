//! Detection cases: Headroom's content-detector fixtures (corpus/headroom-parity/content_detector/,
//! labels mapped to our kinds where they make sense) and excerpts of real agent outputs from
//! corpus/swe-agent-trajectories/ (file named per case).

use super::detect;
use crate::kind::ContentKind::{self, *};

fn check(cases: &[(&str, ContentKind)]) {
    for (text, want) in cases {
        assert_eq!(&detect(text), want, "input:\n{text}");
    }
}

#[test]
fn headroom_fixtures() {
    check(&[
        // 552d30c30c2a6793
        (
            "diff --git a/foo.py b/foo.py\nindex abc..def 100644\n--- a/foo.py\n+++ b/foo.py\n@@ -1,3 +1,3 @@\n-old line\n+new line\n unchanged\n",
            Diff,
        ),
        // 247811aecfdec556
        (
            "diff --combined merged.py\nindex aaa..bbb..ccc 100644\n--- a/merged.py\n+++ b/merged.py\n@@@ -1,4 -1,4 +1,5 @@@\n  unchanged\n- branch_a_only\n -branch_b_only\n++merge_added\n",
            Diff,
        ),
        // 37c86907c057e293
        (
            "package com.example;\n\npublic class Foo {\n    @Override\n    public String toString() { return \"foo\"; }\n}\n\nprivate interface Bar {}\nprotected enum Baz { A, B }\n",
            Code,
        ),
        // 3a0b14d2dea7c876, 4efe946303371867, 70fbb444a583fe3c
        ("Just some prose text without any structure or special markers.", Prose),
        ("", Prose),
        ("   \n\t  \n", Prose),
        // 53400da2b7dd2428
        (
            "import x from 'y';\nexport const foo = 1;\nfunction bar() { return 42; }\nconst f = async function() {};\nmodule.exports = { foo, bar };\n",
            Code,
        ),
        // 5e8e1bc29f6c71c5
        (
            "import os\nfrom typing import Any\n\n@dataclass\nclass Foo:\n    \"\"\"Docstring.\"\"\"\n    def bar(self):\n        return 42\n\ndef baz():\n    pass\n\nif __name__ == '__main__':\n    baz()\n",
            Code,
        ),
        // 628c8985c40adb7d: Headroom says "build"; the level words make it a log here.
        (
            "INFO starting build\nWARN deprecated API used\nERROR compilation failed\nFAILED test_x\nPASSED test_y\n============================================\n",
            Log,
        ),
        // 67f4b1a1697c8aa9
        (
            "interface User { id: number; name: string; }\ntype Maybe<T> = T | null;\nenum Color { Red, Green, Blue }\nfunction f(x: number): boolean { return x > 0; }\n",
            Code,
        ),
        // 71d648a39e151a72
        (
            "============================= test session starts ==============================\ntests/test_0.py::test_case PASSED\ntests/test_1.py::test_case PASSED\nFAILED tests/test_5.py::test_bad\nTraceback (most recent call last)\n",
            TestOutput,
        ),
        // 79e6b68a05a1c639
        (
            "src/main.py:42:def process():\nsrc/util.py:13:    return None\nlib/x.py:7:class X:\ntests/test_a.py:3:    assert True",
            Search,
        ),
        // 7fde660489bc47aa, cabc55445af63e2f, bc4488ce189d1c86; 9fb76321d31ed64c is JSON too
        // (Headroom calls a lone object text).
        ("[]", Json),
        ("[1, 2, 3, 4, 5]", Json),
        ("[{\"id\":1,\"name\":\"a\"},{\"id\":2,\"name\":\"b\"},{\"id\":3,\"name\":\"c\"}]", Json),
        ("{\"foo\": \"bar\"}", Json),
        // 837b272f1604eaaa
        (
            "package main\n\nimport \"fmt\"\n\ntype Foo struct { ID int }\n\nfunc (f *Foo) Bar() int { return f.ID }\n\nfunc main() { fmt.Println(\"hi\") }\n",
            Code,
        ),
        // bf9b9ceb4b70dcd0
        (
            "use std::collections::HashMap;\n\npub struct Foo { id: u32 }\n\nimpl Foo {\n    pub fn new() -> Self { Self { id: 0 } }\n}\n\nfn main() {}\n#[derive(Debug)]\nenum Color { Red, Green }\n",
            Code,
        ),
        // 3ba74a1f57c5351e, 7e145153192c11a1: markup fragments stay prose.
        ("<p>just one tag</p>", Prose),
    ]);
}

#[test]
fn ndjson_and_not_json() {
    check(&[
        ("{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n", Json),
        ("[INFO] started\n[INFO] done\n", Log),
        ("{\n  broken\n", Prose),
    ]);
}

#[test]
fn other_trace_and_test_shapes() {
    check(&[
        (
            "thread 'main' panicked at src/main.rs:2:5:\nboom\nstack backtrace:\n   0: std::panicking::begin_panic\n   1: app::main\n",
            StackTrace,
        ),
        (
            "Exception in thread \"main\" java.lang.IllegalStateException: x\n\tat a.B.c(B.java:3)\n\tat a.B.main(B.java:9)\n",
            StackTrace,
        ),
        (
            "TypeError: x is undefined\n    at f (/app/a.js:3:9)\n    at Object.<anonymous> (/app/a.js:7:1)\n",
            StackTrace,
        ),
        (
            "panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x25\nexit status 2\n",
            StackTrace,
        ),
        (
            "running 3 tests\ntest a::b ... ok\ntest a::c ... FAILED\ntest a::d ... ok\n\ntest result: FAILED. 2 passed; 1 failed\n",
            TestOutput,
        ),
        (
            "=== RUN   TestA\n--- PASS: TestA (0.00s)\n=== RUN   TestB\n--- FAIL: TestB (0.00s)\nFAIL\nFAIL\texample.com/x\t0.002s\n",
            TestOutput,
        ),
        ("PASS src/a.test.js\nFAIL src/b.test.js\n\nTests:       1 failed, 3 passed, 4 total\n", TestOutput),
        (
            "2024-01-31 10:00:00 INFO start\n2024-01-31 10:00:01 ERROR fail\nTraceback (most recent call last):\n  File \"a.py\", line 1, in <module>\nValueError: x\n2024-01-31 10:00:02 INFO end\n2024-01-31 10:00:03 INFO bye\n",
            Log,
        ),
    ]);
}

#[test]
fn listings() {
    check(&[
        (".\n├── Cargo.toml\n└── src\n    └── lib.rs\n\n1 directory, 2 files\n", Listing),
        ("./sympy/matrices/dense.py\n./sympy/matrices/sparse.py\n./sympy/matrices/tests\n", Listing),
        (
            "total 8\ndrwxr-xr-x 2 root root 4096 Oct 24  2024 .\n-rw-r--r-- 1 root root   12 Oct 24  2024 a.txt\n",
            Listing,
        ),
    ]);
}

/// Excerpts of real outputs (first lines only), from corpus/swe-agent-trajectories/.
#[test]
fn corpus_excerpts() {
    check(&[
        // pytest-dev__pytest-10051, `ls -la`
        (
            "total 160\ndrwxrwxrwx  1 root root  4096 Oct 24  2024 .\ndrwxr-xr-x  1 root root  4096 Nov 19 00:15 ..\n-rw-r--r--  1 root root   633 Oct 24  2024 .coveragerc\ndrwxrwxrwx  8 root root  4096 Oct 24  2024 .git\n",
            Listing,
        ),
        // pytest-dev__pytest-10051, `ls -R src/_pytest`
        (
            "src/_pytest:\n__init__.py\n_argcomplete.py\n_code\n_io\n_version.py\nassertion\ncacheprovider.py\n",
            Listing,
        ),
        // pytest-dev__pytest-10051, `nl -ba src/_pytest/logging.py | sed -n '388,410p'`
        (
            "   388\t    def get_records(self, when: str) -> List[logging.LogRecord]:\n   389\t        \"\"\"Get the logging records for one of the possible test phases.\n   390\t\n   391\t        :param str when:\n   392\t            Which test phase to obtain the records from.\n   398\t        \"\"\"\n   399\t        return self._item.stash[caplog_records_key].get(when, [])\n   400\t\n   401\t    @property\n   402\t    def text(self) -> str:\n",
            Code,
        ),
        // a `grep -n "def __eq__" sympy/core/numbers.py`
        (
            "688:    def __eq__(self, other):\n1249:    def __eq__(self, other):\n1718:    def __eq__(self, other):\n",
            Search,
        ),
        // a `grep -r "getmodpath" testing`
        (
            "testing/test_collection.py:        # let's also test getmodpath here\ntesting/test_collection.py:        assert items[0].getmodpath() == \"testone\"\n",
            Search,
        ),
        // a `python3 -c "import numpy"`
        (
            "Traceback (most recent call last):\n  File \"<string>\", line 1, in <module>\nModuleNotFoundError: No module named 'numpy'\n",
            StackTrace,
        ),
        // a sympy `bin/test` run, with the deprecation warnings that precede it
        (
            "/testbed/sympy/core/basic.py:3: DeprecationWarning: Using or importing the ABCs from 'collections' is deprecated\n  from collections import Mapping\n============================= test process starts ==============================\nexecutable:         /opt/miniconda3/envs/testbed/bin/python  (3.9.20-final-0) [CPython]\n\nsympy/matrices/expressions/tests/test_matexpr.py[28] ...........................\n.                                                                           [OK]\n\n================== tests finished: 28 passed, in 0.33 seconds ==================\n",
            TestOutput,
        ),
    ]);
}

/// The sample as it was first written (`find` for the head, `rsplit` for the tail, `trim` for
/// blank lines), to check the `memchr` walk against.
fn sample_by_split(text: &str) -> Vec<&str> {
    fn push<'a>(lines: &mut Vec<&'a str>, line: &'a str) {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if !line.trim().is_empty() {
            lines.push(super::cap(line));
        }
    }
    let mut lines = Vec::new();
    let mut at = 0;
    for _ in 0..super::HEAD_LINES {
        match text[at..].find('\n') {
            Some(nl) => {
                push(&mut lines, &text[at..at + nl]);
                at += nl + 1;
            }
            None => {
                push(&mut lines, &text[at..]);
                at = text.len();
                break;
            }
        }
    }
    let rest = &text[at..];
    if !rest.is_empty() {
        let mut tail: Vec<&str> = rest.rsplit('\n').take(super::TAIL_LINES).collect();
        tail.reverse();
        for line in tail {
            push(&mut lines, line);
        }
    }
    lines
}

#[test]
fn sample_takes_the_same_lines_as_find_and_rsplit() {
    for n in [0, 1, 2, 79, 80, 81, 82, 109, 110, 111, 140, 300] {
        for end in ["", "\n", "\r\n", "\n\n", "  \t\n"] {
            let text: String = (0..n)
                .map(|i| match i % 7 {
                    0 => format!("line {i}\r\n"),
                    1 => "   \n".to_owned(),
                    2 => format!("{}\n", "é".repeat(300)),
                    3 => "\n".to_owned(),
                    _ => format!("    value_{i} = f({i})\n"),
                })
                .collect::<String>()
                + end;
            let got = super::Sample::new(&text).lines;
            assert_eq!(got, sample_by_split(&text), "{n} lines, ending {end:?}");
        }
    }
    assert!(super::Sample::new("").lines.is_empty());
    assert_eq!(super::Sample::new("no newline").lines, vec!["no newline"]);
}

#[test]
fn first_word_ends_where_split_ends_it() {
    for t in [
        "",
        "def f(x):",
        "if:",
        "fn\tmain",
        "a\u{0b}b",
        "a\u{0c}b",
        "a\rb",
        "café(x)",
        "naïve word",
        "a\u{a0}b",
        "x\u{2003}y",
        "\u{85}z",
        "word",
        "é",
    ] {
        let split = t.split(|c: char| c.is_whitespace() || c == '(' || c == ':').next().unwrap_or("");
        assert_eq!(&t[..super::code::first_word_end(t)], split, "{t:?}");
    }
}

#[test]
fn triple_quotes_count_as_matches_counts_them() {
    for t in [
        "",
        "\"\"",
        "\"\"\"",
        "\"\"\"\"",
        "\"\"\"\"\"\"",
        "a\"\"\"b\"\"\"c",
        "'''x'''",
        "\"\"'''\"\"\"",
        "é\"\"\"",
    ] {
        assert_eq!(super::code::triples(t, b'"'), t.matches("\"\"\"").count(), "{t:?}");
        assert_eq!(super::code::triples(t, b'\''), t.matches("'''").count(), "{t:?}");
    }
}

#[test]
fn log_levels_by_bytes_answer_as_the_split() {
    let split = |l: &str| {
        let head = if l.len() <= 60 { l } else { &l[..60] };
        head.split(|c: char| !c.is_ascii_alphabetic()).take(6).any(|w| ["INFO", "ERROR", "WARN"].contains(&w))
    };
    for l in [
        "INFO started",
        "a b c d e INFO",
        "a b c d e f INFO",
        "1 2 3 4 5 INFO",
        "1 2 3 4 5 6 INFO",
        "xINFO",
        "INFO",
        "[ERROR] x",
        "WARN",
        "",
        "plain words only here",
    ] {
        assert_eq!(super::log::is_log_line(l), split(l), "{l:?}");
    }
}
