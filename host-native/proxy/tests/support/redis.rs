//! A real `redis-server` (Debian's; `tests/all.sh` installs it) on a free loopback port,
//! without persistence, stopped when dropped; and a TCP relay in front of it that can delay
//! every chunk, to play a slow Redis.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running (or stopped) `redis-server`.
pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

async fn answers(port: u16) -> bool {
    let Ok(Ok(mut s)) =
        tokio::time::timeout(Duration::from_millis(200), TcpStream::connect(("127.0.0.1", port))).await
    else {
        return false;
    };
    let mut buf = [0u8; 16];
    s.write_all(b"PING\r\n").await.is_ok()
        && tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf))
            .await
            .is_ok_and(|n| n.is_ok_and(|n| buf[..n].starts_with(b"+PONG")))
}

impl RedisServer {
    /// Start one on a free port (another test may take the port between the probe and the
    /// server's bind: then again on another).
    pub async fn start() -> Self {
        for _ in 0..20 {
            let mut s = Self { port: free_port(), child: None };
            if s.launch().await {
                return s;
            }
        }
        panic!("redis-server never started on a free port");
    }

    /// `redis://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kill it (`SIGKILL`: nothing is saved; it is an in-memory server anyway).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start it again on the same port, empty.
    pub async fn restart(&mut self) {
        assert!(self.launch().await, "redis-server did not start again on port {}", self.port);
    }

    /// Start it on its port; false when it exited (the port was taken).
    async fn launch(&mut self) -> bool {
        self.kill();
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server; tests/all.sh does)");
        self.child = Some(child);
        for _ in 0..200 {
            // Ours answers only while it runs: a server that exited lost the port to another.
            if self.child.as_mut().is_none_or(|c| !matches!(c.try_wait(), Ok(None))) {
                self.child = None;
                return false;
            }
            if answers(self.port).await {
                tokio::time::sleep(Duration::from_millis(50)).await;
                return self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        false
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A TCP relay to a Redis that waits `delay_ms` before passing on each chunk.
pub struct SlowRelay {
    pub port: u16,
    pub delay_ms: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl SlowRelay {
    /// Relay 127.0.0.1:{port} to `target`, without delay to begin with.
    pub async fn start(target: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let delay_ms = Arc::new(AtomicU64::new(0));
        let delay = Arc::clone(&delay_ms);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await else { continue };
                let (cr, cw) = client.into_split();
                let (sr, sw) = server.into_split();
                tokio::spawn(pump(cr, sw, Arc::clone(&delay)));
                tokio::spawn(pump(sr, cw, Arc::clone(&delay)));
            }
        });
        Self { port, delay_ms, task }
    }

    /// `redis://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Delay every chunk by `ms` from now on.
    pub fn set_delay(&self, ms: u64) {
        self.delay_ms.store(ms, Ordering::SeqCst);
    }
}

impl Drop for SlowRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let ms = delay.load(Ordering::SeqCst);
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
