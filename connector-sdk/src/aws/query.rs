//! The AWS query protocol (IAM, STS, SES, SNS, ...): a form-encoded `POST
//! /` with `Action` and `Version`, answered in XML. The reply's result
//! element comes back as JSON: elements with children become objects,
//! `member` lists become arrays, text becomes strings.

use serde_json::{Map, Value};

use crate::Error;
use crate::ServiceError;
use crate::aws::{error_of, percent_encode, send_reading_errors};
use crate::bindings::connector::api::signed_http::Request;

/// Calls `action` of `service` (its signing name) at API `version` with the
/// query `params`, and returns the `<{action}Result>` element as JSON.
///
/// `params` are the flattened query parameters (`UserName`, `Tags.member.1.Key`).
pub fn call<K: AsRef<str>, V: AsRef<str>>(
    service: &str,
    action: &str,
    version: &str,
    params: &[(K, V)],
) -> Result<Value, Error> {
    let response = send_reading_errors(&request(service, action, version, params, true), service_error)?;
    result_json(action, &response.body)
}

/// The request [`call`] sends: a form of `Action`, `Version` and `params`,
/// signed or not.
pub fn request<K: AsRef<str>, V: AsRef<str>>(
    service: &str,
    action: &str,
    version: &str,
    params: &[(K, V)],
    signed: bool,
) -> Request {
    let mut body = format!("Action={}&Version={}", percent_encode(action), percent_encode(version));
    for (key, value) in params {
        body.push('&');
        body.push_str(&percent_encode(key.as_ref()));
        body.push('=');
        body.push_str(&percent_encode(value.as_ref()));
    }
    Request {
        service: service.to_owned(),
        method: "POST".to_owned(),
        path: "/".to_owned(),
        headers: vec![("content-type".to_owned(), "application/x-www-form-urlencoded; charset=utf-8".to_owned())],
        body: body.into_bytes(),
        sign: signed,
    }
}

/// Reads the `<{action}Result>` element of a query reply `body` with
/// `read`; `{}` when the reply has none.
pub(crate) fn with_result(
    action: &str,
    body: &[u8],
    read: impl FnOnce(roxmltree::Node<'_, '_>) -> Result<Value, Error>,
) -> Result<Value, Error> {
    let result_name = format!("{action}Result");
    with_root(action, body, |root| match root.descendants().find(|n| n.has_tag_name(result_name.as_str())) {
        Some(result) => read(result),
        None => Ok(Value::Object(Map::new())),
    })
}

/// Reads the document element of an XML reply `body` (EC2's
/// `<{action}Response>`, which holds the result's members) with `read`.
pub(crate) fn with_root(
    action: &str,
    body: &[u8],
    read: impl FnOnce(roxmltree::Node<'_, '_>) -> Result<Value, Error>,
) -> Result<Value, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    let text = std::str::from_utf8(body)
        .map_err(|_| Error::Internal(format!("{action} returned a body that is not UTF-8")))?;
    let document = roxmltree::Document::parse(text)
        .map_err(|e| Error::Internal(format!("{action} returned a body that is not XML: {e}")))?;
    read(document.root_element())
}

/// Reads a query protocol's XML error: `<Code>` and `<Message>`, wherever
/// they sit.
///
/// ```
/// let e = connector_sdk::aws::query::service_error(400, &[],
///     b"<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>");
/// assert_eq!((e.code.as_str(), e.message.as_str(), e.retryable), ("Throttling", "Rate exceeded", true));
/// ```
pub fn service_error(status: u16, headers: &[(String, String)], body: &[u8]) -> ServiceError {
    let document = std::str::from_utf8(body).ok().and_then(|text| roxmltree::Document::parse(text).ok());
    let find = |name: &str| {
        document
            .as_ref()
            .and_then(|d| d.descendants().find(|n| n.has_tag_name(name)))
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned())
    };
    error_of(status, headers, body, find("Code"), find("Message"))
}

/// The `<{action}Result>` element of a query reply, as JSON (`{}` when the
/// action returns none).
pub fn result_of(action: &str, xml: &str) -> Result<Value, Error> {
    result_json(action, xml.as_bytes())
}

fn result_json(action: &str, body: &[u8]) -> Result<Value, Error> {
    with_result(action, body, |result| to_json(result, 0).ok_or_else(|| too_deep(action)))
}

/// The error for a reply nested past [`MAX_DEPTH`].
pub(crate) fn too_deep(action: &str) -> Error {
    Error::Internal(format!("{action} returned a reply nested more than {MAX_DEPTH} elements deep"))
}

/// How deep a reply's elements may nest: far more than any AWS reply, and
/// far less than a stack holds (100,000 nested elements once overflowed
/// it).
pub(crate) const MAX_DEPTH: usize = 256;

/// An element as JSON: text for a leaf, an array for a list of `member`s,
/// an object otherwise; `None` past [`MAX_DEPTH`].
fn to_json(node: roxmltree::Node<'_, '_>, depth: usize) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    let children: Vec<roxmltree::Node<'_, '_>> = node.children().filter(|n| n.is_element()).collect();
    if children.is_empty() {
        return Some(Value::String(node.text().unwrap_or("").trim().to_owned()));
    }
    if children.iter().all(|c| c.has_tag_name("member")) {
        return children
            .into_iter()
            .map(|child| to_json(child, depth + 1))
            .collect::<Option<Vec<_>>>()
            .map(Value::Array);
    }
    let mut object = Map::new();
    for child in children {
        object.insert(child.tag_name().name().to_owned(), to_json(child, depth + 1)?);
    }
    Some(Value::Object(object))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn replies_become_json() {
        let xml = r#"<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
          <ListUsersResult>
            <IsTruncated>false</IsTruncated>
            <Users>
              <member><UserName>ann</UserName><Arn>arn:aws:iam::123456789012:user/ann</Arn></member>
              <member><UserName>bo</UserName><Arn>arn:aws:iam::123456789012:user/bo</Arn></member>
            </Users>
          </ListUsersResult>
          <ResponseMetadata><RequestId>x</RequestId></ResponseMetadata>
        </ListUsersResponse>"#;
        assert_eq!(
            result_of("ListUsers", xml).unwrap(),
            json!({"IsTruncated": "false", "Users": [
                {"UserName": "ann", "Arn": "arn:aws:iam::123456789012:user/ann"},
                {"UserName": "bo", "Arn": "arn:aws:iam::123456789012:user/bo"}]})
        );
        assert_eq!(
            result_of("DeleteUser", "<DeleteUserResponse><ResponseMetadata/></DeleteUserResponse>").unwrap(),
            json!({})
        );
        assert!(result_of("X", "not xml").is_err());
    }

    #[test]
    fn errors_from_xml() {
        let body = br#"<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>
            <Code>NoSuchEntity</Code><Message>The user with name x cannot be found.</Message></Error></ErrorResponse>"#;
        let e = service_error(404, &[], body);
        assert_eq!(
            (e.code.as_str(), e.message.as_str(), e.status),
            ("NoSuchEntity", "The user with name x cannot be found.", 404)
        );
    }
}
