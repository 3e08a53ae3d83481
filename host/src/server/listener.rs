//! Accepting `serve`'s connections: HTTP/1.1 over TCP, each connection on
//! a task of its own, within bounds on what clients can hold.
//!
//! Guards against: clients that hold a connection without finishing a
//! request (a request head not received in full within the header timeout
//! closes the connection, and so does a kept-alive connection idle that
//! long), bodies that never finish ([`read_body_in_time`]: the whole body
//! within the body timeout and the size cap, for every route, `/mcp`
//! included), and running out of file descriptors (at most
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
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::server::api::ApiError;

/// What clients may hold of a server, and for how long.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Connections open at once; more wait to be accepted. Lowered at start
    /// to fit the process's open-file limit.
    pub max_connections: usize,
    /// Longest a client may take to send a request's head; also how long
    /// a kept-alive connection may stay idle between requests.
    pub header_timeout: Duration,
    /// Longest a client may take to send a request's body.
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
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    accept_failed(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Requests and answers are small and interactive: send them now.
        let _ = stream.set_nodelay(true);
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
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

/// Reads the request's body whole, within `limits`' size cap and body
/// timeout, before any handler runs: a body that never finishes is
/// answered 408 and its connection closed, one over the cap 413.
pub(super) async fn read_body_in_time(
    State(limits): State<Arc<ConnectionLimits>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    if http_body::Body::size_hint(&body).exact() == Some(0) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let limited = http_body_util::Limited::new(body, limits.max_body_bytes);
    match tokio::time::timeout(limits.body_timeout, limited.collect()).await {
        Ok(Ok(collected)) => next.run(Request::from_parts(parts, Body::from(collected.to_bytes()))).await,
        Ok(Err(error)) if error.is::<http_body_util::LengthLimitError>() => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            format!("the request body is over the limit of {} bytes", limits.max_body_bytes),
        )
        .into_response(),
        Ok(Err(error)) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-body",
            format!("the request body could not be read: {error}"),
        )
        .into_response(),
        Err(_elapsed) => {
            let mut response = ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "body-timeout",
                format!("the request body did not arrive within {} s", limits.body_timeout.as_secs_f64()),
            )
            .into_response();
            response.headers_mut().insert(axum::http::header::CONNECTION, "close".parse().expect("a header value"));
            response
        }
    }
}
