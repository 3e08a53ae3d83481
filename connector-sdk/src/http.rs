//! Requests to the HTTP APIs a connector declares ([`Info::api`]),
//! through the host's `http-api` capability (contract 0.1.2). The
//! connector names the API and gives a path below its base URL; the host
//! picks where it is and applies the credential the operator configured,
//! which the connector never sees.
//!
//! ```ignore
//! use connector_sdk::http::Request;
//! let issues = Request::get("github", "/repos/octo/hello/issues")
//!     .query("state", "open")
//!     .header("accept", "application/vnd.github+json")
//!     .send()?
//!     .error_for_status()?
//!     .json::<serde_json::Value>()?;
//! ```
//!
//! [`Info::api`]: crate::Info::api

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::aws::percent_encode;
use crate::bindings::connector::api::http_api;
use crate::{Error, ServiceError};

/// An HTTP request for a declared API.
#[derive(Debug, Clone)]
pub struct Request {
    api: String,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    /// A request with `method` for `path` (below the base URL, starting
    /// with `/`, may carry a query) of `api`.
    pub fn new(api: &str, method: &str, path: &str) -> Self {
        Request {
            api: api.to_owned(),
            method: method.to_owned(),
            path: path.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn get(api: &str, path: &str) -> Self {
        Self::new(api, "GET", path)
    }

    pub fn post(api: &str, path: &str) -> Self {
        Self::new(api, "POST", path)
    }

    /// Adds a query parameter, percent-encoded.
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The body, as given.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// `value` as a JSON body, with `content-type: application/json`.
    pub fn json<T: Serialize>(self, value: &T) -> Result<Self, Error> {
        let body = serde_json::to_vec(value).map_err(|e| Error::Internal(format!("could not write JSON: {e}")))?;
        Ok(self.header("content-type", "application/json").body(body))
    }

    /// The path with the query parameters added.
    pub fn path_and_query(&self) -> String {
        let mut path = self.path.clone();
        for (i, (name, value)) in self.query.iter().enumerate() {
            let first = i == 0 && !self.path.contains('?');
            path.push(if first { '?' } else { '&' });
            path.push_str(&percent_encode(name));
            path.push('=');
            path.push_str(&percent_encode(value));
        }
        path
    }

    /// Sends the request; any status is a response. A host refusal or
    /// failure is [`Error::Host`].
    pub fn send(self) -> Result<Response, Error> {
        let path = self.path_and_query();
        let request =
            http_api::Request { api: self.api, method: self.method, path, headers: self.headers, body: self.body };
        let response = http_api::send(&request)?;
        Ok(Response { status: response.status, headers: response.headers, body: response.body })
    }
}

/// An API's answer, whatever its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The path of the next page an answer links to (`Link: <URL>;
    /// rel="next"`), below the base URL of `api`'s connection; `None` on
    /// the last page, or when the link leaves the API.
    pub fn next_page(&self, api: &str) -> Option<String> {
        let links = self.headers.iter().filter(|(name, _)| name == "link").flat_map(|(_, value)| value.split(','));
        let next = links.filter_map(|link| {
            let (target, params) = link.trim().strip_prefix('<')?.split_once('>')?;
            let next = params.split(';').any(|param| {
                let param = param.trim().replace(' ', "");
                param.eq_ignore_ascii_case("rel=\"next\"") || param.eq_ignore_ascii_case("rel=next")
            });
            next.then_some(target)
        });
        next.into_iter().find_map(|url| relative_path(api, url))
    }

    /// This response when its status is a success (2xx); otherwise a
    /// [`Error::Service`] with the status as code (`HTTP 404`), the start
    /// of the body as message, and `retryable` for 429 and 5xx.
    pub fn error_for_status(self) -> Result<Self, Error> {
        if (200..300).contains(&self.status) {
            return Ok(self);
        }
        let text = String::from_utf8_lossy(&self.body);
        let message: String = text.chars().take(1000).collect();
        Err(Error::Service(ServiceError {
            code: format!("HTTP {}", self.status),
            message,
            status: self.status,
            retryable: self.status == 429 || self.status >= 500,
        }))
    }

    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, Error> {
        serde_json::from_slice(&self.body).map_err(|e| {
            Error::Internal(format!(
                "the API answered HTTP {} with a body that is not the JSON expected: {e}",
                self.status
            ))
        })
    }
}

/// The path below the base URL of `api`'s connection that `url` (an
/// absolute URL an answer gave) points to; `None` when it points
/// elsewhere. The host resolves it: the connector need not know the base
/// URL.
pub fn relative_path(api: &str, url: &str) -> Option<String> {
    http_api::relative_path(api, url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_encoded_and_appended() {
        let request = Request::get("x", "/search").query("q", "a b&c").query("page", "2");
        assert_eq!(request.path_and_query(), "/search?q=a%20b%26c&page=2");
        assert_eq!(Request::get("x", "/s?x=1").query("y", "é").path_and_query(), "/s?x=1&y=%C3%A9");
    }

    #[test]
    fn an_error_status_is_a_service_error() {
        let response = Response { status: 503, headers: vec![], body: b"busy".to_vec() };
        let Err(Error::Service(e)) = response.error_for_status() else { panic!("an error") };
        assert_eq!((e.code.as_str(), e.message.as_str(), e.retryable), ("HTTP 503", "busy", true));
        let ok = Response { status: 204, headers: vec![("etag".into(), "x".into())], body: vec![] };
        assert_eq!(ok.error_for_status().unwrap().header("etag"), Some("x"));
    }
}
