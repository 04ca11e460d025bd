//! Frames: what agents wrap around the real output of a tool. Claude Code's `Read` numbers
//! every line (`12\t...`, or `    12→...` in older versions), Codex puts a header before a
//! command's output (`Chunk ID:`, `Wall time:`, `Process exited with code 0`, `Output:`),
//! Claude Code's `Bash` starts a failed command's output with `Exit code 1`, and many
//! frameworks send a tool's result as a JSON envelope (`{"returncode": 0, "output": "..."}`).
//!
//! Detection and transforms see the inner text, so a JSON file read through `Read` is JSON
//! and a log inside Codex's header is a log; the frame is then reproduced exactly around
//! the rewrite: headers and envelopes byte for byte, numbered lines with their own numbers,
//! and markers citing ranges a model can act on (the file's line numbers for a numbered
//! listing, the whole output's lines for a header).
//!
//! Frames nest (Codex's header around `cat -n`'s numbers): [`recognise`] peels them from the
//! outside in, [`Framed::wrap`] puts them back from the inside out.

mod envelope;
mod header;
mod numbered;

use crate::kind::ContentKind;
use crate::marker::{Marker, Unit};
use crate::transforms::{Ctx, Rewrite};

/// How many frames may nest.
const MAX_DEPTH: usize = 3;

/// One frame around an output.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Layer {
    /// Text before and after the output, kept byte for byte (`head_lines` lines before it).
    Span { head: String, tail: String, head_lines: usize },
    /// A JSON object whose string field holds the output: the bytes around that field's
    /// string literal are kept, the literal is re-encoded from the rewrite.
    Envelope { head: String, tail: String },
    /// Numbered lines: each row's number prefix, in order, and what follows the listing.
    Numbered(numbered::Listing),
}

/// An output with its frames peeled off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framed {
    layers: Vec<Layer>,
    inner: String,
}

/// The frames around `text`, outermost first; `None` when it has none.
pub fn recognise(text: &str) -> Option<Framed> {
    // Most outputs have no frame: nothing is copied for them.
    let (layer, mut current) = peel(text)?;
    let mut layers = vec![layer];
    while layers.len() < MAX_DEPTH {
        let Some((layer, inner)) = peel(&current) else { break };
        layers.push(layer);
        current = inner;
    }
    Some(Framed { layers, inner: current })
}

fn peel(text: &str) -> Option<(Layer, String)> {
    if let Some((head, inner, tail)) = header::split(text) {
        let layer = Layer::Span {
            head: head.to_owned(),
            tail: tail.to_owned(),
            head_lines: head.matches('\n').count(),
        };
        return Some((layer, inner.to_owned()));
    }
    if let Some((head, inner, tail)) = envelope::split(text) {
        return Some((Layer::Envelope { head: head.to_owned(), tail: tail.to_owned() }, inner));
    }
    numbered::Listing::parse(text).map(|(listing, inner)| (Layer::Numbered(listing), inner))
}

impl Framed {
    /// The output inside every frame.
    pub fn inner(&self) -> &str {
        &self.inner
    }

    /// Whether `kind`'s transform should run on the inner text. Source code and prose read
    /// through a numbered listing stay as they are: the agent reads them to edit them, and
    /// `Edit` needs their exact lines with their numbers (the whole-text path handles them).
    pub fn carries(&self, kind: &ContentKind) -> bool {
        let numbered = self.layers.iter().any(|l| matches!(l, Layer::Numbered(_)));
        !(numbered && matches!(kind, ContentKind::Code | ContentKind::Prose))
    }

    /// Put the frames back around a rewrite of the inner text. Lossless inner rewrites stay
    /// lossless unless a numbered listing loses its numbers (then the numbered original is
    /// offloaded under `ctx.key`).
    pub fn wrap(&self, rewrite: Rewrite, ctx: &Ctx) -> Option<Rewrite> {
        let mut text = rewrite.text;
        let mut lossy = rewrite.lossy;
        // Once markers cite a numbered listing's own numbers, outer frames leave them alone.
        let mut placed = false;
        for layer in self.layers.iter().rev() {
            text = match layer {
                Layer::Span { head, tail, head_lines } => {
                    let body = if placed { text } else { shift_markers(&text, *head_lines) };
                    format!("{head}{body}{tail}")
                }
                Layer::Envelope { head, tail } => {
                    placed = true;
                    format!("{head}{}{tail}", serde_json::to_string(&text).ok()?)
                }
                Layer::Numbered(listing) => {
                    placed = true;
                    match listing.renumber(&text) {
                        Some(t) => t,
                        None => {
                            lossy = true;
                            listing.unnumbered(&text, &rewrite.transform, ctx.key)
                        }
                    }
                }
            };
        }
        Some(Rewrite { text, transform: format!("{}+framed", rewrite.transform), lossy })
    }
}

/// `text` with every line marker's ranges mapped by `map` (1-based positions in, ranges
/// out); other text unchanged.
fn map_markers(text: &str, map: impl Fn(usize, usize) -> Vec<(usize, usize)>) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let mut at = 0;
    while let Some(pos) = text[at..].find("[... ") {
        let start = at + pos;
        match Marker::parse(&text[start..]) {
            Some((m, len)) if m.unit == Unit::Lines => {
                let ranges: Vec<(usize, usize)> = m.ranges.iter().flat_map(|&(a, b)| map(a, b)).collect();
                let mut moved = Marker::new(Unit::Lines, ranges, &m.key);
                if let Some(note) = &m.note {
                    moved = moved.with_note(note);
                }
                out.push_str(&text[at..start]);
                out.push_str(&moved.render());
                at = start + len;
            }
            Some((_, len)) => {
                out.push_str(&text[at..start + len]);
                at = start + len;
            }
            None => {
                out.push_str(&text[at..start + 5]);
                at = start + 5;
            }
        }
    }
    out.push_str(&text[at..]);
    out
}

/// Markers of the inner text cite its lines; the original holds `by` lines before them.
fn shift_markers(text: &str, by: usize) -> String {
    if by == 0 {
        return text.to_owned();
    }
    map_markers(text, |a, b| vec![(a + by, b + by)])
}

#[cfg(test)]
mod tests;
