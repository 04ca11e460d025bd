use super::*;
use crate::transforms::query::Query;

fn ctx_with<'a>(q: &'a Query) -> Ctx<'a> {
    Ctx { query: q, key: "h:k", lossy: true }
}

#[test]
fn a_read_listing_is_peeled_and_renumbered() {
    let text = "5\tfirst line of text\n6\tsecond\n7\tthird\n8\tfourth\n";
    let f = recognise(text).expect("framed");
    assert_eq!(f.inner(), "first line of text\nsecond\nthird\nfourth\n");
    let q = Query::default();
    let elided = "first line of text\n[... 2 lines elided (lines 2-3), retrieve: headroom_retrieve(\"h:k\") ...]\nfourth\n";
    let out = f.wrap(Rewrite::lossy(elided.into(), "log:templates"), &ctx_with(&q)).expect("wrapped");
    assert_eq!(
        out.text,
        "5\tfirst line of text\n[... 2 lines elided (lines 6-7), retrieve: headroom_retrieve(\"h:k\") ...]\n8\tfourth\n"
    );
    assert!(out.lossy);
}

#[test]
fn arrows_padding_heads_and_tails_are_kept() {
    let text = "<system-reminder>note</system-reminder>\n     1→a = 1\n     2→b = 2\n     3→c = 3\n\n... (truncated)";
    let f = recognise(text).expect("framed");
    assert_eq!(f.inner(), "a = 1\nb = 2\nc = 3\n");
    let q = Query::default();
    let same =
        f.wrap(Rewrite::lossless("a = 1\nb = 2\nc = 3\n".into(), "x"), &ctx_with(&q)).expect("wrapped");
    assert_eq!(same.text, text);
    assert!(!same.lossy);
}

#[test]
fn a_structural_rewrite_says_which_lines_lost_their_numbers() {
    let text = "1\t[\n2\t  {\"a\": 1},\n3\t  {\"a\": 2}\n4\t]\n";
    let f = recognise(text).expect("framed");
    let q = Query::default();
    let out = f.wrap(Rewrite::lossless("a\n1\n2\n".into(), "json:table"), &ctx_with(&q)).expect("wrapped");
    assert!(out.lossy, "the numbered original must be retrievable");
    assert!(out.text.starts_with("[lines 1-4 below as json:table, without their numbers; numbered original: headroom_retrieve(\"h:k\")]\na\n"));
}

#[test]
fn codex_headers_are_kept_and_markers_count_the_whole_output() {
    let text = "Chunk ID: 7d1f\nWall time: 0.0513 seconds\nProcess exited with code 0\nOriginal token count: 812\nOutput:\nl1\nl2\nl3\nl4\n";
    let f = recognise(text).expect("framed");
    assert_eq!(f.inner(), "l1\nl2\nl3\nl4\n");
    let q = Query::default();
    let elided = "l1\n[... 2 lines elided (lines 2-3), retrieve: headroom_retrieve(\"h:k\") ...]\nl4\n";
    let out = f.wrap(Rewrite::lossy(elided.into(), "log:templates"), &ctx_with(&q)).expect("wrapped");
    assert!(out.text.starts_with("Chunk ID: 7d1f\nWall time: 0.0513 seconds\nProcess exited with code 0\nOriginal token count: 812\nOutput:\nl1\n[... 2 lines elided (lines 7-8),"));
    // The marker's lines are lines of the whole original, as retrieval returns it.
    let original: Vec<&str> = text.lines().collect();
    assert_eq!(&original[6..8], &["l2", "l3"]);
}

#[test]
fn codex_header_around_cat_n_nests() {
    let text = "Chunk ID: 1\nProcess exited with code 0\nOutput:\n     1\tx\n     2\ty\n     3\tz\n";
    let f = recognise(text).expect("framed");
    assert_eq!(f.inner(), "x\ny\nz\n");
}

#[test]
fn bash_exit_code_and_persisted_output() {
    let f = recognise("Exit code 1\nerror: boom\nmore\n").expect("framed");
    assert_eq!(f.inner(), "error: boom\nmore\n");
    let p = "<persisted-output>\nOutput too large (35.1KB). Full output saved to: /tmp/x.txt\n\nPreview (first 2KB):\na\nb\n...\n</persisted-output>";
    let f = recognise(p).expect("framed");
    assert_eq!(f.inner(), "a\nb\n...\n");
    assert!(recognise("Exit code is fine\n").is_none());
}

#[test]
fn json_envelopes_are_unwrapped_and_rewrapped_byte_faithfully() {
    let text = "{\"returncode\": 0, \"output\": \"line one of the output\\nline two of the output\\n\\u00e9 three\\n\"}";
    let f = recognise(text).expect("framed");
    assert_eq!(f.inner(), "line one of the output\nline two of the output\né three\n");
    let q = Query::default();
    let out = f.wrap(Rewrite::lossless("line one\n".into(), "x"), &ctx_with(&q)).expect("wrapped");
    assert_eq!(out.text, "{\"returncode\": 0, \"output\": \"line one\\n\"}");
    // A data record with a long string is not an envelope.
    assert!(recognise("{\"id\": 1, \"name\": \"x\"}").is_none());
}

#[test]
fn plain_outputs_have_no_frame() {
    assert!(recognise("just some text\nwith lines\n").is_none());
    assert!(recognise("1\tonly\n2\ttwo\n").is_none());
    assert!(recognise("1\ta\n3\tb\n5\tc\n").is_none());
}

#[test]
fn codex_truncation_notes_and_code_mode_headers_are_part_of_the_head() {
    let text = "Chunk ID: 255542\nWall time: 0.0000 seconds\nProcess exited with code 0\nOriginal token count: 12567\nOutput:\nWarning: truncated output (original token count: 12567)\nTotal output lines: 912\n\n[\n  {\n";
    let f = recognise(text).expect("framed");
    assert_eq!(f.inner(), "[\n  {\n");
    let f = recognise(
        "Warning: truncated output (original token count: 31620)\nTotal output lines: 3\n\na\nb\nc\n",
    )
    .expect("framed");
    assert_eq!(f.inner(), "a\nb\nc\n");
    let f = recognise("Script completed\nWall time 0.1 seconds\nOutput:\nhello\nworld\n").expect("framed");
    assert_eq!(f.inner(), "hello\nworld\n");
    let f = recognise(
        "Exit code: 0\nWall time: 0 seconds\nOutput:\nSuccess. Updated the following files:\nA notes.md\n",
    )
    .expect("framed");
    assert_eq!(f.inner(), "Success. Updated the following files:\nA notes.md\n");
}

#[test]
fn a_partial_read_keeps_its_reminder_in_front() {
    let text = "<system-reminder>[Truncated: PARTIAL view]</system-reminder>\n\n1\ta\n2\tb\n3\tc";
    let f = recognise(text).expect("framed");
    assert_eq!(f.inner(), "a\nb\nc");
    let q = Query::default();
    let same = f.wrap(Rewrite::lossless("a\nb\nc".into(), "x"), &ctx_with(&q)).expect("wrapped");
    assert_eq!(same.text, text);
}
