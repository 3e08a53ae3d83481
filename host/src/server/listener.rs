//! Accepting `serve`'s connections: HTTP/1.1 over TCP, each connection on
//! a task of its own, within bounds on what clients can hold.
//!
//! Guards against: clients that hold a connection without finishing a
//! request (a request head not received in full within the header timeout
//! closes the connection, and so does a kept-alive connection idle that
//! long), bodies that never finish ([`bound_body`]: within the body timeout
//! and the size cap, for every route, `/mcp` included), answers the client
//! does not read (a write that makes no progress for the body timeout
//! closes the connection), and running out of file descriptors (at most
//! `max_connections` open at once, kept below the process's open-file
//! limit; more wait in the kernel's backlog until one closes, so the run
//! store, the directory watch and outbound requests always find one).

use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::server::api::ApiError;
use crate::server::auth::ClientAddress;

/// What clients may hold of a server, and for how long.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Connections open at once; more wait to be accepted. Lowered at start
    /// to fit the process's open-file limit.
    pub max_connections: usize,
    /// Longest a client may take to send a request's head; also how long
    /// a kept-alive connection may stay idle between requests.
    pub header_timeout: Duration,
    /// Longest a client may take to send a request's body, and longest an
    /// answer may wait for the client to read it.
    pub body_timeout: Duration,
    /// Largest request body accepted, on every route.
    pub max_body_bytes: usize,
    /// MCP sessions kept at once on `/mcp`; a new one past it closes the
    /// least recently used.
    pub max_mcp_sessions: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 1024,
            header_timeout: Duration::from_secs(15),
            body_timeout: Duration::from_secs(60),
            max_body_bytes: 16 * 1024 * 1024,
            max_mcp_sessions: 256,
        }
    }
}

/// File descriptors kept for everything but client connections: the run
/// store, the directory watch, outbound requests, registries, NATS.
const RESERVED_DESCRIPTORS: u64 = 256;

impl ConnectionLimits {
    /// `max_connections`, lowered to leave [`RESERVED_DESCRIPTORS`] of the
    /// process's open-file limit free.
    pub(super) fn connections_allowed(&self) -> usize {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes into the struct it is given.
        let known = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
        if !known || limit.rlim_cur == libc::RLIM_INFINITY {
            return self.max_connections;
        }
        let room = limit.rlim_cur.saturating_sub(RESERVED_DESCRIPTORS).max(8);
        if (room as usize) < self.max_connections {
            tracing::warn!(
                max_connections = self.max_connections,
                allowed = room,
                open_file_limit = limit.rlim_cur,
                "fewer connections than --max-connections: the open-file limit leaves room for {room} (raise `ulimit -n`)"
            );
            return room as usize;
        }
        self.max_connections
    }
}

/// Serves `app` on `listener` until `shutdown` completes, then stops
/// accepting and waits for the open connections to finish their requests.
pub(super) async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: &ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.connections_allowed()));
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).keep_alive(true);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = stream;
        // Requests and answers are small and interactive: send them now.
        let _ = stream.set_nodelay(true);
        let stream = WriteDeadline::new(stream, limits.body_timeout);
        // Each request says where it came from (to hold back an address
        // that guesses tokens).
        let client = ClientAddress(peer.ip());
        let app = app.clone().map_request(move |mut request: http::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(client);
            request
        });
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

/// After a failed accept: the client's own failures pass at once; running
/// out of descriptors or memory is logged and waited out briefly, so the
/// loop does not spin on it.
async fn accept_failed(error: &std::io::Error) {
    use std::io::ErrorKind;
    if matches!(error.kind(), ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset | ErrorKind::ConnectionRefused)
    {
        return;
    }
    tracing::warn!(error = %error, "could not accept a connection; waiting before the next");
    tokio::time::sleep(Duration::from_millis(250)).await;
}

/// Bounds the request's body in size and time, for every route: a body
/// declared larger than the cap is answered 413 before anything is read;
/// otherwise the body is handed on as it arrives, failing once it passes
/// the cap or the body timeout (handlers answer 413 or 408 and the
/// connection closes). Nothing is read before the routes' own checks: a
/// request without the token is refused without its body being read.
pub(super) async fn bound_body(State(limits): State<Arc<ConnectionLimits>>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limits.max_body_bytes as u64) {
        return body_too_large(limits.max_body_bytes).into_response();
    }
    let (parts, body) = request.into_parts();
    let body = Body::new(BoundedBody {
        inner: http_body_util::Limited::new(body, limits.max_body_bytes),
        deadline: Box::pin(tokio::time::sleep(limits.body_timeout)),
        timeout: limits.body_timeout,
    });
    next.run(Request::from_parts(parts, body)).await
}

/// The answer to a body over `limit` bytes.
pub(super) fn body_too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
        format!("the request body is over the limit of {limit} bytes"),
    )
}

/// A request body that fails once it passes its size cap or its deadline.
struct BoundedBody {
    inner: http_body_util::Limited<Body>,
    deadline: std::pin::Pin<Box<tokio::time::Sleep>>,
    timeout: Duration,
}

/// A body that did not arrive within the body timeout.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s", .0.as_secs_f64())]
pub(super) struct BodyTimeout(pub(super) Duration);

impl http_body::Body for BoundedBody {
    type Data = axum::body::Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        use std::task::Poll;
        if let Poll::Ready(frame) = std::pin::Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimeout(self.timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A connection whose writes must make progress: a write or flush that
/// waits longer than its deadline (a client that stopped reading the
/// answers) fails, which closes the connection and frees its slot.
struct WriteDeadline<T> {
    inner: T,
    timeout: Duration,
    stalled: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl<T> WriteDeadline<T> {
    fn new(inner: T, timeout: Duration) -> Self {
        WriteDeadline { inner, timeout, stalled: None }
    }

    /// `poll` of a write: ready ends the stall; pending starts or checks it.
    fn watch<R>(
        &mut self,
        cx: &mut std::task::Context<'_>,
        poll: std::task::Poll<std::io::Result<R>>,
    ) -> std::task::Poll<std::io::Result<R>> {
        use std::task::Poll;
        match poll {
            Poll::Ready(result) => {
                self.stalled = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let timeout = self.timeout;
                let stalled = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if stalled.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "the client read nothing of the answer for the write timeout",
                    )));
                }
                Poll::Pending
            }
        }
    }
}

impl<T: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for WriteDeadline<T> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for WriteDeadline<T> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let poll = std::pin::Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, poll)
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let poll = std::pin::Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, poll)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        let poll = std::pin::Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
