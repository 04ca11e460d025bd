//! The top-level members of a JSON object, picked by name in one walk: a validating pass
//! ([`headroom_json::scan`]), then the top level walked with every other member skipped, no
//! tree. For the accounting of a request (the answer's `usage`, the request's conversation for
//! the log), where `serde_json` with a struct of borrowed members is the reference: where the
//! walk cannot vouch that serde reads the same members (not UTF-8, not valid, not an object, a
//! picked name twice, which serde refuses), it answers `None` and the caller asks serde.

/// The raw text of the first member named each of `names` (`None` where absent), or `None`
/// when the walk cannot vouch for what serde would read.
pub fn members<'a, const N: usize>(buf: &'a [u8], names: [&str; N]) -> Option<[Option<&'a str>; N]> {
    let text = std::str::from_utf8(buf).ok()?;
    headroom_json::scan::validate(text).ok()?;
    pick(text, names)
}

/// [`members`] of a body validated before (by the same scanner, when it arrived): not
/// validated again. Never on bytes that were not: the walk only skips.
pub fn members_of_valid<'a, const N: usize>(buf: &'a [u8], names: [&str; N]) -> Option<[Option<&'a str>; N]> {
    pick(std::str::from_utf8(buf).ok()?, names)
}

fn pick<'a, const N: usize>(text: &'a str, names: [&str; N]) -> Option<[Option<&'a str>; N]> {
    let mut found = [None; N];
    each_member(text.trim_start_matches([' ', '\t', '\n', '\r']), |key, value| {
        match names.iter().position(|n| *n == key) {
            Some(k) if found[k].replace(value).is_some() => None,
            _ => Some(()),
        }
    })?;
    Some(found)
}

/// Call `f` with the name (decoded, as serde reads it) and raw value of every member of the
/// object that `object` (text validated as JSON) starts with, in order; `None` when it is not
/// an object or `f` declines. The walk is the scanner's own ([`headroom_json::each_field`]).
pub fn each_member<'a>(object: &'a str, mut f: impl FnMut(&str, &'a str) -> Option<()>) -> Option<()> {
    headroom_json::each_field(headroom_json::Raw::trusted(object), |key, value| f(key, value.get()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_picked_or_the_walk_declines() {
        let body = br#" { "a" : [1, {"b": "}"}] , "b":"x\"y", "c":{"b":2}, "d" : null } "#;
        assert_eq!(members(body, ["b", "d", "e"]), Some([Some(r#""x\"y""#), Some("null"), None]));
        assert_eq!(members(br#"{}"#, ["a"]), Some([None]));
        // A name written with escapes is read as serde reads it.
        assert_eq!(members(br#"{"\u0062":1}"#, ["b"]), Some([Some("1")]));
        // The walk declines: duplicates, not an object, not JSON, not UTF-8.
        for declined in [
            &br#"{"b":1,"b":2}"#[..],
            br#"{"b":1,"\u0062":2}"#,
            br#"[1]"#,
            br#"{"b":1"#,
            br#"{"b":1} x"#,
            b"{\"b\":\"\xff\"}",
        ] {
            assert_eq!(members(declined, ["b"]), None, "{}", String::from_utf8_lossy(declined));
        }
        // A duplicate of a name not picked is fine (serde ignores it too).
        assert_eq!(members(br#"{"x":1,"x":2,"b":3}"#, ["b"]), Some([Some("3")]));
    }
}
