//! Capability policy for the signed-HTTP door, and the host's threat model.
//!
//! # Threat model
//!
//! Connectors are code nobody here wrote. The host assumes a connector may
//! try anything its WebAssembly can express, and guards:
//!
//! - **Secrets.** AWS credentials live in the host only (`credentials`);
//!   a connector hands over an unsigned request and gets a response back,
//!   never a key, a token or a signature. The WASI context is empty: no
//!   environment variables, arguments, preopened directories or sockets.
//!   Credentials redact themselves in `Debug`; errors carry provider
//!   messages, not keys. A test scans trace-level logs, outputs, errors and
//!   everything a hostile connector can read for a known fake secret.
//! - **Where requests go.** A connector names a service, never a host; the
//!   host picks the endpoint (`endpoint`). The path must be a path
//!   ([`check_path`]), and DNS answers for default AWS endpoints that point
//!   at loopback, link-local or the instance metadata service are refused
//!   (`egress`). Redirects are not followed.
//! - **What requests say.** Headers the signature covers or the host owns
//!   (`Authorization`, `Host`, `X-Amz-Date`, `X-Amz-Security-Token`,
//!   `X-Amz-Content-Sha256`) and transport headers that could smuggle a
//!   second request are refused, not overridden ([`check_header`]).
//! - **Which services.** A connector may call the services its manifest
//!   declares, narrowed by the operator's grants ([`Grant`]); anything else
//!   is denied and logged.
//! - **Resources.** Each invocation runs in a fresh Store from a pooled
//!   instance slot, with a linear-memory cap, an epoch deadline backed by a
//!   wall-clock timeout, caps on output, logged stdout/stderr, request and
//!   response bodies and the number of capability calls (`engine`,
//!   `invoke`, `signed_http`). A trap, a deadline or a full pool fails that
//!   invocation only; nothing of one call is visible to the next.
//!
//! Not guarded:
//!
//! - What a connector does *with a granted service*: a connector granted
//!   `cognito-idp` may call any Cognito action the host's credentials
//!   allow. Scope the credentials (IAM policy) to what connectors should do.
//! - Endpoints the operator configures are trusted as configured, loopback
//!   included.
//! - Data a connector receives from a granted service is its to return.
//! - The compiled-component cache is trusted like the host binary (see
//!   `artifact_cache`).
//! - Side channels (timing, Spectre-style) beyond what wasmtime mitigates.
//!
//! # This module
//!
//! Guards against a connector that:
//! - calls an AWS service it was not granted;
//! - sets headers the host or the transport owns;
//! - smuggles an endpoint through the path (absolute URLs, `//authority`,
//!   CR/LF or other control characters).
//!
//! A refused request is never sent and never silently rewritten.

use std::collections::BTreeSet;

/// The services the operator allows, by connector name; a connector with no
/// entry gets what it declares.
pub type Grants = std::collections::BTreeMap<String, BTreeSet<String>>;

/// The services one connector may call; `Default` grants none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    services: BTreeSet<String>,
}

impl Grant {
    /// Grants exactly `services`.
    ///
    /// ```
    /// use connector_host::Grant;
    /// let grant = Grant::new(["cognito-idp"]);
    /// assert!(grant.check("cognito-idp").is_ok());
    /// assert!(grant.check("s3").is_err());
    /// ```
    pub fn new<S: Into<String>>(services: impl IntoIterator<Item = S>) -> Self {
        Grant { services: services.into_iter().map(Into::into).collect() }
    }

    /// The services a connector declares, narrowed to `allowed` when the
    /// operator restricts them.
    pub fn for_connector(declared: &[String], allowed: Option<&BTreeSet<String>>) -> Self {
        let services = declared.iter().filter(|s| allowed.is_none_or(|a| a.contains(*s))).cloned().collect();
        Grant { services }
    }

    /// The granted services.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.services.iter().map(String::as_str)
    }

    /// Ok when `service` is granted; otherwise the reason it is denied.
    pub fn check(&self, service: &str) -> Result<(), String> {
        if self.services.contains(service) {
            return Ok(());
        }
        let granted = if self.services.is_empty() {
            "none".to_owned()
        } else {
            self.services.iter().cloned().collect::<Vec<_>>().join(", ")
        };
        Err(format!("service `{service}` is not granted to this connector (granted: {granted})"))
    }
}

/// Headers only the host sets: the signature and what it covers.
const HOST_OWNED_HEADERS: &[&str] =
    &["authorization", "host", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];

/// Headers of the HTTP transport itself, which the client sets from the body.
const TRANSPORT_HEADERS: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "proxy-authorization",
    "proxy-connection",
];

/// Checks one guest-set header: a valid name and value, and not one the host
/// or the transport owns. Returns it parsed, ready to send.
pub fn check_header(name: &str, value: &str) -> Result<(http::HeaderName, http::HeaderValue), String> {
    let lower = name.to_ascii_lowercase();
    if HOST_OWNED_HEADERS.contains(&lower.as_str()) {
        return Err(format!("header `{name}` is set by the host; a connector may not set it"));
    }
    if TRANSPORT_HEADERS.contains(&lower.as_str()) {
        return Err(format!("header `{name}` is set by the HTTP transport; a connector may not set it"));
    }
    let parsed_name = http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("`{}` is not a valid header name", name.escape_debug()))?;
    let parsed_value = http::HeaderValue::from_str(value)
        .map_err(|_| format!("the value of header `{name}` has characters not allowed in a header"))?;
    Ok((parsed_name, parsed_value))
}

/// Checks a guest-given path (with optional query): it must be an
/// origin-form path, so that it cannot change where the request goes.
pub fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("path `{}` must start with `/` (a path, not a URL)", path.escape_debug()));
    }
    if path.starts_with("//") {
        return Err(format!("path `{}` starts with `//`, which names a host", path.escape_debug()));
    }
    if let Some(c) = path.chars().find(|c| c.is_control() || *c == ' ' || *c == '#' || *c == '\\') {
        return Err(format!("path `{}` contains the character {:?}, which is not allowed", path.escape_debug(), c));
    }
    // What the HTTP stack will send must still be this path on our authority.
    match path.parse::<http::uri::PathAndQuery>() {
        Ok(parsed) if parsed.as_str() == path => Ok(()),
        _ => Err(format!("path `{}` is not a valid request path", path.escape_debug())),
    }
}

/// Checks an HTTP method name.
pub fn check_method(method: &str) -> Result<http::Method, String> {
    const ALLOWED: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
    if ALLOWED.contains(&method) {
        Ok(method.parse().expect("a known method parses"))
    } else {
        Err(format!("method `{}` is not allowed (use one of {})", method.escape_debug(), ALLOWED.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_is_declared_narrowed_by_operator() {
        let declared = vec!["cognito-idp".to_owned(), "s3".to_owned()];
        let all = Grant::for_connector(&declared, None);
        assert!(all.check("s3").is_ok());
        let allowed: BTreeSet<String> = ["cognito-idp".to_owned(), "sqs".to_owned()].into();
        let narrowed = Grant::for_connector(&declared, Some(&allowed));
        assert!(narrowed.check("cognito-idp").is_ok());
        assert!(narrowed.check("sqs").unwrap_err().contains("`sqs` is not granted"));
        assert!(narrowed.check("s3").is_err());
    }

    #[test]
    fn host_owned_headers_are_refused_in_any_case() {
        for name in ["Authorization", "HOST", "x-amz-date", "X-Amz-Security-Token", "x-amz-content-sha256"] {
            assert!(check_header(name, "x").unwrap_err().contains("set by the host"), "{name}");
        }
        for name in ["Content-Length", "transfer-encoding", "Connection"] {
            assert!(check_header(name, "1").unwrap_err().contains("HTTP transport"), "{name}");
        }
        assert!(check_header("x-amz-target", "AWSCognitoIdentityProviderService.ListUsers").is_ok());
        assert!(check_header("x-evil", "a\r\nHost: attacker").is_err());
        assert!(check_header("bad name", "v").is_err());
    }

    #[test]
    fn paths_cannot_name_a_host() {
        assert!(check_path("/").is_ok());
        assert!(check_path("/2015-03-31/functions?x=1&y=%20").is_ok());
        for bad in [
            "https://attacker.example/",
            "//attacker.example/",
            "attacker.example/",
            "",
            "/a\r\nHost: x",
            "/a b",
            "/a\0",
            "/a#frag",
            "/a\\b",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn methods_are_limited() {
        assert_eq!(check_method("POST").unwrap(), http::Method::POST);
        assert!(check_method("CONNECT").is_err());
        assert!(check_method("post").is_err());
    }
}
