//! An upstream that misbehaves on purpose, written on raw TCP so each fault is exactly what
//! a broken provider or network does: it refuses, resets, hangs, stalls, cuts a body, sends
//! garbage or a huge answer, or splits characters across writes. It records when the proxy
//! closed each connection, so tests can prove the proxy lets go of an upstream it gave up on.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the upstream does once it has read a request.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Accept and read the request, then reset the connection before any answer.
    Reset,
    /// Read the request and never answer.
    Hang,
    /// Send a 200 head and the first `events` of the stream (or the first half of the JSON
    /// answer), then nothing.
    Stall,
    /// Send a 200 head and part of the body (events, or half the JSON), then reset.
    CutReset,
    /// Send a 200 JSON head announcing the whole answer, half of it, then close (a short read).
    ShortRead,
    /// End the event stream cleanly (proper framing) before its final event.
    EndsEarly,
    /// Answer 200 `application/json` with random bytes.
    Garbage,
    /// Answer this error status with the provider's headers and body.
    Status(u16),
    /// Answer 200 with a valid JSON answer of about this many bytes.
    Huge(usize),
    /// Send this whole event stream (or JSON answer), one byte per write around multi-byte
    /// characters.
    Split(Vec<u8>),
}

/// A running faulty upstream.
pub struct Faulty {
    pub url: String,
    /// When the proxy closed each connection it opened (read end reached EOF or an error).
    pub closed: Arc<Mutex<Vec<Instant>>>,
    /// The bodies of the requests it read.
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Faulty {
    /// Wait up to `limit` for the proxy to have closed `n` connections.
    pub async fn closed_within(&self, n: usize, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.closed.lock().expect("lock").len() >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }
}

/// The events a stall or cut sends before the fault, and the JSON answer, per API.
#[derive(Clone)]
pub struct Script {
    /// Events before the fault (each a whole `event:`/`data:` block).
    pub events: Vec<String>,
    /// The non-streaming answer.
    pub json: String,
}

/// An address nothing listens on (bound, then released).
pub async fn refusing_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}")
}

pub async fn start(behaviour: Behaviour, script: Script) -> Faulty {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let closed = Arc::new(Mutex::new(Vec::new()));
    let requests = Arc::new(Mutex::new(Vec::new()));
    let (record, seen) = (Arc::clone(&closed), Arc::clone(&requests));
    tokio::spawn(async move {
        // Bounded: a test opens a handful of connections, and the task ends with the runtime.
        for _ in 0..64 {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (behaviour, script) = (behaviour.clone(), script.clone());
            let (record, seen) = (Arc::clone(&record), Arc::clone(&seen));
            tokio::spawn(async move { serve(tcp, behaviour, script, record, seen).await });
        }
    });
    Faulty { url, closed, requests }
}

/// Read one request: head, then a body of `content-length` bytes.
async fn read_request(tcp: &mut TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = tcp.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(String::from_utf8_lossy(&buf[head_end..]).into_owned())
}

fn sse_head() -> &'static str {
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
}

fn chunk(data: &[u8]) -> Vec<u8> {
    let mut out = format!("{:x}\r\n", data.len()).into_bytes();
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
    out
}

fn json_head(length: usize) -> String {
    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {length}\r\n\r\n")
}

async fn serve(
    mut tcp: TcpStream,
    behaviour: Behaviour,
    script: Script,
    closed: Arc<Mutex<Vec<Instant>>>,
    requests: Arc<Mutex<Vec<String>>>,
) {
    let Some(body) = read_request(&mut tcp).await else { return };
    let stream = body.contains("\"stream\":true");
    requests.lock().expect("lock").push(body);
    let half = &script.json.as_bytes()[..script.json.len() / 2];
    let reset = |tcp: TcpStream| {
        let _ = tcp.set_zero_linger();
        drop(tcp);
    };
    match behaviour {
        Behaviour::Reset => return reset(tcp),
        Behaviour::Hang => {}
        Behaviour::Stall | Behaviour::CutReset | Behaviour::EndsEarly if stream => {
            let _ = tcp.write_all(sse_head().as_bytes()).await;
            for event in &script.events {
                let _ = tcp.write_all(&chunk(event.as_bytes())).await;
            }
            match behaviour {
                Behaviour::CutReset => return reset(tcp),
                Behaviour::EndsEarly => {
                    let _ = tcp.write_all(b"0\r\n\r\n").await;
                }
                _ => {}
            }
        }
        Behaviour::Stall | Behaviour::CutReset | Behaviour::ShortRead | Behaviour::EndsEarly => {
            let _ = tcp.write_all(json_head(script.json.len()).as_bytes()).await;
            let _ = tcp.write_all(half).await;
            match behaviour {
                Behaviour::CutReset => return reset(tcp),
                Behaviour::ShortRead => {
                    let _ = tcp.shutdown().await;
                }
                _ => {}
            }
        }
        Behaviour::Garbage => {
            // Deterministic noise (a xorshift), never valid JSON: it starts with a byte JSON
            // cannot start with.
            let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
            let mut noise = vec![0xffu8];
            noise.extend((0..4096).map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            }));
            let _ = tcp.write_all(json_head(noise.len()).as_bytes()).await;
            let _ = tcp.write_all(&noise).await;
        }
        Behaviour::Status(code) => {
            let body = r#"{"type":"error","error":{"type":"overloaded_error","message":"upstream says no"}}"#;
            let head = format!(
                "HTTP/1.1 {code} Whatever\r\ncontent-type: application/json\r\nretry-after: 7\r\n\
                 x-request-id: req_faulty\r\nanthropic-ratelimit-requests-remaining: 0\r\n\
                 x-ratelimit-reset-requests: 1s\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            let _ = tcp.write_all(head.as_bytes()).await;
            let _ = tcp.write_all(body.as_bytes()).await;
        }
        Behaviour::Huge(size) => {
            let filler = "x".repeat(size);
            let body = format!("{{\"filler\":\"{filler}\",\"answer\":{}}}", script.json);
            let _ = tcp.write_all(json_head(body.len()).as_bytes()).await;
            let _ = tcp.write_all(body.as_bytes()).await;
        }
        Behaviour::Split(bytes) => {
            let head = if stream { sse_head().to_owned() } else { json_head(bytes.len()) };
            let _ = tcp.write_all(head.as_bytes()).await;
            // Every multi-byte character goes out one byte per write, with a pause, so the
            // proxy reads it in separate segments.
            for piece in split_around_multibyte(&bytes) {
                let framed = if stream { chunk(piece) } else { piece.to_vec() };
                let _ = tcp.write_all(&framed).await;
                let _ = tcp.flush().await;
                if piece.len() == 1 && piece[0] >= 0x80 {
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            }
            if stream {
                let _ = tcp.write_all(b"0\r\n\r\n").await;
            }
        }
    }
    // Hold the connection until the proxy closes it (or 60 s), and note when it did.
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match tcp.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await;
    closed.lock().expect("lock").push(Instant::now());
}

/// `bytes` in runs of ASCII, with each byte of a multi-byte character on its own.
fn split_around_multibyte(bytes: &[u8]) -> Vec<&[u8]> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b >= 0x80 {
            if start < i {
                pieces.push(&bytes[start..i]);
            }
            pieces.push(&bytes[i..=i]);
            start = i + 1;
        }
    }
    if start < bytes.len() {
        pieces.push(&bytes[start..]);
    }
    pieces
}
