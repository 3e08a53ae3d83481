//! A connector's stdout and stderr: written to the host's log line by line,
//! tagged with the connector's name, and capped so a chatty or hostile
//! connector cannot fill memory or the log. Past the cap, output is dropped
//! (never an error: a full pipe would make the guest trap).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};

use crate::escape::Untrusted;

/// One stream of one invocation.
#[derive(Clone)]
pub struct GuestOutput {
    inner: Arc<Mutex<Lines>>,
}

struct Lines {
    connector: Arc<str>,
    stream: &'static str,
    /// Bytes still accepted before output is dropped.
    remaining: usize,
    partial: Vec<u8>,
    /// The last complete line, kept to explain a trap ("panicked at ...").
    last_lines: Vec<String>,
    dropped: usize,
}

/// How many of the last lines are kept for trap messages.
const KEPT_LINES: usize = 8;

impl GuestOutput {
    /// A stream for `connector` that accepts `cap` bytes per invocation.
    pub fn new(connector: Arc<str>, stream: &'static str, cap: usize) -> Self {
        GuestOutput {
            inner: Arc::new(Mutex::new(Lines {
                connector,
                stream,
                remaining: cap,
                partial: Vec::new(),
                last_lines: Vec::new(),
                dropped: 0,
            })),
        }
    }

    /// The guest's panic message, when it printed one (Rust guests print
    /// `panicked at <location>:\n<message>` before aborting).
    pub fn panic_message(&self) -> Option<String> {
        let mut lines = self.inner.lock().expect("guest output lock");
        lines.flush_partial();
        let start = lines.last_lines.iter().rposition(|l| l.contains("panicked at"))?;
        Some(lines.last_lines[start..].join(" ").trim().to_owned())
    }

    fn write(&self, buf: &[u8]) {
        let mut lines = self.inner.lock().expect("guest output lock");
        let take = buf.len().min(lines.remaining);
        lines.remaining -= take;
        lines.dropped += buf.len() - take;
        for &b in &buf[..take] {
            if b == b'\n' {
                lines.flush_partial();
            } else {
                lines.partial.push(b);
            }
        }
    }
}

impl Lines {
    fn flush_partial(&mut self) {
        if self.partial.is_empty() {
            return;
        }
        let line = String::from_utf8_lossy(&self.partial).into_owned();
        self.partial.clear();
        tracing::info!(target: "connectors", connector = %Untrusted(&self.connector), stream = self.stream, "{}",
            Untrusted(&line));
        if self.last_lines.len() == KEPT_LINES {
            self.last_lines.remove(0);
        }
        self.last_lines.push(line);
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        self.flush_partial();
        if self.dropped > 0 {
            tracing::warn!(target: "connectors", connector = %Untrusted(&self.connector), stream = self.stream,
                dropped_bytes = self.dropped, "connector output over the cap was dropped");
        }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for GuestOutput {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.write(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_panic_message_and_caps_output() {
        let out = GuestOutput::new("test".into(), "stderr", 64);
        let text = b"starting\nthread '<unnamed>' panicked at src/lib.rs:3:5:\nboom\n";
        out.write(text);
        assert_eq!(out.panic_message().unwrap(), "thread '<unnamed>' panicked at src/lib.rs:3:5: boom");
        out.write(&[b'x'; 1000]);
        assert_eq!(out.inner.lock().unwrap().remaining, 0);
        assert_eq!(out.inner.lock().unwrap().dropped, 1000 - (64 - text.len()));
    }
}
