//! The AWS JSON 1.1 protocol over the host's signed-HTTP capability: builds
//! the request for an operation, sends it, and turns the response into the
//! output JSON or a typed service error.

use serde_json::Value;

use crate::connector::api::signed_http::{self, Request, SendError};
use crate::connector::api::types::{Error, ServiceError};
use crate::model::{SIGNING_NAME, TARGET_PREFIX};
use crate::shapes::Operation;

/// Error codes worth retrying later even though the service answers them
/// with a 4xx status: the host's list, so that what the connector calls
/// retryable is what the host retries.
const RETRYABLE_CODES: &[&str] = &include!("../../host/src/capability/retryable_codes.in");

/// Sends `body` (the operation's API JSON) and returns Cognito's output JSON.
pub fn call(op: &Operation, body: &Value) -> Result<Value, Error> {
    call_action(op.api_name, op.signed, body)
}

/// Sends `body` as the API action `action`, signed or not.
pub fn call_action(action: &str, signed: bool, body: &Value) -> Result<Value, Error> {
    let request = Request {
        service: SIGNING_NAME.to_owned(),
        method: "POST".to_owned(),
        path: "/".to_owned(),
        headers: vec![
            ("content-type".to_owned(), "application/x-amz-json-1.1".to_owned()),
            ("x-amz-target".to_owned(), format!("{TARGET_PREFIX}.{action}")),
        ],
        body: serde_json::to_vec(body).expect("a JSON value serializes"),
        sign: signed,
    };
    let response = signed_http::send(&request).map_err(|e| Error::Host(send_error_text(e)))?;
    if (200..300).contains(&response.status) {
        if response.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Object(Default::default()));
        }
        return serde_json::from_slice(&response.body)
            .map_err(|e| Error::Internal(format!("{action} returned a body that is not JSON: {e}")));
    }
    Err(Error::Service(service_error(response.status, &response.headers, &response.body)))
}

/// Reads an AWS JSON error: the code from `X-Amzn-ErrorType` or `__type`
/// (namespace before `#` and details after `:` removed), the message from
/// `message` or `Message`.
pub fn service_error(status: u16, headers: &[(String, String)], body: &[u8]) -> ServiceError {
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let header_code =
        headers.iter().find(|(name, _)| name.eq_ignore_ascii_case("x-amzn-errortype")).map(|(_, value)| value.as_str());
    let raw_code = header_code
        .or_else(|| json.get("__type").and_then(Value::as_str))
        .or_else(|| json.get("code").and_then(Value::as_str));
    let code = match raw_code.map(clean_code) {
        Some(code) if !code.is_empty() => code.to_owned(),
        _ => format!("Http{status}"),
    };
    let message = ["message", "Message", "errorMessage"]
        .iter()
        .find_map(|key| json.get(key).and_then(Value::as_str))
        .map(str::to_owned)
        .unwrap_or_else(|| {
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

fn send_error_text(error: SendError) -> String {
    match error {
        SendError::Denied(m) => format!("denied: {m}"),
        SendError::InvalidRequest(m) => format!("invalid request: {m}"),
        SendError::LimitExceeded(m) => format!("limit exceeded: {m}"),
        SendError::Transport(m) => format!("transport: {m}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_from_type_with_namespace() {
        let e = service_error(
            400,
            &[],
            br#"{"__type":"com.amazonaws.cognito#UserNotFoundException","message":"User does not exist."}"#,
        );
        assert_eq!(
            (e.code.as_str(), e.message.as_str(), e.retryable),
            ("UserNotFoundException", "User does not exist.", false)
        );
    }

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
}
