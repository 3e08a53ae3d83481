//! A loopback HTTP endpoint that records each request it receives and
//! answers from a script: fixed responses, dropped connections, slow or
//! truncated bodies. It shows what a connector put on the wire and lets
//! tests inject upstream faults. It knows nothing of Cognito.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as received.
#[derive(Debug, Clone)]
pub struct CapturedRequest {
    pub method: String,
    pub path: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl CapturedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// How the server answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete response.
    Respond { status: u16, headers: Vec<(String, String)>, body: Vec<u8> },
    /// Close the connection without answering.
    Reset,
    /// Send the head at once and the body after `delay`.
    SlowBody { delay: Duration, body: Vec<u8> },
    /// Declare `declared` body bytes, send `body` (fewer) and close.
    Truncated { declared: usize, body: Vec<u8> },
}

impl Reply {
    /// A JSON response with `status`.
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::Respond { status, headers: Vec::new(), body: body.as_bytes().to_vec() }
    }

    /// An AWS JSON error response with `code`.
    pub fn aws_error(status: u16, code: &str) -> Reply {
        Reply::json(status, &format!(r#"{{"__type":"{code}","message":"{code} from the test server"}}"#))
    }
}

/// The endpoint. The server thread ends with the process (it only ever
/// listens on loopback).
pub struct CaptureServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<CapturedRequest>>>,
    /// Requests received in all, never reset.
    received: Arc<std::sync::atomic::AtomicUsize>,
    script: Arc<Mutex<(VecDeque<Reply>, Reply)>>,
}

impl CaptureServer {
    /// Starts answering `200 {}`.
    pub fn start() -> CaptureServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let received = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let script = Arc::new(Mutex::new((VecDeque::new(), Reply::json(200, "{}"))));
        let (seen, replies, count) = (requests.clone(), script.clone(), received.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (seen, replies, count) = (seen.clone(), replies.clone(), count.clone());
                // One thread per connection, so a slow answer does not hold
                // back the next attempt.
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream);
                    if let Some(request) = read_request(&mut reader) {
                        let reply = {
                            let mut script = replies.lock().unwrap();
                            seen.lock().unwrap().push(request);
                            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            let fallback = script.1.clone();
                            script.0.pop_front().unwrap_or(fallback)
                        };
                        answer(reader.into_inner(), reply);
                    }
                });
            }
        });
        CaptureServer { addr, requests, received, script }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers every later request with `status` and `body`.
    pub fn respond_with(&self, status: u16, body: &[u8]) {
        self.script.lock().unwrap().1 = Reply::Respond { status, headers: Vec::new(), body: body.to_vec() };
    }

    /// Answers the next requests with `replies`, in order, then as before.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script.lock().unwrap().0.extend(replies);
    }

    /// Waits until `n` requests have been received in all (answered or
    /// still being answered); panics after `timeout`.
    pub async fn wait_for_requests(&self, n: usize, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.received.load(std::sync::atomic::Ordering::SeqCst) < n {
            assert!(tokio::time::Instant::now() < deadline, "{n} requests did not arrive within {timeout:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The requests received since the last call.
    pub fn take(&self) -> Vec<CapturedRequest> {
        std::mem::take(&mut self.requests.lock().unwrap())
    }
}

fn answer(mut stream: TcpStream, reply: Reply) {
    let head = |status: u16, length: usize, extra: &[(String, String)]| {
        let mut head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {length}\r\nconnection: close\r\n"
        );
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head + "\r\n"
    };
    let _ = match reply {
        Reply::Respond { status, headers, body } => {
            stream.write_all(head(status, body.len(), &headers).as_bytes()).and_then(|()| stream.write_all(&body))
        }
        Reply::Reset => Ok(()),
        Reply::SlowBody { delay, body } => stream.write_all(head(200, body.len(), &[]).as_bytes()).and_then(|()| {
            std::thread::sleep(delay);
            stream.write_all(&body)
        }),
        Reply::Truncated { declared, body } => {
            stream.write_all(head(200, declared, &[]).as_bytes()).and_then(|()| stream.write_all(&body))
        }
    };
}

fn read_request(reader: &mut impl BufRead) -> Option<CapturedRequest> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let length: usize =
        headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(CapturedRequest { method, path, headers, body })
}
