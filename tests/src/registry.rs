//! A real OCI registry on loopback for the OCI tests: the CNCF
//! distribution server from Debian's `docker-registry` package, with its
//! storage in a temporary directory, optionally behind htpasswd basic
//! authentication; stopped when dropped.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::emulator::{clients_venv, free_port, http_get};

const BINARY: &str = "/usr/bin/docker-registry";

/// A running registry.
pub struct Registry {
    child: Option<Child>,
    addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl Registry {
    /// A registry anyone may push to and pull from.
    pub fn start() -> Registry {
        Self::start_with(None)
    }

    /// A registry that takes only `user` with `password` (HTTP basic
    /// authentication).
    pub fn start_with_user(user: &str, password: &str) -> Registry {
        Self::start_with(Some((user, password)))
    }

    fn start_with(user: Option<(&str, &str)>) -> Registry {
        crate::debian::ensure_installed(&[BINARY], &["docker-registry"]);
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut auth = String::new();
        if let Some((user, password)) = user {
            let htpasswd = dir.path().join("htpasswd");
            let hash = Command::new(clients_venv().join("bin/python"))
                .args([
                    "-c",
                    "import bcrypt, sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt()).decode())",
                ])
                .arg(password)
                .output()
                .expect("python with bcrypt");
            assert!(hash.status.success(), "bcrypt failed: {}", String::from_utf8_lossy(&hash.stderr));
            std::fs::write(&htpasswd, format!("{user}:{}", String::from_utf8(hash.stdout).unwrap().trim())).unwrap();
            auth = format!("auth:\n  htpasswd:\n    realm: tests\n    path: {}\n", htpasswd.display());
        }
        let mut last_error = String::new();
        for _ in 0..3 {
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: {}\n{auth}\
                     http:\n  addr: {addr}\n  secret: tests\n",
                    dir.path().join("data").display()
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
            let mut child = Command::new(BINARY)
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("docker-registry runs");
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut up = false;
            while Instant::now() < deadline {
                if let Ok(Some(status)) = child.try_wait() {
                    last_error = format!("it exited with {status}: {}", Self::log_of(&dir));
                    break;
                }
                // 401 is an answer too (with htpasswd).
                if http_get(addr, "/v2/").is_some_and(|status| status == 200 || status == 401) {
                    up = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if up {
                return Registry { child: Some(child), addr, dir };
            }
            let _ = child.kill();
            let _ = child.wait();
            if last_error.is_empty() {
                last_error = format!("it did not answer within 20 s: {}", Self::log_of(&dir));
            }
        }
        panic!("could not start the registry: {last_error}");
    }

    fn log_of(dir: &tempfile::TempDir) -> String {
        std::fs::read_to_string(dir.path().join("registry.log")).unwrap_or_default()
    }

    /// `127.0.0.1:PORT`, as references name it.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// `oci://127.0.0.1:PORT/{repository}`.
    pub fn reference(&self, repository: &str) -> String {
        format!("oci://{}/{repository}", self.addr)
    }

    /// Where the registry keeps the blob with `digest` (`sha256:<hex>`), for
    /// tests that alter what it serves.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("a sha256 digest");
        self.dir.path().join("data/docker/registry/v2/blobs/sha256").join(&hex[..2]).join(hex).join("data")
    }

    /// How many requests for `path` (`/v2/team/connector/manifests/live`)
    /// the registry has answered, from its access log.
    pub fn requests_for(&self, path: &str) -> usize {
        Self::log_of(&self.dir)
            .lines()
            .filter(|line| ["GET", "HEAD"].iter().any(|method| line.contains(&format!("\"{method} {path} "))))
            .count()
    }

    /// Stops the registry (before the test ends, to show what works
    /// without it).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}
