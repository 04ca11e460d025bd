use super::*;

fn ctx<'a>(q: &'a Query, lossy: bool) -> Ctx<'a> {
    Ctx { query: q, key: "h:test", lossy }
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
fn rows_are_never_regrouped() {
    // Agents cite whole result lines: below the sampling caps nothing changes, lossy or not.
    let q = Query::default();
    for text in [UNNUMBERED, CONTEXT] {
        assert!(compress(text, &ctx(&q, true)).is_none());
        assert!(compress(text, &ctx(&q, false)).is_none());
    }
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
    assert_eq!(r.transform, "search:sampled");
    for keep in [
        "pkg/widgets/core.py:3:    widget.call_1()",
        "pkg/widgets/core.py:12:    widget.call_4()",
        "pkg/widgets/core.py:150:class Widget(Base):",
        "pkg/widgets/core.py:231:    widget.frobnicate",
        "pkg/widgets/core.py:360:    widget.call_120()",
        "pkg/widgets/core.py:357:",
    ] {
        assert!(r.text.contains(keep), "{keep}\n{}", r.text);
    }
    assert!(!r.text.contains("15:    widget.call_5()"));
    for f in 0..5 {
        assert!(r.text.contains(&format!("pkg/other_{f}.py:10:    widget.call()")));
    }
    let markers = Marker::find_all(&r.text);
    assert_eq!(markers.len(), 3);
    assert!(
        markers.iter().all(|m| { m.note.as_deref().is_some_and(|n| n.ends_with("of pkg/widgets/core.py")) })
    );
    assert_eq!(markers[0].ranges, vec![(5, 49)]);
    let kept_rows = r.text.lines().filter(|l| !l.starts_with("[... ")).count();
    let dropped: usize = markers.iter().map(|m| m.count).sum();
    assert_eq!(kept_rows + dropped, text.lines().count());
    assert_eq!(compress(&text, &ctx(&q, true)), Some(r));
    assert!(compress(&text, &ctx(&q, false)).is_none());
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
