//! A bounded, batched writer: callers append bytes to a buffer (one short lock, no system
//! call, no thread wake-up) and a background thread writes the buffer out every period. Under
//! load, per-line writes and per-line wake-ups cost more than the work being logged; here a
//! burst of lines becomes one write. Past `max_bytes` waiting, appends are refused and counted.
//! An urgent append (a warning or an error of the log) wakes the thread to write at once.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Shared {
    buf: Mutex<Vec<u8>>,
    /// The output, and the buffer last written out (cleared): swapped in for the next batch,
    /// so the two buffers keep their capacity and pages (a fresh buffer per batch grew again
    /// by reallocation and faulted its pages in, every period).
    out: Mutex<(Box<dyn Write + Send>, Vec<u8>)>,
    max_bytes: usize,
    dropped: AtomicU64,
    /// The writer thread, woken for urgent lines.
    thread: std::sync::OnceLock<std::thread::Thread>,
    /// A wake-up is pending: later urgent lines go with it (a burst of warnings wakes the
    /// writer once per batch, not once per line).
    woken: std::sync::atomic::AtomicBool,
}

/// A buffer above this after a burst is not kept.
const KEEP_BYTES: usize = 1 << 20;

impl Shared {
    fn drain(&self) {
        // One drain at a time (the timer's and a flush), in order.
        let Ok(mut out) = self.out.lock() else { return };
        let (out, spare) = &mut *out;
        match self.buf.lock() {
            Ok(mut buf) if !buf.is_empty() => std::mem::swap(&mut *buf, spare),
            _ => return,
        }
        let _ = out.write_all(spare);
        let _ = out.flush();
        spare.clear();
        if spare.capacity() > KEEP_BYTES {
            *spare = Vec::with_capacity(64 << 10);
        }
    }
}

/// A handle; clones share the buffer.
#[derive(Clone)]
pub struct BatchWriter(Arc<Shared>);

impl BatchWriter {
    /// Start the writer thread for `out`.
    pub fn spawn(
        name: &str,
        out: Box<dyn Write + Send>,
        period: Duration,
        max_bytes: usize,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            buf: Mutex::new(Vec::with_capacity(64 << 10)),
            out: Mutex::new((out, Vec::with_capacity(64 << 10))),
            max_bytes,
            dropped: AtomicU64::new(0),
            thread: std::sync::OnceLock::new(),
            woken: std::sync::atomic::AtomicBool::new(false),
        });
        let weak = Arc::downgrade(&shared);
        let writer = std::thread::Builder::new().name(name.into()).spawn(move || {
            loop {
                // Woken early by an urgent line (or spuriously: a drain more, no harm).
                std::thread::park_timeout(period);
                // Every handle gone: the last drain happened in `Drop`.
                let Some(shared) = weak.upgrade() else { return };
                // Cleared before the drain: a line appended after it wakes the thread again.
                shared.woken.store(false, Ordering::SeqCst);
                shared.drain();
            }
        })?;
        let _ = shared.thread.set(writer.thread().clone());
        Ok(Self(shared))
    }

    /// [`Self::append`], then wake the writer thread to write it out now (one wake-up: for
    /// the rare lines someone may be waiting to read, not for every line).
    pub fn append_now(&self, bytes: &[u8]) -> bool {
        let appended = self.append(bytes);
        if !self.0.woken.swap(true, Ordering::SeqCst)
            && let Some(thread) = self.0.thread.get()
        {
            thread.unpark();
        }
        appended
    }

    /// Append `bytes` whole, or refuse them (counted) when the buffer is full.
    pub fn append(&self, bytes: &[u8]) -> bool {
        if let Ok(mut buf) = self.0.buf.lock()
            && buf.len() + bytes.len() <= self.0.max_bytes
        {
            buf.extend_from_slice(bytes);
            return true;
        }
        self.0.dropped.fetch_add(1, Ordering::Relaxed);
        false
    }

    /// Appends refused so far.
    pub fn dropped(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }

    /// Write out what is waiting, now.
    pub fn flush(&self) {
        self.0.drain();
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.drain();
    }
}

/// `io::Write` over a [`BatchWriter`], for `tracing`'s formatter (one `write` per event);
/// warnings and errors are urgent.
pub struct Lines {
    out: BatchWriter,
    urgent: bool,
}

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.urgent {
            self.out.append_now(buf);
        } else {
            self.out.append(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchWriter {
    type Writer = Lines;

    fn make_writer(&'a self) -> Self::Writer {
        Lines { out: self.clone(), urgent: false }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        Lines { out: self.clone(), urgent: *meta.level() <= tracing::Level::WARN }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map(|mut v| v.extend_from_slice(b)).ok();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn lines_are_written_in_batches_and_overflow_is_counted() {
        let sink = Sink::default();
        let w =
            BatchWriter::spawn("test", Box::new(sink.clone()), Duration::from_secs(3600), 10).expect("spawn");
        assert!(w.append(b"12345\n"));
        assert!(!w.append(b"67890\n"));
        assert_eq!(w.dropped(), 1);
        assert!(sink.0.lock().unwrap().is_empty());
        w.flush();
        assert_eq!(&*sink.0.lock().unwrap(), b"12345\n");
    }

    #[test]
    fn warnings_and_errors_are_written_at_once_other_lines_with_the_batch() {
        let sink = Sink::default();
        let w = BatchWriter::spawn("test", Box::new(sink.clone()), Duration::from_secs(3600), 1 << 20)
            .expect("spawn");
        let subscriber = tracing_subscriber::fmt().with_writer(w.clone()).with_ansi(false).finish();
        let text = || String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let arrives = |what: &str| {
            (0..200).any(|_| {
                std::thread::sleep(Duration::from_millis(10));
                text().contains(what)
            })
        };
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("an info line");
            tracing::warn!("a warning");
        });
        // The warning woke the writer, which wrote what was waiting: the info line before it.
        assert!(arrives("a warning"), "{}", text());
        let (info, warning) = (text().find("an info line"), text().find("a warning"));
        assert!(info.zip(warning).is_some_and(|(i, w)| i < w), "{}", text());
        let subscriber = tracing_subscriber::fmt().with_writer(w.clone()).with_ansi(false).finish();
        tracing::subscriber::with_default(subscriber, || {
            for _ in 0..100 {
                tracing::warn!("one of a burst");
            }
            tracing::error!("an error");
        });
        assert!(arrives("an error"), "{}", text());
        assert_eq!(text().matches("one of a burst").count(), 100);
        let subscriber = tracing_subscriber::fmt().with_writer(w.clone()).with_ansi(false).finish();
        tracing::subscriber::with_default(subscriber, || tracing::info!("a later info line"));
        std::thread::sleep(Duration::from_millis(200));
        // A period of an hour: only a flush writes it.
        assert!(!text().contains("a later info line"));
        w.flush();
        assert!(text().contains("a later info line"));
    }
}
