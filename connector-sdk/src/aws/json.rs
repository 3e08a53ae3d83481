//! The AWS JSON protocol (1.0 and 1.1): `POST /` with the action in
//! `X-Amz-Target` and the input as the JSON body.

use serde_json::Value;

use crate::Error;
use crate::aws::send;
use crate::bindings::connector::api::signed_http::Request;

/// The protocol's version, as the service's model says (`awsJson1_0`,
/// `awsJson1_1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1_0,
    V1_1,
}

/// Calls `action` of `service` (its signing name) with `input`;
/// `target_prefix` is the service's target namespace
/// (`AWSCognitoIdentityProviderService`, `DynamoDB_20120810`). `signed`
/// false sends it without credentials, for the actions a service allows so.
pub fn call(
    service: &str,
    target_prefix: &str,
    version: Version,
    action: &str,
    input: &Value,
    signed: bool,
) -> Result<Value, Error> {
    let request = request(service, target_prefix, version, action, input, signed)?;
    output(action, &send(&request)?.body)
}

/// The request [`call`] sends.
pub fn request(
    service: &str,
    target_prefix: &str,
    version: Version,
    action: &str,
    input: &Value,
    signed: bool,
) -> Result<Request, Error> {
    let content_type = match version {
        Version::V1_0 => "application/x-amz-json-1.0",
        Version::V1_1 => "application/x-amz-json-1.1",
    };
    Ok(Request {
        service: service.to_owned(),
        method: "POST".to_owned(),
        path: "/".to_owned(),
        headers: vec![
            ("content-type".to_owned(), content_type.to_owned()),
            ("x-amz-target".to_owned(), format!("{target_prefix}.{action}")),
        ],
        body: serde_json::to_vec(input).map_err(|e| Error::Internal(format!("the input does not serialize: {e}")))?,
        sign: signed,
    })
}

/// The output JSON of `action` from a successful response's `body` (`{}`
/// for an empty one).
pub fn output(action: &str, body: &[u8]) -> Result<Value, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Default::default()));
    }
    serde_json::from_slice(body).map_err(|e| Error::Internal(format!("{action} returned a body that is not JSON: {e}")))
}
