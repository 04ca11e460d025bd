//! Counting by pre-tokenized piece, each piece's count remembered.
//!
//! o200k_base splits a text into pieces (words with their leading space, runs of digits,
//! punctuation, newlines) and encodes each piece on its own, so a text's count is the sum of
//! its pieces' counts (`bpe_openai::Tokenizer::count` is exactly that sum). Pieces repeat far
//! more than texts do: a new 10 KB command output is new as a text, but its pieces are mostly
//! ` the`, `    `, `\n`, `error`. Encoding a piece allocated two buffers and ran the
//! backtracking encoder: half of counting a new text. A small table per thread (no lock on the
//! request path) keeps each short piece's count, so a piece seen before costs a hash and a
//! compare.

use std::cell::RefCell;

/// Pieces longer than this are encoded every time (few are, and they repeat less).
const MAX_PIECE: usize = 22;
/// Slots in each thread's table (direct-mapped: a new piece replaces whatever shared its slot).
const SLOTS: usize = 1 << 15;

#[derive(Clone, Copy)]
struct Slot {
    len: u8,
    bytes: [u8; MAX_PIECE],
    count: u32,
}

const EMPTY: Slot = Slot { len: u8::MAX, bytes: [0; MAX_PIECE], count: 0 };

thread_local! {
    static TABLE: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
}

/// The o200k_base count of `text`, equal to `bpe_openai::o200k_base().count(text)`.
pub fn count(text: &str) -> usize {
    let tokenizer = bpe_openai::o200k_base();
    let text = tokenizer.normalize(text);
    TABLE.with(|table| {
        let mut table = table.borrow_mut();
        if table.is_empty() {
            table.resize(SLOTS, EMPTY);
        }
        tokenizer.split(text.as_str()).map(|piece| piece_count(&mut table, piece.as_bytes())).sum()
    })
}

fn piece_count(table: &mut [Slot], piece: &[u8]) -> usize {
    let bpe = &bpe_openai::o200k_base().bpe;
    if piece.len() > MAX_PIECE {
        return bpe.count(piece);
    }
    let slot = &mut table[slot_of(piece)];
    if usize::from(slot.len) == piece.len() && &slot.bytes[..piece.len()] == piece {
        return slot.count as usize;
    }
    let n = bpe.count(piece);
    let mut bytes = [0u8; MAX_PIECE];
    bytes[..piece.len()].copy_from_slice(piece);
    // A piece of at most 22 bytes holds at most 22 tokens.
    *slot = Slot { len: piece.len() as u8, bytes, count: n as u32 };
    n
}

/// The slot of a piece: FNV-1a, folded to the table's size.
fn slot_of(piece: &[u8]) -> usize {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in piece {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    ((h ^ (h >> 29)) as usize) & (SLOTS - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(text: &str) -> usize {
        bpe_openai::o200k_base().count(text)
    }

    #[test]
    fn counts_equal_the_encoders_on_every_kind_of_text() {
        let texts = [
            String::new(),
            "hello world".to_owned(),
            "fn main() {\n    println!(\"héllo, wörld\");\n}\n".repeat(50),
            "2026-12-05 10:00:01 INFO worker 3 processed item 12 ok\n".repeat(200),
            "    \n\t\t  \r\n".repeat(30),
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 123456789012345678901234567890".to_owned(),
            "日本語のテキストと emoji 🎉🎉 mixed with code `x += 1`".repeat(20),
            (0..3000u32).map(|i| char::from_u32(0x20 + (i * 7919) % 0x2fff).unwrap_or('x')).collect(),
        ];
        for text in &texts {
            // Twice: the second time from the table.
            assert_eq!(count(text), reference(text), "{:?}", &text[..text.len().min(60)]);
            assert_eq!(count(text), reference(text));
        }
    }

    #[test]
    fn pieces_sharing_a_slot_replace_each_other_and_stay_exact() {
        // Far more distinct pieces than slots: every slot is overwritten many times.
        let text: String = (0..(SLOTS as u32 * 3)).map(|i| format!(" w{i:x}")).collect();
        assert_eq!(count(&text), reference(&text));
        assert_eq!(count(&text), reference(&text));
    }
}
