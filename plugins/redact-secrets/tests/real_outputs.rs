//! False positives on real tool outputs: hashes, commit ids, UUIDs and the words that go with
//! secrets, with no secret among them.

#[test]
fn real_outputs_have_nothing_masked() {
    let text = include_str!("../testdata/corpus-lines.txt");
    let (out, found) = headroom_plugin_redact_secrets::redact(text);
    assert!(
        found.is_empty(),
        "false positives: {:?}",
        found.iter().map(|f| &text[f.start..f.end]).collect::<Vec<_>>()
    );
    assert_eq!(out, text);
}

#[test]
fn the_self_test_sample_masks_what_it_plants_and_keeps_the_rest() {
    let text = include_str!("../self-test.txt");
    let (out, found) = headroom_plugin_redact_secrets::redact(text);
    let kinds: Vec<&str> = found.iter().map(|f| f.kind).collect();
    assert_eq!(kinds, ["password", "bearer-token"]);
    assert!(out.contains("3f9a2c1e8b7d6f5a4c3b2a1908f7e6d5c4b3a291"), "a commit id was masked");
    assert!(out.contains("7c1d2e3f-aaaa-4bbb-8ccc-0123456789ab"), "a UUID was masked");
}
