//! Third-party HTTP servers for the HTTP-API capability, run on a free
//! loopback port for one test and stopped when dropped: httpbin (PyPI,
//! served by waitress) as an API that shows what reached it, and
//! oidc-provider (npm) as an OAuth 2.0 authorization server. Both pinned in
//! `tests/apis`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::emulator::{ensure_venv, free_port, http_get};

/// A server process and its log; dropping it stops the process.
pub struct Served {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
    what: &'static str,
}

impl Served {
    /// Starts `command` (told its port by `with_port`), and waits until
    /// `ready` says so.
    fn start(what: &'static str, with_port: impl Fn(u16) -> Command, ready: impl Fn(&Served) -> bool) -> Served {
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log = std::env::temp_dir().join(format!("connector-tests-{what}-{port}.log"));
            let log_file = std::fs::File::create(&log).expect("a log file");
            let mut command = with_port(port);
            command.stdin(Stdio::null()).stdout(log_file.try_clone().expect("a log file")).stderr(log_file);
            let child = command.spawn().unwrap_or_else(|e| panic!("could not run {command:?}: {e}"));
            let mut served = Served { child, addr: SocketAddr::from(([127, 0, 0, 1], port)), log, what };
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if let Ok(Some(status)) = served.child.try_wait() {
                    last_error = format!("it exited with {status}:\n{}", served.log());
                    break;
                }
                if ready(&served) {
                    return served;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            if last_error.is_empty() {
                last_error = format!("it did not answer within 30 s:\n{}", served.log());
            }
        }
        panic!("could not start {what}: {last_error}");
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What the server has written to its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("{} log kept at {}", self.what, self.log.display());
        } else {
            let _ = std::fs::remove_file(&self.log);
        }
    }
}

/// httpbin on loopback: `/anything`, `/headers`, `/bearer`,
/// `/basic-auth/USER/PASSWORD`, `/redirect-to?url=`, `/status/CODE` show
/// what arrived.
pub fn httpbin() -> Served {
    static VENV: OnceLock<PathBuf> = OnceLock::new();
    let venv = VENV.get_or_init(|| ensure_venv("apis/requirements.lock")).clone();
    Served::start(
        "httpbin",
        |port| {
            let mut command = Command::new(venv.join("bin/waitress-serve"));
            command.args(["--listen", &format!("127.0.0.1:{port}"), "httpbin:app"]);
            command
        },
        |served| http_get(served.addr, "/get").is_some_and(|status| status == 200),
    )
}

/// oidc-provider on loopback, with client `connector-host` whose secret
/// is `client_secret`, granting client-credentials access tokens that
/// live `token_ttl` seconds. Its token endpoint is `/token`.
pub fn oauth_provider(client_secret: &str, token_ttl: u64) -> Served {
    static MODULES: OnceLock<PathBuf> = OnceLock::new();
    let dir = MODULES
        .get_or_init(|| {
            let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("apis/oauth/ensure-node-modules");
            let output =
                Command::new(&script).stderr(Stdio::inherit()).output().expect("could not run ensure-node-modules");
            assert!(output.status.success(), "{} failed", script.display());
            PathBuf::from(String::from_utf8(output.stdout).expect("utf-8 path").trim())
        })
        .clone();
    Served::start(
        "oidc-provider",
        |port| {
            let mut command = Command::new("node");
            command
                .current_dir(&dir)
                .args(["provider.mjs", &port.to_string()])
                .env("CLIENT_SECRET", client_secret)
                .env("TOKEN_TTL", token_ttl.to_string());
            command
        },
        |served| served.log().contains("listening"),
    )
}

impl Served {
    /// A refresh token from the OAuth provider, obtained as an operator
    /// would: the authorization-code flow through its login and consent
    /// pages (driven by `apis/oauth/authorize.py`).
    pub fn authorize(&self, client_secret: &str) -> String {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("apis/oauth/authorize.py");
        let output = Command::new(crate::emulator::clients_venv().join("bin/python"))
            .arg(script)
            .args([&self.url(), client_secret])
            .output()
            .expect("the clients' python runs");
        assert!(output.status.success(), "authorizing failed: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf-8").trim().to_owned()
    }

    /// How many access tokens the OAuth provider has issued.
    pub fn tokens_issued(&self) -> usize {
        self.log().matches("token issued").count()
    }
}
