//! A real NATS server with JetStream on loopback for the queue tests:
//! Debian's `nats-server`, its store in a temporary directory; stopped
//! when dropped.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::emulator::{free_port, http_get};

const BINARY: &str = "/usr/sbin/nats-server";

/// A running nats-server.
pub struct NatsServer {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl NatsServer {
    /// Starts nats-server with JetStream on, and waits until JetStream
    /// answers its health check.
    pub fn start() -> NatsServer {
        crate::debian::ensure_installed(&[BINARY], &["nats-server"]);
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut last_error = String::new();
        for _ in 0..3 {
            let (port, monitor) = (free_port(), free_port());
            let log = std::fs::File::create(dir.path().join("nats.log")).unwrap();
            let mut child = Command::new(BINARY)
                .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-m", &monitor.to_string(), "-js", "-sd"])
                .arg(dir.path().join("store"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("nats-server runs");
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    last_error = format!("it exited with {status}: {}", log_of(&dir));
                    break;
                }
                let monitor = SocketAddr::from(([127, 0, 0, 1], monitor));
                if http_get(monitor, "/healthz?js-enabled-only=true") == Some(200) {
                    return NatsServer { child, port, _dir: dir };
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
            if last_error.is_empty() {
                last_error = format!("JetStream was not ready within 20 s: {}", log_of(&dir));
            }
        }
        panic!("could not start nats-server: {last_error}");
    }

    /// `nats://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops it now (a queue outage), as if it crashed.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn log_of(dir: &tempfile::TempDir) -> String {
    std::fs::read_to_string(dir.path().join("nats.log")).unwrap_or_default()
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
