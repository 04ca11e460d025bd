//! The checks every plugin answer passes before the engine uses it. A plugin is untrusted
//! code: what it returns must be a plausible rewrite of the block it was given, or the block
//! goes on without it.

use std::fmt;

use super::Placement;
use crate::marker::Marker;

/// Why a plugin's rewrite was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The rewrite is empty while the block was not.
    Empty,
    /// The rewrite is larger than allowed (bytes, and the limit).
    Larger(usize, usize),
    /// It brought in a control character the block did not contain.
    ControlCharacter(char),
    /// A marker cites a key that is not the block's.
    ForeignKey,
    /// Text that starts a marker but is not one, or a marker sharing its line.
    BrokenMarker,
    /// A marker in a `before` plugin's output (its edits cannot be retrieved).
    MarkerInFilter,
    /// Markers in a rewrite that says it is lossless.
    MarkersInLossless,
    /// A lossy rewrite without a marker.
    LossyWithoutMarker,
    /// A lossy rewrite in a call that allows none, or from a plugin declared lossless.
    LossyNotAllowed,
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty output for a non-empty block"),
            Self::Larger(n, max) => write!(f, "output of {n} bytes is larger than allowed ({max})"),
            Self::ControlCharacter(c) => {
                write!(f, "output holds control character U+{:04X} the block did not", u32::from(*c))
            }
            Self::ForeignKey => f.write_str("a marker cites a key that is not the block's"),
            Self::BrokenMarker => f.write_str("a malformed marker, or a marker not on a line of its own"),
            Self::MarkerInFilter => f.write_str("a `before` plugin wrote a retrieval marker"),
            Self::MarkersInLossless => f.write_str("markers in a rewrite declared lossless"),
            Self::LossyWithoutMarker => f.write_str("a lossy rewrite without a marker"),
            Self::LossyNotAllowed => f.write_str("a lossy rewrite where none is allowed"),
        }
    }
}

/// Bytes a `before` filter may add: short masks may be longer than what they hide (a 20-byte
/// AWS key id becomes `[secret: aws-access-key masked]`), but a filter does not inflate.
fn filter_limit(input: usize) -> usize {
    input + input / 4 + 64
}

/// Check a plugin's rewrite of `input` (whose stored original is under `key`). `lossy_ok` is
/// whether both the call and the plugin's manifest allow dropping information.
pub fn check(
    input: &str,
    key: &str,
    output: &str,
    lossy: bool,
    lossy_ok: bool,
    placement: Placement,
) -> Result<(), Rejection> {
    if output.is_empty() && !input.is_empty() {
        return Err(Rejection::Empty);
    }
    let max = match placement {
        Placement::Before => filter_limit(input.len()),
        Placement::Instead | Placement::After => input.len(),
    };
    if output.len() > max {
        return Err(Rejection::Larger(output.len(), max));
    }
    if let Some(c) =
        output.chars().find(|&c| c.is_control() && !matches!(c, '\n' | '\r' | '\t') && !input.contains(c))
    {
        return Err(Rejection::ControlCharacter(c));
    }
    let markers = marker_lines(output)?;
    if markers.iter().any(|m| m.key != key) {
        return Err(Rejection::ForeignKey);
    }
    match (placement, markers.is_empty(), lossy) {
        (Placement::Before, false, _) => Err(Rejection::MarkerInFilter),
        (Placement::Before, true, _) => Ok(()),
        (_, false, false) => Err(Rejection::MarkersInLossless),
        (_, true, true) => Err(Rejection::LossyWithoutMarker),
        (_, false, true) if !lossy_ok => Err(Rejection::LossyNotAllowed),
        _ => Ok(()),
    }
}

/// The markers of `output`, each of which must be a whole line (surrounding blanks aside).
fn marker_lines(output: &str) -> Result<Vec<Marker>, Rejection> {
    let mut found = Vec::new();
    for line in output.lines() {
        if !line.contains("[... ") && !line.contains("headroom_retrieve(") {
            continue;
        }
        let line = line.trim();
        match Marker::parse(line) {
            Some((m, len)) if len == line.len() => found.push(m),
            _ => return Err(Rejection::BrokenMarker),
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::marker::{Marker, Unit};

    const KEY: &str = "h:0123456789abcdef01234567";

    fn marker(key: &str) -> String {
        Marker::new(Unit::Lines, vec![(2, 9)], key).render()
    }

    #[test]
    fn a_plain_smaller_rewrite_passes() {
        assert_eq!(check("a\nb\nc\n", KEY, "a\n", false, false, Placement::Instead), Ok(()));
    }

    #[test]
    fn larger_output_is_refused_except_a_filter_s_small_growth() {
        let input = "x".repeat(100);
        let grown = "y".repeat(101);
        assert_eq!(
            check(&input, KEY, &grown, false, true, Placement::Instead),
            Err(Rejection::Larger(101, 100))
        );
        assert_eq!(check(&input, KEY, &grown, false, true, Placement::Before), Ok(()));
        let inflated = "y".repeat(200);
        assert!(matches!(
            check(&input, KEY, &inflated, false, true, Placement::Before),
            Err(Rejection::Larger(..))
        ));
    }

    #[test]
    fn markers_must_cite_the_block_s_key_on_their_own_line() {
        let input = "line\n".repeat(50);
        let own = format!("line\n{}\n", marker(KEY));
        assert_eq!(check(&input, KEY, &own, true, true, Placement::Instead), Ok(()));
        let foreign = format!("line\n{}\n", marker("h:ffffffffffffffffffffffff"));
        assert_eq!(check(&input, KEY, &foreign, true, true, Placement::Instead), Err(Rejection::ForeignKey));
        let inline = format!("line {}\n", marker(KEY));
        assert_eq!(check(&input, KEY, &inline, true, true, Placement::Instead), Err(Rejection::BrokenMarker));
        let broken = "line\n[... 3 lines elided (lines 1-3), retrieve: headroom_retrieve(\"h:1\n";
        assert_eq!(check(&input, KEY, broken, true, true, Placement::Instead), Err(Rejection::BrokenMarker));
    }

    #[test]
    fn lossiness_must_match_the_markers_and_be_allowed() {
        let input = "line\n".repeat(50);
        let with = format!("{}\n", marker(KEY));
        assert_eq!(
            check(&input, KEY, &with, false, true, Placement::After),
            Err(Rejection::MarkersInLossless)
        );
        assert_eq!(
            check(&input, KEY, "line\n", true, true, Placement::After),
            Err(Rejection::LossyWithoutMarker)
        );
        assert_eq!(check(&input, KEY, &with, true, false, Placement::After), Err(Rejection::LossyNotAllowed));
        assert_eq!(check(&input, KEY, &with, false, true, Placement::Before), Err(Rejection::MarkerInFilter));
    }

    #[test]
    fn new_control_characters_are_refused() {
        assert_eq!(
            check("abc\n", KEY, "a\u{0}\n", false, false, Placement::Instead),
            Err(Rejection::ControlCharacter('\u{0}'))
        );
        assert_eq!(check("a\u{1b}[0m bc\n", KEY, "a\u{1b}[0m\n", false, false, Placement::Instead), Ok(()));
        assert_eq!(check("abc", KEY, "", false, false, Placement::Instead), Err(Rejection::Empty));
    }
}
