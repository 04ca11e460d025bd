use super::parse::{Mode, split_pathless};
use super::*;

fn ctx<'a>(q: &'a Query, lossy: bool) -> Ctx<'a> {
    Ctx { query: q, key: "h:test", lossy }
}

/// Read grouped output back into the original lines (the inverse documented in the module).
fn expand(out: &str, mode: Mode) -> String {
    let lines: Vec<&str> = out.split('\n').collect();
    let is_row = |l: &str| match mode {
        Mode::Numbered => split_pathless(l).is_some(),
        _ => l.starts_with("  "),
    };
    let mut cur: Option<&str> = None;
    let mut res = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        if *l == "--" {
            res.push((*l).to_owned());
        } else if is_row(l) {
            let path = cur.expect("row under a heading");
            res.push(match split_pathless(l).filter(|_| mode == Mode::Numbered) {
                Some((n, true, c)) => format!("{path}:{n}:{c}"),
                Some((n, false, c)) => format!("{path}-{n}-{c}"),
                None => format!("{path}:{}", &l[2..]),
            });
        } else if lines.get(i + 1).is_some_and(|n| is_row(n) && *n != "--") {
            cur = Some(l);
        } else {
            res.push((*l).to_owned());
            cur = None;
        }
    }
    res.join("\n")
}

/// Excerpt of `grep -r "visit(" src` from the swe-agent corpus
/// (pytest-dev__pytest-7982.traj.json).
const UNNUMBERED: &str = "grep: src/_pytest/assertion/__pycache__/rewrite.cpython-39.pyc: binary file matches
src/_pytest/pathlib.py:def visit(
src/_pytest/pathlib.py:            yield from visit(entry.path, recurse)
src/_pytest/python.py:        for direntry in visit(str(this_path), recurse=self._recurse):
src/_pytest/assertion/rewrite.py:    finds call .visit() with it.  Then .visit_Assert() takes over and
src/_pytest/assertion/rewrite.py:                            new.extend(self.visit(child))
src/_pytest/assertion/rewrite.py:    def generic_visit(self, node: ast.AST) -> Tuple[ast.Name, str]:
src/_pytest/assertion/rewrite.py:        top_condition, explanation = self.visit(assert_.test)
";

/// `grep -rn -C2 "class .*Error" email/` over CPython 3.11's stdlib.
const CONTEXT: &str = "email/_header_value_parser.py-943-
email/_header_value_parser.py-944-
email/_header_value_parser.py:945:class _InvalidEwError(errors.HeaderParseError):
email/_header_value_parser.py-946-    \"\"\"Invalid encoded word found while parsing headers.\"\"\"
email/_header_value_parser.py-947-
--
email/errors.py-6-
email/errors.py-7-
email/errors.py:8:class MessageError(Exception):
email/errors.py-9-    \"\"\"Base class for errors in the email package.\"\"\"
email/errors.py-10-
email/errors.py-11-
email/errors.py:12:class MessagingError(MessageError):
email/errors.py-13-    pass";

#[test]
fn groups_losslessly_without_line_numbers() {
    let q = Query::default();
    let r = compress(UNNUMBERED, &ctx(&q, true)).expect("grouped");
    assert_eq!(r.transform, "search:grouped");
    assert!(!r.lossy);
    assert!(r.text.contains("src/_pytest/assertion/rewrite.py\n      finds call"));
    assert_eq!(expand(&r.text, Mode::Unnumbered), UNNUMBERED);
    assert!(r.text.len() < UNNUMBERED.len());
}

#[test]
fn groups_context_and_separators_losslessly() {
    let q = Query::default();
    let r = compress(CONTEXT, &ctx(&q, false)).expect("grouped");
    assert!(r.text.starts_with("email/_header_value_parser.py\n943-\n944-\n945:class _InvalidEwError"));
    assert!(r.text.contains("947-\n--\nemail/errors.py\n6-\n"));
    assert_eq!(expand(&r.text, Mode::Numbered), CONTEXT);
}

#[test]
fn interleaved_files_repeat_headings_and_keep_order() {
    let text = "a-1.py:1:x\na-1.py:2:y\nb.py:5:z\na-1.py:3:w\na-1.py-4-ctx\nb.py:6:v\n";
    let r = compress(text, &ctx(&Query::default(), false)).expect("grouped");
    assert_eq!(r.text, "a-1.py\n1:x\n2:y\nb.py\n5:z\na-1.py\n3:w\n4-ctx\nb.py\n6:v\n");
    assert_eq!(expand(&r.text, Mode::Numbered), text);
}

#[test]
fn ambiguous_paths_are_not_grouped() {
    let text = "2024-1-notes.txt:1:a\n2024-1-notes.txt:2:b\n2024-1-notes.txt:3:c\n";
    assert!(compress(text, &ctx(&Query::default(), false)).is_none());
}

fn big_search() -> String {
    let mut s = String::new();
    for i in 1..=120 {
        let content = match i {
            50 => "class Widget(Base):".to_owned(),
            77 => "    widget.frobnicate(special_flag)".to_owned(),
            _ => format!("    widget.call_{i}()"),
        };
        s.push_str(&format!("pkg/widgets/core.py:{}:{content}\n", i * 3));
    }
    for f in 0..5 {
        s.push_str(&format!("pkg/other_{f}.py:10:    widget.call()\n"));
    }
    s
}

#[test]
fn samples_busy_files_with_exact_markers() {
    let text = big_search();
    let q = Query::new("grep -rn widget pkg # where is special_flag set");
    let r = compress(&text, &ctx(&q, true)).expect("sampled");
    assert!(r.lossy);
    assert_eq!(r.transform, "search:grouped+sampled");
    for keep in [
        "3:    widget.call_1()",
        "12:    widget.call_4()",
        "150:class Widget(Base):",
        "231:    widget.frobnicate",
        "360:    widget.call_120()",
        "357:",
    ] {
        assert!(r.text.contains(keep), "{keep}\n{}", r.text);
    }
    assert!(!r.text.contains("15:    widget.call_5()"));
    for f in 0..5 {
        assert!(r.text.contains(&format!("pkg/other_{f}.py\n10:    widget.call()")));
    }
    let markers = Marker::find_all(&r.text);
    assert_eq!(markers.len(), 3);
    assert!(
        markers.iter().all(|m| { m.note.as_deref().is_some_and(|n| n.ends_with("of pkg/widgets/core.py")) })
    );
    assert_eq!(markers[0].ranges, vec![(5, 49)]);
    let kept_rows = r.text.lines().filter(|l| split_pathless(l).is_some()).count();
    let dropped: usize = markers.iter().map(|m| m.count).sum();
    assert_eq!(kept_rows + dropped, text.lines().count());
    assert_eq!(compress(&text, &ctx(&q, true)), Some(r));
    let lossless = compress(&text, &ctx(&q, false)).expect("grouped");
    assert!(!lossless.lossy);
    assert_eq!(expand(&lossless.text, Mode::Numbered), text);
}

#[test]
fn single_file_rows_are_sampled_in_place() {
    let mut text = String::new();
    for i in 1..=60 {
        text.push_str(&format!("{i}:    {}\tvalue = compute({i})\n", 1000 + i));
    }
    let q = Query::default();
    assert!(compress(&text, &ctx(&q, false)).is_none());
    let r = compress(&text, &ctx(&q, true)).expect("sampled");
    assert_eq!(r.transform, "search:sampled");
    assert!(r.text.starts_with("1:    1001\tvalue = compute(1)\n"));
    assert!(r.text.ends_with("60:    1060\tvalue = compute(60)\n"));
    let m = Marker::find_all(&r.text);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].ranges, vec![(5, 58)]);
}

#[test]
fn heading_output_is_recognised() {
    let mut text = String::from("src/lib.rs\n");
    for i in 1..=50 {
        text.push_str(&format!("{i}:let x{i} = 1;\n"));
    }
    text.push_str("\nsrc/main.rs\n3:fn main() {}\n");
    let r = compress(&text, &ctx(&Query::default(), true)).expect("sampled");
    assert!(r.text.starts_with("src/lib.rs\n1:let x1 = 1;\n"));
    assert!(r.text.contains("of src/lib.rs, retrieve"));
    assert!(r.text.ends_with("\nsrc/main.rs\n3:fn main() {}\n"));
}
