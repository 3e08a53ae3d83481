//! The API token: every `/v1/*` request carries `Authorization: Bearer
//! <token>` when one is configured; anything else gets a bare 401.
//!
//! Guards against guessing the token through timing: both sides are hashed
//! to fixed-length digests and compared without an early exit, so the time
//! taken says nothing about how much of a guess was right, nor its length.
//! And against guessing it by trying: a client address that offers wrong
//! tokens (to the API, `/mcp` or the console's sign-in) gets a few free
//! tries, then waits longer after each ([`GuessThrottle`]), answered 429
//! with `Retry-After` without its token even being checked.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::net::is_loopback_authority;
use crate::server::AppState;

/// A configured token, kept as its digest.
pub(super) struct Token {
    digest: [u8; 32],
}

impl Token {
    pub(super) fn new(token: &str) -> Self {
        Token { digest: Sha256::digest(token.as_bytes()).into() }
    }

    /// Whether `offered` is the token, in time independent of both.
    pub(super) fn matches(&self, offered: &str) -> bool {
        let offered: [u8; 32] = Sha256::digest(offered.as_bytes()).into();
        let difference = self.digest.iter().zip(offered.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(difference) == 0
    }
}

pub(super) async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(token) = &state.token {
        let client = request.extensions().get::<ClientAddress>().map(|c| c.0);
        if let Some(wait) = client.and_then(|ip| state.guesses.waiting(ip)) {
            return too_many_guesses(wait);
        }
        let offered = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map_or("", |(_, token)| token.trim());
        if !token.matches(offered) {
            if let Some(ip) = client {
                state.guesses.failed(ip);
            }
            return StatusCode::UNAUTHORIZED.into_response();
        }
        if let Some(ip) = client {
            state.guesses.succeeded(ip);
        }
    }
    next.run(request).await
}

/// The address a request came from, as the listener accepted it.
#[derive(Debug, Clone, Copy)]
pub(super) struct ClientAddress(pub(super) IpAddr);

/// The answer to a client that must wait `wait` before its next try.
pub(super) fn too_many_guesses(wait: Duration) -> Response {
    // Whole seconds, rounded up: a client that waits as told is let in.
    let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1).to_string();
    let mut response =
        (StatusCode::TOO_MANY_REQUESTS, format!("too many wrong tokens from this address; try again in {seconds} s\n"))
            .into_response();
    response.headers_mut().insert(header::RETRY_AFTER, seconds.parse().expect("digits"));
    response
}

/// Wrong tokens offered per client address: [`FREE_GUESSES`] are free,
/// then each one makes the address wait twice as long as the one before
/// (from 2 s up to [`MAX_WAIT`]) before its next try is looked at. A right
/// token clears the address. At most [`MAX_ADDRESSES`] are remembered,
/// the least recently wrong forgotten first.
#[derive(Default)]
pub(super) struct GuessThrottle {
    addresses: Mutex<HashMap<IpAddr, Guesses>>,
}

#[derive(Clone, Copy)]
struct Guesses {
    wrong: u32,
    last: Instant,
    until: Instant,
}

/// Wrong tokens an address may offer before it has to wait.
pub(super) const FREE_GUESSES: u32 = 5;
/// The longest wait between two tries.
const MAX_WAIT: Duration = Duration::from_secs(60);
/// Addresses remembered at most.
const MAX_ADDRESSES: usize = 10_000;

impl GuessThrottle {
    /// How long `ip` must still wait before its next try, if it must.
    pub(super) fn waiting(&self, ip: IpAddr) -> Option<Duration> {
        self.waiting_at(ip, Instant::now())
    }

    fn waiting_at(&self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let addresses = self.addresses.lock().expect("guesses lock");
        addresses.get(&ip).map(|g| g.until.saturating_duration_since(now)).filter(|wait| !wait.is_zero())
    }

    /// `ip` offered a wrong token.
    pub(super) fn failed(&self, ip: IpAddr) {
        self.failed_at(ip, Instant::now());
    }

    fn failed_at(&self, ip: IpAddr, now: Instant) {
        let mut addresses = self.addresses.lock().expect("guesses lock");
        if addresses.len() >= MAX_ADDRESSES && !addresses.contains_key(&ip) {
            let oldest = addresses.iter().min_by_key(|(_, g)| g.last).map(|(ip, _)| *ip);
            addresses.remove(&oldest.expect("a full map has an oldest"));
        }
        let guesses = addresses.entry(ip).or_insert(Guesses { wrong: 0, last: now, until: now });
        guesses.wrong = guesses.wrong.saturating_add(1);
        guesses.last = now;
        if guesses.wrong > FREE_GUESSES {
            let doublings = (guesses.wrong - FREE_GUESSES).min(16);
            guesses.until = now + Duration::from_secs(1 << doublings).min(MAX_WAIT);
            if doublings == 1 {
                tracing::warn!(client = %ip, "wrong API tokens from one address; it now waits between tries");
            }
        }
    }

    /// `ip` offered the right token.
    pub(super) fn succeeded(&self, ip: IpAddr) {
        self.addresses.lock().expect("guesses lock").remove(&ip);
    }
}

/// Guards a server without a token, which only listens on loopback,
/// against web pages: a page the user opens could otherwise send it a
/// "simple" cross-site POST (no preflight) or, after DNS rebinding, read
/// its answers. Without a token, the `Host` must be a loopback name and a
/// request with a body to `/v1/*` must say `Content-Type: application/json`,
/// which a page cannot send cross-site without the browser asking first.
/// (The console's forms carry CSRF tokens instead; `/mcp` checks its own.)
pub(super) async fn check_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if state.token.is_some() {
        return next.run(request).await;
    }
    let host = request.headers().get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !is_loopback_authority(host) {
        return (StatusCode::FORBIDDEN, "this server answers loopback hosts only\n").into_response();
    }
    let sends_body = matches!(*request.method(), axum::http::Method::POST | axum::http::Method::PUT);
    let json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("application/json"));
    if sends_body && !json && request.uri().path().starts_with("/v1/") {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "send the body as Content-Type: application/json\n")
            .into_response();
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_tokens_make_an_address_wait_longer_each_time() {
        let throttle = GuessThrottle::default();
        let (ip, other): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap());
        let start = Instant::now();
        for _ in 0..FREE_GUESSES {
            throttle.failed_at(ip, start);
            assert_eq!(throttle.waiting_at(ip, start), None, "free tries");
        }
        throttle.failed_at(ip, start);
        assert_eq!(throttle.waiting_at(ip, start), Some(Duration::from_secs(2)));
        assert_eq!(throttle.waiting_at(other, start), None, "other addresses are not held");
        let later = start + Duration::from_secs(2);
        assert_eq!(throttle.waiting_at(ip, later), None);
        throttle.failed_at(ip, later);
        assert_eq!(throttle.waiting_at(ip, later), Some(Duration::from_secs(4)));
        for _ in 0..20 {
            throttle.failed_at(ip, later);
        }
        assert_eq!(throttle.waiting_at(ip, later), Some(MAX_WAIT));
        throttle.succeeded(ip);
        assert_eq!(throttle.waiting_at(ip, later), None, "the right token clears it");
        for i in 0..MAX_ADDRESSES as u32 + 5 {
            throttle.failed_at(IpAddr::from(i.to_be_bytes()), later + Duration::from_millis(u64::from(i)));
        }
        assert_eq!(throttle.addresses.lock().unwrap().len(), MAX_ADDRESSES, "bounded");
    }

    #[test]
    fn only_the_token_matches() {
        let token = Token::new("s3cret-token");
        assert!(token.matches("s3cret-token"));
        for wrong in ["", "s3cret-toke", "S3CRET-TOKEN", "x"] {
            assert!(!token.matches(wrong), "{wrong:?}");
        }
    }
}
