//! A loopback HTTP endpoint that records each request it receives and
//! answers with a fixed body: it shows what a connector put on the wire.
//! It knows nothing of Cognito.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

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

/// The endpoint. Requests are kept until taken; the server thread ends with
/// the process (it only ever listens on loopback).
pub struct CaptureServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<CapturedRequest>>>,
    response: Arc<Mutex<(u16, Vec<u8>)>>,
}

impl CaptureServer {
    /// Starts answering `200 {}`.
    pub fn start() -> CaptureServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let response = Arc::new(Mutex::new((200, b"{}".to_vec())));
        let (seen, answer) = (requests.clone(), response.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                if let Some(request) = read_request(&mut reader) {
                    seen.lock().unwrap().push(request);
                    let (status, body) = answer.lock().unwrap().clone();
                    let mut stream = reader.into_inner();
                    let _ = write!(
                        stream,
                        "HTTP/1.1 {status} X\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(&body);
                }
            }
        });
        CaptureServer { addr, requests, response }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers later requests with `status` and `body`.
    pub fn respond_with(&self, status: u16, body: &[u8]) {
        *self.response.lock().unwrap() = (status, body.to_vec());
    }

    /// The requests received since the last call.
    pub fn take(&self) -> Vec<CapturedRequest> {
        std::mem::take(&mut self.requests.lock().unwrap())
    }
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
