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
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !token.matches(offered) {
            return StatusCode::UNAUTHORIZED.into_response();
        }
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
        for wrong in ["", "s3cret-toke", "s3cret-token ", "S3CRET-TOKEN", "x"] {
            assert!(!token.matches(wrong), "{wrong:?}");
        }
    }
}
