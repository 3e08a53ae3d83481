//! The AWS REST-JSON protocol: the action in the method and path, the
//! input as a JSON body.

use serde_json::Value;

use crate::Error;
use crate::aws::send;
use crate::bindings::connector::api::signed_http::Request;

/// Sends `method` `path` (with its query, already encoded; see
/// [`percent_encode`](crate::aws::percent_encode)) to `service` with `body`,
/// and returns the JSON answer (`{}` for an empty one).
pub fn call(service: &str, method: &str, path: &str, body: Option<&Value>) -> Result<Value, Error> {
    let mut headers = Vec::new();
    let body = match body {
        Some(body) => {
            headers.push(("content-type".to_owned(), "application/json".to_owned()));
            serde_json::to_vec(body).map_err(|e| Error::Internal(format!("the input does not serialize: {e}")))?
        }
        None => Vec::new(),
    };
    let request = Request {
        service: service.to_owned(),
        method: method.to_owned(),
        path: path.to_owned(),
        headers,
        body,
        sign: true,
    };
    let response = send(&request)?;
    if response.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(&response.body)
        .map_err(|e| Error::Internal(format!("{method} {path} returned a body that is not JSON: {e}")))
}
