//! When to try an AWS request again and how long to wait first, in the
//! spirit of the AWS SDKs' standard retry mode: a bounded number of
//! attempts, exponential backoff with full jitter, and retries only for
//! failures that may pass (throttling, server faults, broken connections),
//! never for errors such as `UserNotFoundException`; and whether a try may
//! have been carried out, so that one whose outcome is unknown is retried
//! only for an operation that is safe to repeat.

use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

/// How many times and how patiently to retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included; 1 disables retries.
    pub max_attempts: u32,
    /// Upper bound of the first wait; each later one doubles it.
    pub initial_backoff: Duration,
    /// Upper bound of any wait.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// The AWS SDKs' standard mode: 3 attempts, waits up to 1 s, 2 s, ...
    /// capped at 20 s.
    fn default() -> Self {
        RetryPolicy { max_attempts: 3, initial_backoff: Duration::from_secs(1), max_backoff: Duration::from_secs(20) }
    }
}

impl RetryPolicy {
    /// The wait after the `failed`-th failed attempt: a random duration up to
    /// `initial_backoff * 2^(failed-1)`, capped at `max_backoff`.
    pub fn backoff(&self, failed: u32) -> Duration {
        let fraction = (RandomState::new().hash_one(failed) >> 11) as f64 / (1u64 << 53) as f64;
        self.ceiling(failed).mul_f64(fraction)
    }

    /// The longest wait after the `failed`-th failed attempt.
    fn ceiling(&self, failed: u32) -> Duration {
        let exponent = failed.saturating_sub(1).min(30);
        self.initial_backoff.saturating_mul(1 << exponent).min(self.max_backoff)
    }
}

/// AWS error codes that mean "slow down" or "try again", whatever the status.
/// One list for the host and the connectors built in this repository.
const RETRYABLE_CODES: &[&str] = &include!("../../../connector-sdk/src/aws/retryable_codes.in");

/// Why a response is worth retrying, or `None` when it is final.
pub fn retryable_response(status: u16, headers: &[(String, String)], body: &[u8]) -> Option<String> {
    if status >= 500 || status == 429 {
        return Some(format!("HTTP {status}"));
    }
    if status < 400 {
        return None;
    }
    let code = error_code(headers, body)?;
    RETRYABLE_CODES.contains(&code.as_str()).then(|| format!("{code} (HTTP {status})"))
}

/// Whether one try of a request may have been carried out by its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum CarriedOut {
    /// Certainly not: it never left the host, or the service turned it
    /// away (a client error, throttling).
    #[default]
    No,
    /// Perhaps: the service carried it out, failed while at it (a server
    /// fault), or its answer was lost.
    Possibly,
}

/// Server faults some services report with a client-error status.
const FAULT_CODES: &[&str] = &["InternalErrorException", "InternalFailure", "InternalServerError"];

/// Whether the request answered so may have been carried out: a success,
/// a redirect, a server fault (whatever its status); not a client error.
pub fn carried_out(status: u16, headers: &[(String, String)], body: &[u8]) -> CarriedOut {
    match status {
        400..=499 if !error_code(headers, body).is_some_and(|code| FAULT_CODES.contains(&code.as_str())) => {
            CarriedOut::No
        }
        _ => CarriedOut::Possibly,
    }
}

/// The AWS error code of an error response: the `x-amzn-errortype` header,
/// else the body's `__type` or `code`, without namespace or suffix.
fn error_code(headers: &[(String, String)], body: &[u8]) -> Option<String> {
    let from_header = headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("x-amzn-errortype")).map(|(_, v)| v.clone());
    let raw = from_header.or_else(|| {
        let json: serde_json::Value = serde_json::from_slice(body).ok()?;
        json.get("__type").or_else(|| json.get("code")).and_then(|v| v.as_str()).map(str::to_owned)
    })?;
    let code = raw.rsplit('#').next().unwrap_or(&raw);
    Some(code.split(':').next().unwrap_or(code).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_like_the_sdk() {
        assert_eq!(retryable_response(500, &[], b"").as_deref(), Some("HTTP 500"));
        assert_eq!(retryable_response(429, &[], b"").as_deref(), Some("HTTP 429"));
        let throttled = br#"{"__type":"com.amazon#ThrottlingException","message":"Rate exceeded"}"#;
        assert_eq!(retryable_response(400, &[], throttled).as_deref(), Some("ThrottlingException (HTTP 400)"));
        let header = [("X-Amzn-ErrorType".to_owned(), "TooManyRequestsException:http://x".to_owned())];
        assert!(retryable_response(400, &header, b"{}").is_some());
        assert_eq!(retryable_response(400, &[], br#"{"__type":"UserNotFoundException"}"#), None);
        assert_eq!(retryable_response(400, &[], br#"{"__type":"InvalidParameterException"}"#), None);
        assert_eq!(retryable_response(200, &[], b"{}"), None);
        assert_eq!(retryable_response(400, &[], b"not json"), None);
    }

    #[test]
    fn only_client_errors_say_nothing_was_done() {
        assert_eq!(carried_out(200, &[], b"{}"), CarriedOut::Possibly);
        assert_eq!(carried_out(500, &[], b""), CarriedOut::Possibly);
        assert_eq!(carried_out(503, &[], b""), CarriedOut::Possibly);
        let throttled = br#"{"__type":"ThrottlingException"}"#;
        assert_eq!(carried_out(400, &[], throttled), CarriedOut::No);
        assert_eq!(carried_out(429, &[], b""), CarriedOut::No);
        assert_eq!(carried_out(400, &[], br#"{"__type":"UsernameExistsException"}"#), CarriedOut::No);
        let fault = br#"{"__type":"com.amazon#InternalErrorException"}"#;
        assert_eq!(carried_out(400, &[], fault), CarriedOut::Possibly);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let ms = Duration::from_millis;
        let policy = RetryPolicy { max_attempts: 5, initial_backoff: ms(100), max_backoff: ms(250) };
        let ceilings: Vec<Duration> = (1..=4).map(|failed| policy.ceiling(failed)).collect();
        assert_eq!(ceilings, [ms(100), ms(200), ms(250), ms(250)], "doubles, then stays at the cap");
        assert_eq!(policy.ceiling(u32::MAX), ms(250), "no overflow");
        for failed in 1..=4 {
            let waits: Vec<Duration> = (0..200).map(|_| policy.backoff(failed)).collect();
            assert!(waits.iter().all(|w| *w <= policy.ceiling(failed)), "within the ceiling");
            // Full jitter spreads waits over the whole range: some in its
            // upper half, some in its lower half.
            let half = policy.ceiling(failed) / 2;
            assert!(waits.iter().any(|w| *w > half) && waits.iter().any(|w| *w < half), "{failed}: {waits:?}");
        }
    }
}
