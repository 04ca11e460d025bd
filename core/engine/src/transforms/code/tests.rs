use super::*;
use crate::transforms::lines::split;
use crate::transforms::query::Query;

// `cat sympy/printing/repr.py`: swe-agent-trajectories/sympy__sympy-14531.traj.json, message 39.
const REPR_PY: &str = include_str!("testdata/sympy_repr.py");
// `nl -ba sympy/matrices/expressions/blockmatrix.py | sed -n '70,180p'` (starts inside a
// docstring): swe-agent-trajectories/sympy__sympy-17630.traj.json, message 15.
const BLOCKMATRIX_NL: &str = include_str!("testdata/sympy_blockmatrix_nl.txt");
// `nl -ba sympy/core/symbol.py | head -n 200`: sympy__sympy-16450.traj.json, message 37.
const SYMBOL_NL: &str = include_str!("testdata/sympy_symbol_nl.txt");
// Hand-written samples.
const CACHE_RS: &str = include_str!("testdata/cache_rs.txt");
const API_TS: &str = include_str!("testdata/api_ts.txt");
const SERVER_GO: &str = include_str!("testdata/server_go.txt");

fn run(text: &str, query: &str) -> Option<Rewrite> {
    let q = Query::new(query);
    compress(text, &Ctx { query: &q, key: "h:test", lossy: true })
}

/// Every output line is the next original line verbatim, or a marker that covers exactly
/// the next `count` original lines; together they account for the whole original.
fn assert_faithful(orig: &str, out: &str) {
    let (lines, _) = split(orig);
    let (outs, _) = split(out);
    let mut at = 0;
    for line in outs {
        let t = line.trim_start();
        if let Some((m, len)) = Marker::parse(t) {
            assert_eq!(len, t.len(), "marker fills its line: {line}");
            assert_eq!(m.ranges, vec![(at + 1, at + m.count)], "{line}");
            assert_eq!(m.key, "h:test");
            at += m.count;
        } else {
            assert_eq!(line, lines[at], "line {} verbatim", at + 1);
            at += 1;
        }
    }
    assert_eq!(at, lines.len(), "all lines accounted for");
    assert_eq!(orig.ends_with('\n'), out.ends_with('\n'));
}

/// The code of a line without a `nl -ba` or `grep -n` number prefix.
fn code_of(line: &str) -> &str {
    for sep in ['\t', ':'] {
        if let Some((n, code)) = line.split_once(sep)
            && n.trim().parse::<usize>().is_ok()
        {
            return code;
        }
    }
    line
}

/// Lines (whole, with prefix) that start a definition.
fn definitions<'a>(text: &'a str, keywords: &[&str]) -> Vec<&'a str> {
    text.lines()
        .filter(|l| {
            let c = code_of(l).trim_start();
            keywords.iter().any(|k| c.starts_with(k))
        })
        .collect()
}

const PY_DEFS: &[&str] = &["def ", "async def ", "class "];
const BRACE_DEFS: &[&str] = &[
    "fn ",
    "pub fn ",
    "impl ",
    "pub struct ",
    "pub enum ",
    "struct ",
    "func ",
    "type ",
    "export ",
    "async ",
    "private async ",
    "constructor(",
    "class ",
    "mod ",
];

/// Fraction of definition lines that survive verbatim.
fn survival(text: &str, out: &str, keywords: &[&str]) -> (usize, usize) {
    let kept: Vec<&str> = out.lines().collect();
    let defs = definitions(text, keywords);
    (defs.iter().filter(|d| kept.contains(d)).count(), defs.len())
}

fn outline(text: &str, keywords: &[&str]) -> String {
    let out = run(text, "").expect("outlined");
    assert!(out.lossy);
    assert_eq!(out.transform, "code:outline");
    assert_faithful(text, &out.text);
    let (kept, total) = survival(text, &out.text, keywords);
    assert_eq!(kept, total, "every signature survives");
    assert!(total > 0);
    assert!(out.text.len() < text.len() * 9 / 10, "{} -> {}", text.len(), out.text.len());
    assert_eq!(run(text, "").expect("again"), out, "deterministic");
    out.text
}

#[test]
fn declines_small_or_lossless() {
    let short: String = REPR_PY.lines().take(60).map(|l| format!("{l}\n")).collect();
    assert!(run(&short, "").is_none());
    let q = Query::default();
    assert!(compress(REPR_PY, &Ctx { query: &q, key: "h:test", lossy: false }).is_none());
    let prose = "The quick brown fox jumps over the lazy dog.\n".repeat(100);
    assert!(run(&prose, "").is_none());
}

#[test]
fn python_file_keeps_signatures_and_elides_long_bodies() {
    let out = outline(REPR_PY, PY_DEFS);
    // Imports and module-level statements stay.
    assert!(out.contains("from sympy.core.function import AppliedUndef\n"));
    assert!(out.contains("def srepr(expr, **settings):\n"));
    // A long method keeps its first lines, then a marker at the body's indentation.
    let at = out.find("    def emptyPrinter(self, expr):\n").expect("signature");
    let tail = &out[at..];
    assert!(tail.contains("        \"\"\"\n        The fallback printer.\n"), "docstring head");
    assert!(tail.contains("\n        [... "), "indented marker");
}

#[test]
fn query_keeps_the_whole_function() {
    let q = "grep -n emptyPrinter sympy/printing/repr.py";
    let out = run(REPR_PY, q).expect("outlined").text;
    assert_faithful(REPR_PY, &out);
    let body = "            return \"<'%s.%s'>\" % (expr.__module__, expr.__name__)\n";
    assert!(REPR_PY.contains(body));
    assert!(out.contains(body));
    assert!(!run(REPR_PY, "").expect("outlined").text.contains(body));
}

#[test]
fn numbered_excerpt_starting_inside_a_docstring() {
    let out = outline(BLOCKMATRIX_NL, PY_DEFS);
    // The prose before the closing quotes is not mistaken for code, so `__new__` is found
    // and its long body outlined; its `raise` line survives.
    assert!(out.contains("    79\t    def __new__(cls, *args, **kwargs):\n"));
    assert!(out.contains("    86\t            raise ValueError(filldedent('''\n"));
    let marker = out.lines().find(|l| l.contains("source lines")).expect("numbered marker");
    assert!(marker.starts_with("      \t        [... "), "{marker:?}");
}

#[test]
fn numbered_file_keeps_number_prefixes() {
    let out = outline(SYMBOL_NL, PY_DEFS);
    assert!(out.contains("     1\tfrom __future__ import print_function, division\n"));
    // Numbers equal positions here, so markers need no separate source range.
    let markers = Marker::find_all(&out);
    assert!(!markers.is_empty());
    assert!(markers.iter().all(|m| m.note.is_none()));
}

#[test]
fn rust_sample() {
    let out = outline(CACHE_RS, BRACE_DEFS);
    assert!(
        out.contains("                None => panic!(\"cache accounting is broken: used={}\", self.used),\n")
    );
    assert!(out.contains("    pub fn purge_prefix<'a>(&mut self, prefix: &'a str) -> usize {\n"));
    // Closing braces of elided bodies stay, and short bodies are untouched.
    assert!(out.contains("        doomed.len()\n    }\n}\n") || out.contains("...]\n    }\n}\n"));
    assert!(out.contains("    pub fn used(&self) -> usize {\n        self.used\n    }\n"));
}

#[test]
fn typescript_sample() {
    let out = outline(API_TS, BRACE_DEFS);
    assert!(out.contains("      throw new ApiError(404, `no user ${id}`);\n"));
    assert!(out.contains("export const summarize = (users: User[]): string => {\n"));
    assert!(out.contains("  private cache = new Map<string, User>();\n"), "class fields stay");
}

#[test]
fn go_sample() {
    let out = outline(SERVER_GO, BRACE_DEFS);
    assert!(out.contains("\t\tpanic(\"kv: too many keys\")\n"));
    assert!(out.contains("func (s *Store) Get(key string) (string, error) {\n"));
    assert!(out.contains("\t\"encoding/json\"\n"), "imports stay");
}

#[test]
fn report_sizes() {
    let samples: [(&str, &str, &[&str]); 6] = [
        ("sympy_repr.py", REPR_PY, PY_DEFS),
        ("sympy_blockmatrix_nl.txt", BLOCKMATRIX_NL, PY_DEFS),
        ("sympy_symbol_nl.txt", SYMBOL_NL, PY_DEFS),
        ("cache_rs.txt", CACHE_RS, BRACE_DEFS),
        ("api_ts.txt", API_TS, BRACE_DEFS),
        ("server_go.txt", SERVER_GO, BRACE_DEFS),
    ];
    for (name, text, keywords) in samples {
        let out = run(text, "").expect("outlined").text;
        let (kept, total) = survival(text, &out, keywords);
        println!("{name}: {} -> {} bytes, definitions kept {kept}/{total}", text.len(), out.len());
    }
}

#[test]
fn grep_numbered_lines_get_source_ranges() {
    let text: String = REPR_PY.lines().enumerate().map(|(i, l)| format!("{}:{l}\n", i + 500)).collect();
    let out = outline(&text, PY_DEFS);
    assert!(out.contains("529:    def emptyPrinter(self, expr):\n"));
    let markers = Marker::find_all(&out);
    assert!(!markers.is_empty());
    for m in markers {
        let (a, b) = m.ranges[0];
        assert_eq!(m.note, Some(format!("source lines {}-{}", a + 499, b + 499)));
    }
}

#[test]
fn output_cut_inside_a_bracket_resumes_after_the_cut() {
    // Shaped like mini-swe-agent's cut of a long `cat`: the head stops inside an open
    // bracket and a string, the tail resumes mid-function.
    let lines: Vec<&str> = REPR_PY.lines().collect();
    let mut text = String::from("<returncode>0</returncode>\n<output_head>\n");
    for l in &lines[..60] {
        text.push_str(l);
        text.push('\n');
    }
    text.push_str("        x = (\"unterminated\n</output_head>\n<elided_chars>\n713 characters elided\n</elided_chars>\n<output_tail>\n");
    for l in &lines[100..] {
        text.push_str(l);
        text.push('\n');
    }
    text.push_str("</output_tail>\n");
    let out = outline(&text, PY_DEFS);
    assert!(out.contains("<elided_chars>\n713 characters elided\n</elided_chars>\n"));
}
