//! The API token: every `/v1/*` request carries `Authorization: Bearer
//! <token>` when one is configured; anything else gets a bare 401.
//!
//! Guards against guessing the token through timing: both sides are hashed
//! to fixed-length digests and compared without an early exit, so the time
//! taken says nothing about how much of a guess was right, nor its length.

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
        let offered = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map_or("", |(_, token)| token.trim());
        if !token.matches(offered) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
    }
    next.run(request).await
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
    fn only_the_token_matches() {
        let token = Token::new("s3cret-token");
        assert!(token.matches("s3cret-token"));
        for wrong in ["", "s3cret-toke", "S3CRET-TOKEN", "x"] {
            assert!(!token.matches(wrong), "{wrong:?}");
        }
    }
}
