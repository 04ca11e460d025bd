//! A cached answer as stored in the shared backend: `HRC1`, the Unix milliseconds it was
//! stored, its content type and its chunks, each length-prefixed (little-endian). Chunks are
//! kept apart so a stream replays as the same stream on every replica.

use std::time::Duration;

use bytes::Bytes;

const MAGIC: &[u8; 4] = b"HRC1";

fn unix_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Encode an answer stored now.
pub fn encode(chunks: &[Bytes], content_type: Option<&http::HeaderValue>) -> Vec<u8> {
    let ct = content_type.map_or(&[][..], http::HeaderValue::as_bytes);
    let len: usize = chunks.iter().map(|c| c.len() + 4).sum();
    let mut out = Vec::with_capacity(4 + 8 + 4 + ct.len() + 4 + len);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&unix_ms().to_le_bytes());
    out.extend_from_slice(&(ct.len() as u32).to_le_bytes());
    out.extend_from_slice(ct);
    out.extend_from_slice(&(chunks.len() as u32).to_le_bytes());
    for c in chunks {
        out.extend_from_slice(&(c.len() as u32).to_le_bytes());
        out.extend_from_slice(c);
    }
    out
}

/// Its age, chunks and content type; `None` for anything malformed (treated as a miss).
pub fn decode(bytes: &[u8]) -> Option<(Duration, Vec<Bytes>, Option<http::HeaderValue>)> {
    let mut rest = bytes.strip_prefix(MAGIC)?;
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, tail) = rest.split_at_checked(n)?;
        rest = tail;
        Some(head)
    };
    let stored = u64::from_le_bytes(take(8)?.try_into().ok()?);
    let ct_len = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    let ct = take(ct_len)?;
    let content_type = if ct.is_empty() { None } else { Some(http::HeaderValue::from_bytes(ct).ok()?) };
    let n = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
    let mut chunks = Vec::with_capacity(n.min(4096));
    for _ in 0..n {
        let len = u32::from_le_bytes(take(4)?.try_into().ok()?) as usize;
        chunks.push(Bytes::copy_from_slice(take(len)?));
    }
    Some((Duration::from_millis(unix_ms().saturating_sub(stored)), chunks, content_type))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let chunks =
            vec![Bytes::from_static(b"event: a\n\n"), Bytes::new(), Bytes::from_static(b"data: [DONE]\n\n")];
        let ct = http::HeaderValue::from_static("text/event-stream");
        let encoded = encode(&chunks, Some(&ct));
        let (age, back, ct_back) = decode(&encoded).expect("decodes");
        assert!(age < Duration::from_secs(5));
        assert_eq!((back, ct_back), (chunks, Some(ct)));
        assert!(decode(b"HRC1").is_none());
        assert!(decode(&encoded[..encoded.len() - 1]).is_none());
        assert!(decode(b"nonsense").is_none());
    }
}
