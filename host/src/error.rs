//! Errors of invoking a connector, one kind per way an invocation can fail,
//! so callers can tell a bad input from a service error from a misbehaving
//! connector.

use std::time::Duration;

use serde_json::{Value, json};

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The input does not fit the operation's schema; the text names the field.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The connector has no such operation.
    #[error("unknown operation: {0}")]
    UnknownOperation(String),
    /// The remote service answered with an error.
    #[error("service error {code} (HTTP {status}{}): {message}", if *.retryable { ", retryable" } else { "" })]
    Service { code: String, message: String, status: u16, retryable: bool },
    /// The signed-HTTP capability refused or could not complete a request.
    #[error("capability error: {0}")]
    Capability(String),
    /// The connector reported a failure of its own.
    #[error("connector error: {0}")]
    Connector(String),
    /// The connector trapped (a panic, an out-of-bounds access, a stack
    /// overflow). The text includes its panic message when it printed one.
    #[error("connector trapped: {0}")]
    Trap(String),
    /// The invocation ran past its deadline and was stopped.
    #[error("connector ran past its {} ms deadline and was stopped", .0.as_millis())]
    Timeout(Duration),
    /// The connector tried to grow its memory past the limit.
    #[error("connector exceeded its memory limit of {} MiB", .0 / (1024 * 1024))]
    MemoryLimit(u64),
    /// The connector's output is larger than the limit.
    #[error("connector output of {size} bytes is over the {limit} byte limit")]
    OutputTooLarge { size: usize, limit: usize },
    /// The connector's output is not valid JSON.
    #[error("connector output is not valid JSON: {0}")]
    InvalidOutput(String),
    /// The host itself failed (instantiation, a full instance pool).
    #[error("host error: {0:#}")]
    Host(anyhow::Error),
}

impl InvokeError {
    /// A stable, kebab-case name of the kind (`invalid-input`, `service`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            InvokeError::InvalidInput(_) => "invalid-input",
            InvokeError::UnknownOperation(_) => "unknown-operation",
            InvokeError::Service { .. } => "service",
            InvokeError::Capability(_) => "capability",
            InvokeError::Connector(_) => "connector",
            InvokeError::Trap(_) => "trap",
            InvokeError::Timeout(_) => "timeout",
            InvokeError::MemoryLimit(_) => "memory-limit",
            InvokeError::OutputTooLarge { .. } => "output-too-large",
            InvokeError::InvalidOutput(_) => "invalid-output",
            InvokeError::Host(_) => "host",
        }
    }

    /// The error as JSON: `{"kind", "message"}`, plus `code`, `status` and
    /// `retryable` for service errors.
    pub fn to_json(&self) -> Value {
        let mut value = json!({ "kind": self.kind(), "message": self.to_string() });
        if let InvokeError::Service { code, message, status, retryable } = self {
            value["code"] = json!(code);
            value["message"] = json!(message);
            value["status"] = json!(status);
            value["retryable"] = json!(retryable);
        }
        value
    }
}

/// An error and its sources on one line, each source once
/// ("error sending request: connection refused").
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_errors_carry_their_code() {
        let e = InvokeError::Service {
            code: "UserNotFoundException".into(),
            message: "User does not exist.".into(),
            status: 400,
            retryable: false,
        };
        assert_eq!(e.to_string(), "service error UserNotFoundException (HTTP 400): User does not exist.");
        assert_eq!(e.to_json()["code"], "UserNotFoundException");
        assert_eq!(InvokeError::Timeout(Duration::from_millis(1500)).kind(), "timeout");
    }
}
