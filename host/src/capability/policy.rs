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
//! - **HTTP APIs.** A connector names an API it declared, never a host;
//!   the request goes to the base URL of the connection the operator
//!   configured, with the credential the host holds applied; a host name
//!   resolving to a private or local address is refused unless the
//!   operator allows it; the credential's header or query parameter cannot
//!   be set by the connector, and credentials an answer echoes are hidden
//!   (`api_http`).
//! - **What requests say.** Headers the signature covers or the host owns
//!   (`Authorization`, `Host`, `X-Amz-Date`, `X-Amz-Security-Token`,
//!   `X-Amz-Content-Sha256`) and transport headers that could smuggle a
//!   second request are refused, not overridden ([`check_header`]).
//! - **Which services.** A connector may call the services its manifest
//!   declares, narrowed by the operator's grants, which are keyed on what
//!   the operator controls (alias, path, digest), never on the name a
//!   connector gives itself (`grant`); anything else is denied and logged.
//!   Service names follow one rule whatever the endpoint
//!   ([`check_service`]).
//! - **Resources.** Each invocation runs in a fresh Store from a pooled
//!   instance slot, with a linear-memory cap, an epoch deadline backed by a
//!   wall-clock timeout, caps on output, logged stdout/stderr, request and
//!   response bodies, request headers, the number of capability calls and
//!   the bytes copied out of the sandbox in one call (`sandbox`,
//!   `signed_http`). A trap, a deadline or a full pool fails that
//!   invocation only; nothing of one call is visible to the next.
//! - **The host's threads.** A guest that computes without end yields to
//!   the scheduler at every epoch tick, so it cannot hold a worker thread
//!   and stall other calls; it is stopped at its deadline.
//! - **Terminals and logs.** Text a connector supplies (names, titles,
//!   messages, its stdout and stderr) is escaped before it is printed or
//!   logged (`escape`); manifest names are machine names.
//! - **Proxies.** Proxy environment variables (`HTTPS_PROXY`, ...) are
//!   ignored, so signed requests cannot be diverted by the environment and
//!   always pass the egress filter; an operator may opt in to a proxy
//!   explicitly, which then sees and routes every request.
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
//! - names a service that is not a service name (`evil.com/x`, `s3/..`),
//!   whichever endpoint it would go to;
//! - sets headers the host or the transport owns;
//! - smuggles an endpoint through the path (absolute URLs, `//authority`,
//!   CR/LF or other control characters) or climbs out of the endpoint's
//!   base path with `.` and `..` segments, plain or percent-encoded.
//!
//! A refused request is never sent and never silently rewritten.

use crate::escape::quote_untrusted;

/// Headers only the host sets: the signature and what it covers.
const HOST_OWNED_HEADERS: &[&str] =
    &["authorization", "host", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];

use crate::net::TRANSPORT_HEADERS;

/// Checks one guest-set header: a valid name and value, and not one the host
/// or the transport owns. Returns it parsed, ready to send.
pub fn check_header(name: &str, value: &str) -> Result<(http::HeaderName, http::HeaderValue), String> {
    let lower = name.to_ascii_lowercase();
    if HOST_OWNED_HEADERS.contains(&lower.as_str()) {
        return Err(format!("header {} is set by the host; a connector may not set it", quote_untrusted(name)));
    }
    if TRANSPORT_HEADERS.contains(&lower.as_str()) {
        return Err(format!(
            "header {} is set by the HTTP transport; a connector may not set it",
            quote_untrusted(name)
        ));
    }
    let parsed_name = http::HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("{} is not a valid header name", quote_untrusted(name)))?;
    let parsed_value = http::HeaderValue::from_str(value)
        .map_err(|_| format!("the value of header {} has characters not allowed in a header", quote_untrusted(name)))?;
    Ok((parsed_name, parsed_value))
}

/// The longest host prefix a connector may ask for.
const MAX_HOST_PREFIX: usize = 128;

/// Checks a guest-given endpoint host prefix: DNS labels (letters, digits,
/// `-`, not at either end, at most 63 each), each followed by `.`, so that
/// it can only name a host below the endpoint's own domain, never another
/// one (no `/`, `@`, `:` or empty label to escape with).
pub fn check_host_prefix(prefix: &str) -> Result<(), String> {
    let bad = |why: &str| Err(format!("host prefix {} {why}", quote_untrusted(prefix)));
    if prefix.len() > MAX_HOST_PREFIX {
        return bad(&format!("is over {MAX_HOST_PREFIX} characters"));
    }
    let Some(labels) = prefix.strip_suffix('.') else { return bad("must end with `.`") };
    for label in labels.split('.') {
        let valid = (1..=63).contains(&label.len())
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !valid {
            return bad("must be DNS labels (letters, digits and `-`, 1 to 63 each) each ending in `.`");
        }
    }
    Ok(())
}

/// Checks a guest-given path (with optional query): it must be an
/// origin-form path without dot segments, so that it cannot change where
/// the request goes, even below an endpoint with a base path.
pub fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("path {} must start with `/` (a path, not a URL)", quote_untrusted(path)));
    }
    if path.starts_with("//") {
        return Err(format!("path {} starts with `//`, which names a host", quote_untrusted(path)));
    }
    if let Some(c) = path.chars().find(|c| c.is_control() || *c == ' ' || *c == '#' || *c == '\\') {
        return Err(format!("path {} contains the character {:?}, which is not allowed", quote_untrusted(path), c));
    }
    // What the HTTP stack will send must still be this path on our authority.
    match path.parse::<http::uri::PathAndQuery>() {
        Ok(parsed) if parsed.as_str() == path => {}
        _ => return Err(format!("path {} is not a valid request path", quote_untrusted(path))),
    }
    let path_only = path.split('?').next().unwrap_or(path);
    if path_only.split('/').any(is_dot_segment) {
        return Err(format!(
            "path {} has a `.` or `..` segment, which could leave the endpoint's base path",
            quote_untrusted(path)
        ));
    }
    Ok(())
}

/// True for a segment that is, or once decoded holds, `.` or `..`: also
/// percent-encoded (`%2e%2E`), or hidden behind an encoded separator
/// (`%2e%2e%2fadmin`, `..%5cx`) or a matrix parameter (`..;x`), which some
/// servers and proxies decode or drop before they normalize a path.
fn is_dot_segment(segment: &str) -> bool {
    let decoded = percent_decode(segment);
    decoded.split(|&b| b == b'/' || b == b'\\' || b == b';').any(|part| part == b"." || part == b"..")
}

/// `text` with every `%XX` escape decoded (once), as bytes.
pub(crate) fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

/// Checks an HTTP method name.
pub fn check_method(method: &str) -> Result<http::Method, String> {
    const ALLOWED: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
    if ALLOWED.contains(&method) {
        Ok(method.parse().expect("a known method parses"))
    } else {
        Err(format!("method {} is not allowed (use one of {})", quote_untrusted(method), ALLOWED.join(", ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_prefixes_are_dns_labels_below_the_endpoint() {
        for good in ["data.", "123456789012.", "cp.tracking.", "a-b."] {
            assert_eq!(check_host_prefix(good), Ok(()), "{good}");
        }
        let long = format!("{}.", "a".repeat(64));
        let over = "a.".repeat(65);
        for bad in
            ["", "data", ".", "a..", "-a.", "a-.", "evil.com/", "x@evil.com.", "a:1.", "é.", &long[..], &over[..]]
        {
            assert!(check_host_prefix(bad).is_err(), "{bad}");
        }
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
            "/../tenant-b/x",
            "/%2e%2e/tenant-b/x",
            "/a/%2E./b",
            "/a/./b",
            "/a/.",
            "/x/..?q=1",
            "/%2e%2e%2fadmin",
            "/..;/x",
            "/a/..%5cb",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?}");
        }
        for good in [
            "/a.b/c",
            "/.well-known/x",
            "/...",
            "/a?path=../x",
            "/%2e%2e%2e",
            "/key%2Fwith%2Fslashes",
            "/éé",
            "/.%2é",
            "/%",
            "/%2",
        ] {
            assert!(check_path(good).is_ok(), "{good:?}");
        }
    }

    #[test]
    fn methods_are_limited() {
        assert_eq!(check_method("POST").unwrap(), http::Method::POST);
        assert!(check_method("CONNECT").is_err());
        assert!(check_method("post").is_err());
    }
}

/// Property tests (`PROPTEST_CASES=N` runs more): no path, header or
/// method a connector sends panics the checks, and what they accept keeps
/// their promises.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn accepted_paths_stay_under_the_endpoint(path in "[/.%a-zA-Z0-9?=&#@:\\\\\r\n\t ~-]{0,40}") {
            if check_path(&path).is_ok() {
                prop_assert!(path.starts_with('/') && !path.starts_with("//"), "{:?}", path);
                prop_assert!(!path.chars().any(char::is_control), "{:?}", path);
                let route = path.split(['?', '#']).next().unwrap_or("");
                for segment in route.split('/') {
                    let decoded = segment.replace("%2e", ".").replace("%2E", ".");
                    prop_assert!(decoded != "." && decoded != "..", "{:?}", path);
                }
            }
        }

        #[test]
        fn headers_never_panic_and_host_headers_never_pass(name in "[A-Za-z-]{0,24}", value in any::<String>()) {
            if check_header(&name, &value).is_ok() {
                let lower = name.to_ascii_lowercase();
                prop_assert!(!HOST_OWNED_HEADERS.contains(&lower.as_str()));
                prop_assert!(!TRANSPORT_HEADERS.contains(&lower.as_str()));
            }
        }

        #[test]
        fn methods_and_services_never_panic(method in any::<String>(), service in any::<String>()) {
            let _ = check_method(&method);
            let _ = crate::endpoints::check_service(&service);
        }
    }
}
