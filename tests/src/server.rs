//! `connector-host serve` as a real process on a free loopback port, for
//! the tests that talk to it over HTTP, and `connector-host worker` as a
//! process. Dropping either kills the process; `stop` sends SIGTERM and
//! waits for it to exit.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A running `serve`.
pub struct Server {
    child: Child,
    base: String,
    client: reqwest::Client,
    token: Option<String>,
}

impl Server {
    /// Starts `binary serve --connectors DIR --data-dir DATA --listen
    /// 127.0.0.1:0 ARGS...` and waits until it listens and has loaded DIR.
    pub async fn start(binary: &str, connectors: &Path, data: &Path, args: &[&str], token: Option<&str>) -> Server {
        let connectors = connectors.to_str().expect("a UTF-8 path");
        let args: Vec<&str> = ["--connectors", connectors].iter().chain(args).copied().collect();
        Self::start_serving(binary, data, &args, token).await
    }

    /// Starts `binary serve --data-dir DATA --listen 127.0.0.1:0 ARGS...`
    /// (ARGS say what to serve) and waits until it listens and is ready.
    pub async fn start_serving(binary: &str, data: &Path, args: &[&str], token: Option<&str>) -> Server {
        let mut command = Command::new(binary);
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--region", crate::REGION, "--log", "warn"])
            .arg("--data-dir")
            .arg(data)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "AKIDSERVETEST")
            .env("AWS_SECRET_ACCESS_KEY", "serve-test-secret")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("XDG_CACHE_HOME", crate::cache_dir().join("xdg"))
            .env_remove("CONNECTOR_HOST_API_TOKEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(token) = token {
            command.env("CONNECTOR_HOST_API_TOKEN", token);
        }
        let mut child = command.spawn().expect("serve starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("serve announces where it listens");
        let base = line.strip_prefix("listening on ").expect("the announcement").to_owned();
        let server = Server { child, base, client: reqwest::Client::new(), token: token.map(str::to_owned) };
        server.wait_until(Duration::from_secs(60), async || server.status("/readyz").await == 200).await;
        server
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A request to `path` carrying the token, if the server has one.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// GET `path`: status and JSON body (or `null`).
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.request(reqwest::Method::GET, path).send().await.expect("the server answers");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    /// POST `body` to `path`: status and JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let response = self.request(reqwest::Method::POST, path).json(body).send().await.expect("the server answers");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    /// The status of GET `path`.
    pub async fn status(&self, path: &str) -> u16 {
        match self.request(reqwest::Method::GET, path).send().await {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        }
    }

    /// Polls `condition` until it holds; panics after `timeout`.
    pub async fn wait_until(&self, timeout: Duration, mut condition: impl AsyncFnMut() -> bool) {
        let deadline = Instant::now() + timeout;
        while !condition().await {
            assert!(Instant::now() < deadline, "the server did not reach the expected state within {timeout:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Sends SIGTERM and waits (at most `timeout`) for the process to exit.
    pub fn stop(mut self, timeout: Duration) -> ExitStatus {
        terminate(&mut self.child, "serve", timeout)
    }

    /// Waits (at most `timeout`) for the process to exit by itself (after
    /// a signal sent already: a second one would end it at once).
    pub fn wait_for_exit(mut self, timeout: Duration) -> ExitStatus {
        wait_for(&mut self.child, "serve", timeout)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A running `worker`, its log (stderr) kept in a file to read back.
pub struct WorkerProcess {
    child: Child,
    log: std::path::PathBuf,
}

impl WorkerProcess {
    /// Starts `binary worker --queue QUEUE --name NAME --data-dir DATA
    /// --log info ARGS...`, and waits until it takes runs.
    pub fn start(binary: &str, queue: &str, name: &str, data: &Path, args: &[&str]) -> WorkerProcess {
        let log = data.join(format!("{name}.log"));
        let child = Command::new(binary)
            .args(["worker", "--queue", queue, "--name", name, "--region", crate::REGION, "--log", "info"])
            .arg("--data-dir")
            .arg(data)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "AKIDWORKERTEST")
            .env("AWS_SECRET_ACCESS_KEY", "worker-test-secret")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("XDG_CACHE_HOME", crate::cache_dir().join("xdg"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("a worker log"))
            .spawn()
            .expect("the worker starts");
        let mut worker = WorkerProcess { child, log };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !worker.log().contains("worker taking runs") {
            if let Ok(Some(status)) = worker.child.try_wait() {
                panic!("the worker exited with {status}:\n{}", worker.log());
            }
            assert!(Instant::now() < deadline, "the worker did not start within 60 s:\n{}", worker.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        worker
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills it with SIGKILL: no chance to settle anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits (at most `timeout`) for it to exit.
    pub fn stop(&mut self, timeout: Duration) -> ExitStatus {
        terminate(&mut self.child, "the worker", timeout)
    }

    /// Sends SIGTERM twice, and waits (at most `timeout`) for it to exit.
    pub fn stop_at_once(&mut self, timeout: Duration) -> ExitStatus {
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        std::thread::sleep(Duration::from_millis(200));
        terminate(&mut self.child, "the worker", timeout)
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Sends `child` (`what`, in messages) SIGTERM and waits at most `timeout`
/// for it to exit.
fn terminate(child: &mut Child, what: &str, timeout: Duration) -> ExitStatus {
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    wait_for(child, what, timeout)
}

/// Waits at most `timeout` for `child` (`what`, in messages) to exit.
fn wait_for(child: &mut Child, what: &str, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap_or_else(|e| panic!("wait for {what}: {e}")) {
            return status;
        }
        assert!(Instant::now() < deadline, "{what} did not exit within {timeout:?} of SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}
