//! The AWS protocols over the host's signed-HTTP capability, and reading
//! AWS service errors. The connector names a service (its SigV4 signing
//! name) and never a host; the host picks the endpoint and signs.
//!
//! - [`json`]: AWS JSON 1.0 and 1.1 (`X-Amz-Target`; DynamoDB, Cognito).
//! - [`query`]: the query protocol with XML replies (IAM, STS, SES),
//!   replies turned into JSON.
//! - [`rest_json`]: REST-JSON (Lambda, API Gateway).
//! - [`model`]: a whole connector from a table generated from a service's
//!   API model (every operation, schemas, checks, paging).

pub mod json;
pub mod model;
pub mod query;
pub mod rest_json;

use serde_json::Value;

use crate::bindings::connector::api::signed_http::{self, Request, Response};
use crate::{Error, ServiceError};

/// AWS error codes worth retrying whatever their HTTP status: the host's
/// own list, so a connector calls retryable what the host retries.
const RETRYABLE_CODES: &[&str] = &include!("retryable_codes.in");

/// Reads a service's error response: a code and a message.
pub type ErrorReader = fn(u16, &[(String, String)], &[u8]) -> ServiceError;

/// Sends `request`, turning a refusal or failure of the host into
/// [`Error::Host`] and an error status into [`Error::Service`] as
/// [`service_error`] (JSON protocols) reads it.
pub fn send(request: &Request) -> Result<Response, Error> {
    send_reading_errors(request, service_error)
}

/// Like [`send`], reading error responses with `read_error`.
pub fn send_reading_errors(request: &Request, read_error: ErrorReader) -> Result<Response, Error> {
    send_to(request, None, read_error)
}

/// Like [`send_reading_errors`], to `host_prefix` before the endpoint's
/// host when there is one (`data.`, `123456789012.`; contract 0.1.3).
pub fn send_to(request: &Request, host_prefix: Option<&str>, read_error: ErrorReader) -> Result<Response, Error> {
    let response = match host_prefix {
        Some(prefix) => signed_http::send_with_host_prefix(prefix, request)?,
        None => signed_http::send(request)?,
    };
    if (200..300).contains(&response.status) {
        Ok(response)
    } else {
        Err(Error::Service(read_error(response.status, &response.headers, &response.body)))
    }
}

/// Reads an AWS JSON error response: the code from `X-Amzn-ErrorType`,
/// `__type` or `code` (without namespace or suffix), the message from
/// `message` or `Message`. (Query protocols answer in XML:
/// [`query::service_error`].)
///
/// ```
/// let e = connector_sdk::aws::service_error(400, &[],
///     br#"{"__type":"com.amazonaws.cognito#UserNotFoundException","message":"User does not exist."}"#);
/// assert_eq!((e.code.as_str(), e.message.as_str(), e.retryable), ("UserNotFoundException", "User does not exist.", false));
/// ```
pub fn service_error(status: u16, headers: &[(String, String)], body: &[u8]) -> ServiceError {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    error_of_document(status, headers, body, &json)
}

/// A service error from an error document (JSON, or CBOR read as JSON):
/// the code from `__type` or `code`, the message from `message`.
pub(crate) fn error_of_document(status: u16, headers: &[(String, String)], body: &[u8], json: &Value) -> ServiceError {
    let code = ["__type", "code", "Code"].iter().find_map(|k| json.get(k).and_then(Value::as_str)).map(str::to_owned);
    let message = ["message", "Message", "errorMessage"]
        .iter()
        .find_map(|k| json.get(k).and_then(Value::as_str))
        .map(str::to_owned);
    error_of(status, headers, body, code, message)
}

/// A service error from what was read of the response: the code (a
/// query-era code in `x-amzn-query-error`, as SQS sends it, wins, then the
/// `X-Amzn-ErrorType` header), the message, or the body's text.
pub(crate) fn error_of(
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    body_code: Option<String>,
    body_message: Option<String>,
) -> ServiceError {
    let header = |wanted: &str| headers.iter().find(|(name, _)| name.eq_ignore_ascii_case(wanted)).map(|(_, v)| v);
    // `AWS.SimpleQueueService.NonExistentQueue;Sender`: the code, then the fault.
    let query_code = header("x-amzn-query-error")
        .and_then(|value| value.split_once(';'))
        .filter(|(code, _)| !code.is_empty())
        .map(|(code, _)| code.to_owned());
    let header_code = query_code.or_else(|| header("x-amzn-errortype").cloned());
    let code = match header_code.or(body_code).as_deref().map(clean_code) {
        Some(code) if !code.is_empty() => code.to_owned(),
        _ => format!("Http{status}"),
    };
    let message = body_message.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() { format!("HTTP status {status}") } else { text.chars().take(500).collect() }
    });
    let retryable = status >= 500 || status == 429 || RETRYABLE_CODES.contains(&code.as_str());
    ServiceError { code, message, status, retryable }
}

fn clean_code(raw: &str) -> &str {
    let code = raw.rsplit('#').next().unwrap_or(raw);
    code.split(':').next().unwrap_or(code).trim()
}

/// `text` percent-encoded for a query string or form body: everything but
/// RFC 3986's unreserved characters.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_from_header_wins_and_loses_its_suffix() {
        let headers = [("X-Amzn-ErrorType".to_owned(), "TooManyRequestsException:http://internal/".to_owned())];
        let e = service_error(400, &headers, br#"{"Message":"Rate exceeded"}"#);
        assert_eq!(
            (e.code.as_str(), e.message.as_str(), e.retryable),
            ("TooManyRequestsException", "Rate exceeded", true)
        );
    }

    #[test]
    fn non_json_error_keeps_status_and_text() {
        let e = service_error(503, &[], b"<html>Service Unavailable</html>");
        assert_eq!((e.code.as_str(), e.retryable), ("Http503", true));
        assert!(e.message.contains("Service Unavailable"));
    }

    #[test]
    fn encodes_like_aws() {
        assert_eq!(percent_encode("a b/c~d=é"), "a%20b%2Fc~d%3D%C3%A9");
    }
}

/// Property tests (`PROPTEST_CASES=N` runs more): whatever a service (or
/// something posing as one) answers, reading it never panics, and a
/// service error always has a code.
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Bodies that look like AWS answers, and bodies that do not.
    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            any::<Vec<u8>>(),
            "\\{\"(__type|code|message|Message)\": ?\"[a-zA-Z#:.]{0,20}\"\\}".prop_map(String::into_bytes),
            "<(ErrorResponse|Error|Code|Message|ListResult|member)>[a-zA-Z<>/ ]{0,40}".prop_map(String::into_bytes),
        ]
    }

    proptest! {
        #[test]
        fn any_error_answer_reads_as_a_service_error(status in any::<u16>(), body in body(), header in "[A-Za-z#:]{0,20}") {
            let headers = vec![("x-amzn-errortype".to_owned(), header)];
            for error in [service_error(status, &headers, &body), query::service_error(status, &[], &body)] {
                prop_assert!(!error.code.is_empty());
            }
        }

        #[test]
        fn any_query_reply_reads_or_is_refused(xml in "(<[a-zA-Z]{1,8}>|</[a-zA-Z]{1,8}>|[a-z ]{0,5}){0,30}") {
            let _ = query::result_of("List", &xml);
        }
    }

    #[test]
    fn a_query_compatible_service_answers_with_its_query_era_code() {
        let headers = vec![
            ("x-amzn-query-error".to_owned(), "AWS.SimpleQueueService.NonExistentQueue;Sender".to_owned()),
            ("x-amzn-errortype".to_owned(), "com.amazonaws.sqs#QueueDoesNotExist".to_owned()),
        ];
        let body = br#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The queue does not exist."}"#;
        let error = service_error(400, &headers, body);
        assert_eq!(
            (error.code.as_str(), error.message.as_str()),
            ("AWS.SimpleQueueService.NonExistentQueue", "The queue does not exist.")
        );
        // A header that is not `code;fault` is not a code.
        let odd = vec![("x-amzn-query-error".to_owned(), ";Sender".to_owned())];
        assert_eq!(service_error(400, &odd, body).code, "QueueDoesNotExist");
    }

    #[test]
    fn a_reply_nested_deeply_is_refused_not_a_crash() {
        let deep = format!("{}{}", "<ListResult>".repeat(100_000), "</ListResult>".repeat(100_000));
        assert!(query::result_of("List", &deep).is_err());
    }
}
