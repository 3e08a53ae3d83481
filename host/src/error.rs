//! Errors of loading and invoking connectors, one kind per way a load or an
//! invocation can fail, so callers can tell a bad input from a service
//! error from a misbehaving connector from a busy host.
//!
//! Text inside these errors may come from a connector: escape it
//! ([`escape_untrusted`](crate::escape::escape_untrusted)) before it reaches a
//! terminal or a log.

use std::time::Duration;

use serde_json::{Value, json};

use crate::capability::SendError;

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvokeError {
    /// The input does not fit the operation's schema; the text names the field.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The connector has no such operation.
    #[error("unknown operation: {0}")]
    UnknownOperation(String),
    /// No connector of that name is loaded.
    #[error("unknown connector: {0}")]
    UnknownConnector(String),
    /// The call names an authentication the host does not have.
    #[error("unknown authentication: {0}")]
    UnknownAuthentication(String),
    /// The connector may not sign with the authentication the call names.
    #[error("authentication denied: {0}")]
    AuthenticationDenied(String),
    /// The remote service answered with an error.
    #[error("service error {code} (HTTP {status}{}): {message}", if *.retryable { ", retryable" } else { "" })]
    Service { code: String, message: String, status: u16, retryable: bool },
    /// The signed-HTTP capability refused or could not complete a request of
    /// this invocation. This is the host's own account of the failure, not
    /// the connector's, so a connector cannot forge one.
    #[error("capability error: {0}")]
    Capability(SendError),
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
    /// The connector handed the host more data in one call (a request, its
    /// output, its manifest) than the host copies out of a sandbox.
    #[error("connector passed more than {limit} bytes to the host in one call")]
    TransferLimit { limit: usize },
    /// The connector's output is not valid JSON.
    #[error("connector output is not valid JSON: {0}")]
    InvalidOutput(String),
    /// Every instance slot is taken by a running invocation; the call may
    /// succeed later.
    #[error("no free instance slot: {slots} invocations are already running")]
    Busy { slots: u32 },
    /// The host itself failed.
    #[error("host error: {0:#}")]
    Host(anyhow::Error),
}

impl InvokeError {
    /// A stable, kebab-case name of the kind (`invalid-input`, `service`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            InvokeError::InvalidInput(_) => "invalid-input",
            InvokeError::UnknownOperation(_) => "unknown-operation",
            InvokeError::UnknownConnector(_) => "unknown-connector",
            InvokeError::UnknownAuthentication(_) => "unknown-authentication",
            InvokeError::AuthenticationDenied(_) => "authentication-denied",
            InvokeError::Service { .. } => "service",
            InvokeError::Capability(_) => "capability",
            InvokeError::Connector(_) => "connector",
            InvokeError::Trap(_) => "trap",
            InvokeError::Timeout(_) => "timeout",
            InvokeError::MemoryLimit(_) => "memory-limit",
            InvokeError::OutputTooLarge { .. } => "output-too-large",
            InvokeError::TransferLimit { .. } => "transfer-limit",
            InvokeError::InvalidOutput(_) => "invalid-output",
            InvokeError::Busy { .. } => "busy",
            InvokeError::Host(_) => "host",
        }
    }

    /// The error as JSON: `{"kind", "message"}`, plus `code`, `status` and
    /// `retryable` for service errors and `reason` (the capability's own
    /// kind: `denied`, `invalid-request`, ...) for capability errors.
    pub fn to_json(&self) -> Value {
        let mut value = json!({ "kind": self.kind(), "message": self.to_string() });
        match self {
            InvokeError::Service { code, message, status, retryable } => {
                value["code"] = json!(code);
                value["message"] = json!(message);
                value["status"] = json!(status);
                value["retryable"] = json!(retryable);
            }
            InvokeError::Capability(error) => value["reason"] = json!(error.kind()),
            _ => {}
        }
        value
    }
}

/// Why a component could not be loaded as a connector.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read, is not a regular file, or is too large.
    #[error("could not read {origin}: {reason}")]
    Unreadable { origin: String, reason: String },
    /// The component could not be pulled from its registry, or what the
    /// registry sent did not match its digests.
    #[error("could not pull {origin}: {reason}")]
    PullFailed { origin: String, reason: String },
    /// The bytes are not a WebAssembly component.
    #[error("{origin} is not a connector: {reason}")]
    NotAComponent { origin: String, reason: String },
    /// The component does not validate or compile.
    #[error("{origin} is not a valid WebAssembly component: {reason}")]
    InvalidComponent { origin: String, reason: String },
    /// The component does not implement a compatible connector contract.
    #[error("{origin} is not a compatible connector: {reason}")]
    Incompatible { origin: String, reason: String },
    /// Asking the component for its manifest failed.
    #[error("{origin}: describing itself failed: {error}")]
    DescribeFailed { origin: String, error: InvokeError },
    /// The manifest breaks the contract's rules.
    #[error("{origin} is not a valid connector: {reason}")]
    InvalidManifest { origin: String, reason: String },
    /// The component needs more linear memory than invocations may have.
    #[error("{origin} needs at least {} MiB of memory to start, over the limit of {} MiB: raise --memory-mib to {}",
        .needed.div_ceil(1 << 20), .limit >> 20, .needed.div_ceil(1 << 20))]
    MemoryTooSmall { origin: String, needed: u64, limit: u64 },
    /// Another source already serves a connector of this name.
    #[error("{origin} names itself `{name}`, which {holder} already serves")]
    NameConflict { origin: String, name: String, holder: String },
}

impl LoadError {
    /// A stable, kebab-case name of the kind (`not-a-component`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            LoadError::Unreadable { .. } => "unreadable",
            LoadError::PullFailed { .. } => "pull-failed",
            LoadError::NotAComponent { .. } => "not-a-component",
            LoadError::InvalidComponent { .. } => "invalid-component",
            LoadError::Incompatible { .. } => "incompatible",
            LoadError::DescribeFailed { .. } => "describe-failed",
            LoadError::InvalidManifest { .. } => "invalid-manifest",
            LoadError::MemoryTooSmall { .. } => "memory-too-small",
            LoadError::NameConflict { .. } => "name-conflict",
        }
    }

    /// What was being loaded: a path, an OCI reference, or a digest for
    /// bytes.
    pub fn origin(&self) -> &str {
        match self {
            LoadError::Unreadable { origin, .. }
            | LoadError::PullFailed { origin, .. }
            | LoadError::NotAComponent { origin, .. }
            | LoadError::InvalidComponent { origin, .. }
            | LoadError::Incompatible { origin, .. }
            | LoadError::DescribeFailed { origin, .. }
            | LoadError::InvalidManifest { origin, .. }
            | LoadError::MemoryTooSmall { origin, .. }
            | LoadError::NameConflict { origin, .. } => origin,
        }
    }
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

    #[test]
    fn capability_errors_carry_the_hosts_reason() {
        let e = InvokeError::Capability(SendError::Denied("service `s3` is not granted".into()));
        assert_eq!(
            e.to_json(),
            json!({"kind": "capability", "reason": "denied",
            "message": "capability error: denied: service `s3` is not granted"})
        );
    }
}
