//! The HTTP-API capability: requests to an API a connector declares, sent
//! to the base URL of the connection the operator configured for it, with
//! the credential the host holds applied.
//!
//! Guards against a connector that:
//! - calls an API it did not declare or was not granted, or one its
//!   authentication has no connection for (`denied`);
//! - sends elsewhere than the connection's base URL: the path is checked
//!   as for AWS (no authority, no dot segments), redirects are returned,
//!   not followed, and a host name that resolves to a private or local
//!   address is refused unless the operator allows it (`egress`);
//! - sets the credential's header (`authorization`, the API key's header)
//!   or query parameter itself, to replace or learn it;
//! - learns a credential from a response: an API that echoes a request
//!   (an echo endpoint, an error page quoting headers) has every value the
//!   host may have sent (key, token, basic credential, in plain and
//!   percent-encoded form) replaced with `***` before the connector sees
//!   the response; transport errors carry no URL, which may hold a key.

use std::time::Duration;

use crate::capability::grant::Grant;
use crate::capability::policy;
use crate::capability::retry::CarriedOut;
use crate::capability::signed_http::{Failure, HttpResponse, OperationRepeat, SendError, SignedHttp, sign};
use crate::escape::{Untrusted, error_chain, quote_untrusted};
use crate::redact::{Hider, query_encode};
use std::sync::Arc;

use crate::identity::{Applied, Connection, Identity, Outgoing};

/// A request for a declared HTTP API, as a connector hands it over.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The API's name, as the connector declares it (`github`).
    pub api: String,
    pub method: String,
    /// Path and query below the connection's base URL (`/repos?page=2`).
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// The longest wait a `Retry-After` may ask for before the host gives up
/// waiting and answers with the 429 or 503.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

impl SignedHttp {
    /// Checks `request` against `grant` and `identity`'s connection for
    /// its API, applies the connection's credential, sends it (trying
    /// again what may pass) and returns the response with every
    /// credential it echoes hidden; says whether the API may have carried
    /// it out.
    pub async fn send_api(
        &self,
        connector: &str,
        grant: &Grant,
        identity: &Identity,
        request: ApiRequest,
        repeat: OperationRepeat,
    ) -> (Result<HttpResponse, SendError>, CarriedOut) {
        let started = std::time::Instant::now();
        let api = request.api.clone();
        let (result, carried_out) = self.send_api_checked(grant, identity, request, repeat).await;
        match &result {
            Ok(response) => tracing::debug!(connector = %Untrusted(connector), api = %Untrusted(&api),
                status = response.status, elapsed_ms = started.elapsed().as_millis() as u64, "http-api request answered"),
            Err(error) => tracing::warn!(connector = %Untrusted(connector), api = %Untrusted(&api),
                error = %Untrusted(&error.to_string()), "http-api request failed"),
        }
        (result, carried_out)
    }

    async fn send_api_checked(
        &self,
        grant: &Grant,
        identity: &Identity,
        request: ApiRequest,
        repeat: OperationRepeat,
    ) -> (Result<HttpResponse, SendError>, CarriedOut) {
        let (connection, method, headers, url) = match self.api_target(grant, identity, &request) {
            Ok(target) => target,
            Err(error) => return (Err(error), CarriedOut::No),
        };
        // An idempotent method may be sent again whatever became of it.
        let idempotent_method =
            matches!(method, http::Method::GET | http::Method::HEAD | http::Method::PUT | http::Method::DELETE);
        let mut failed = 0;
        let mut carried_out = CarriedOut::No;
        let mut refreshed = false;
        loop {
            let attempt = self.api_attempt(identity, connection, &method, &url, &headers, &request.body).await;
            let Attempt { outcome, carried_out: tried, authorization } = attempt;
            carried_out = carried_out.max(tried);
            // A refused access token may have expired early or been revoked:
            // one more try with a new one.
            if let (Ok(response), Some(used)) = (&outcome, &authorization)
                && response.status == 401
                && !refreshed
                && connection.uses_tokens()
                && connection.forget_token(used).await
            {
                refreshed = true;
                continue;
            }
            let (retry_reason, wait) = match &outcome {
                Ok(response) => retry_after_response(response.status, &response.headers, idempotent_method),
                Err(Failure::Retryable(error)) => (Some(error.to_string()), None),
                Err(Failure::Final(_)) => (None, None),
            };
            let may_retry = tried == CarriedOut::No || idempotent_method || repeat == OperationRepeat::Safe;
            failed += 1;
            match retry_reason {
                Some(reason) if may_retry && failed < self.retry.max_attempts => {
                    let wait = wait.unwrap_or_else(|| self.retry.backoff(failed));
                    self.retries.inc();
                    tracing::info!(api = %Untrusted(&request.api), attempt = failed, %reason,
                        wait_ms = wait.as_millis() as u64, "retrying http-api request");
                    tokio::time::sleep(wait).await;
                }
                _ => return (outcome.map_err(|(Failure::Retryable(e) | Failure::Final(e))| e), carried_out),
            }
        }
    }

    /// The path and query below the base URL of `api`'s connection that
    /// `url` points to (see [`path_below`]); `None` otherwise, or when
    /// `api` is not granted or has no connection.
    pub fn relative_path(&self, grant: &Grant, identity: &Identity, api: &str, url: &str) -> Option<String> {
        grant.check_api(api).ok()?;
        let connection = identity.apis.get(api)?;
        path_below(&connection.config.base_url, url, key_query(connection))
    }

    /// The connection, method, headers and URL `request` goes out with,
    /// once checked; or why it may not go out.
    fn api_target<'a>(
        &self,
        grant: &Grant,
        identity: &'a Identity,
        request: &ApiRequest,
    ) -> Result<(&'a Arc<Connection>, http::Method, http::HeaderMap, String), SendError> {
        grant.check_api(&request.api).map_err(SendError::Denied)?;
        let Some(connection) = identity.apis.get(&request.api) else {
            let whose = match &identity.name {
                Some(name) => format!(
                    "authentication `{name}` has no connection for API `{}`; add \
                    [authentications.{name}.apis.{}] to the authentications file",
                    request.api, request.api
                ),
                None => format!(
                    "the host has no connection for API `{}`; add [apis.{}] to the authentications \
                    file (or call with an authentication that has one)",
                    request.api, request.api
                ),
            };
            return Err(SendError::Denied(whose));
        };
        grant.check_credential(&request.api, connection.config.scheme.kind()).map_err(SendError::Denied)?;
        let method = policy::check_method(&request.method).map_err(SendError::InvalidRequest)?;
        policy::check_path(&request.path).map_err(SendError::InvalidRequest)?;
        let mut headers = self.checked_headers(&request.headers, request.body.len())?;
        // An encoded answer, or a part of one, could not be searched for
        // the credential whole.
        for reserved in [http::header::ACCEPT_ENCODING, http::header::RANGE] {
            if headers.contains_key(&reserved) {
                return Err(SendError::InvalidRequest(format!(
                    "header `{reserved}` is the host's (answers come whole and unencoded, to be checked for \
                     credentials); a connector may not set it"
                )));
            }
        }
        if let Some(name) = connection.owned_headers().into_iter().find(|name| headers.contains_key(*name)) {
            return Err(SendError::InvalidRequest(format!(
                "header `{name}` carries the connection's credential, which the host sets; a connector may not set it"
            )));
        }
        headers.remove(http::header::HOST);
        let mut url = format!("{}{}", connection.config.base_url.as_str().trim_end_matches('/'), request.path);
        if let Some(name) = key_query(connection) {
            let query = request.path.split_once('?').map(|(_, q)| q).unwrap_or("");
            if query_names(query).any(|given| given.eq_ignore_ascii_case(name)) {
                return Err(SendError::InvalidRequest(format!(
                    "query parameter {} carries the connection's credential, which the host sets; a connector may \
                     not set it",
                    quote_untrusted(name)
                )));
            }
            url.push(if request.path.contains('?') { '&' } else { '?' });
        }
        Ok((connection, method, headers, url))
    }

    /// One attempt: the credential applied (an access token fetched when
    /// needed), sent, read, and cleaned of any credential it echoes;
    /// whether the API may have carried it out; and the `Authorization`
    /// it carried.
    async fn api_attempt(
        &self,
        identity: &Identity,
        connection: &Arc<Connection>,
        method: &http::Method,
        url: &str,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Attempt {
        let failed = |error: SendError| Attempt {
            outcome: Err(Failure::Final(error)),
            carried_out: CarriedOut::No,
            authorization: None,
        };
        // The path as it goes out (the URL parser encodes what a path may
        // not hold), for a signature over it: parsed only for one.
        let parsed = connection.signs_requests().then(|| reqwest::Url::parse(url).ok()).flatten();
        let path = parsed.as_ref().map(|u| match u.query() {
            Some(query) => format!("{}?{query}", u.path()),
            None => u.path().to_owned(),
        });
        let outgoing = Outgoing { method: method.as_str(), path: path.as_deref().unwrap_or("/"), body };
        let credential = match connection.credential(&self.api_client, &outgoing).await {
            Ok(credential) => credential,
            Err(reason) => return failed(SendError::Credential(format!("API `{}`: {reason}", connection.config.api))),
        };
        let mut url = url.to_owned();
        let mut headers = headers.clone();
        let mut sigv4 = None;
        // The values this request carries, hidden in its own answer
        // whatever the connection has fetched since.
        let mut used: Vec<String> = Vec::new();
        let mut authorization = None;
        match credential {
            Applied::Nothing => {}
            Applied::Header(name, value) => {
                let text = value.to_str().unwrap_or_default().to_owned();
                used.extend(text.split_once(' ').map(|(_, credential)| credential.to_owned()));
                used.push(text.clone());
                if name == http::header::AUTHORIZATION {
                    authorization = Some(text);
                }
                headers.insert(name, value);
            }
            Applied::Query(name, value) => {
                used.push(value.expose().to_owned());
                url.push_str(&query_encode(&name));
                url.push('=');
                url.push_str(&query_encode(value.expose()));
            }
            Applied::Signed(signed) => {
                for (name, value) in signed {
                    headers.insert(name, value);
                }
            }
            Applied::AwsSigV4 { service, region } => sigv4 = Some((service, region)),
        }
        let built = http::Request::builder().method(method.clone()).uri(&url).body(body.to_vec());
        let Ok(mut http_request) = built else {
            // Without the URL: it may hold a key.
            return failed(SendError::InvalidRequest("could not build the request: not a valid URL".into()));
        };
        *http_request.headers_mut() = headers;
        if let Some((service, region)) = sigv4 {
            let Some(region) = region.or_else(|| identity.region.clone()) else {
                return failed(SendError::Credential(format!(
                    "API `{}`: SigV4 needs a region; set `region` on the connection or its authentication",
                    connection.config.api
                )));
            };
            if let Err(e) = sign(&mut http_request, identity, &service, &region).await {
                return failed(SendError::Credential(format!("API `{}`: {e}", connection.config.api)));
            }
        }
        let request: reqwest::Request = match http_request.try_into() {
            Ok(request) => request,
            Err(e) => {
                let error = format!("could not build the request: {}", error_chain(&e.without_url()));
                return failed(SendError::InvalidRequest(error));
            }
        };
        let (outcome, carried_out) = match self.api_client.execute(request).await {
            Ok(response) => {
                let encoding = response.headers().get(http::header::CONTENT_ENCODING).cloned();
                let (result, _) = self.read_response(response).await;
                let carried_out = match &result {
                    Ok(response) => api_carried_out(response.status),
                    Err(_) => CarriedOut::Possibly,
                };
                let result = match (result, encoding) {
                    (Ok(_), Some(encoding)) if !encoding.as_bytes().eq_ignore_ascii_case(b"identity") => {
                        Err(Failure::Final(SendError::Transport(format!(
                            "the API answered with content encoding {}, which the host does not take (an encoded \
                             answer cannot be checked for credentials)",
                            quote_untrusted(&String::from_utf8_lossy(encoding.as_bytes()))
                        ))))
                    }
                    (Ok(response), _) => {
                        let mut revealing = connection.revealing();
                        revealing.extend(used);
                        hide_credentials(response, &revealing).map_err(Failure::Final)
                    }
                    (Err(Failure::Retryable(SendError::Transport(m))), _) => {
                        Err(Failure::Retryable(SendError::Transport(strip_url(&m, &url))))
                    }
                    (Err(other), _) => Err(other),
                };
                (result, carried_out)
            }
            Err(e) => {
                let carried_out = if e.is_connect() { CarriedOut::No } else { CarriedOut::Possibly };
                (Err(Failure::Retryable(SendError::Transport(error_chain(&e.without_url())))), carried_out)
            }
        };
        Attempt { outcome, carried_out, authorization }
    }
}

/// What one attempt came to.
struct Attempt {
    /// The answer, cleaned of credentials, or why there is none.
    outcome: Result<HttpResponse, Failure>,
    carried_out: CarriedOut,
    /// The `Authorization` value it carried, if the host set one.
    authorization: Option<String>,
}

/// The query parameter an API key goes in, for a connection that puts it
/// in one.
fn key_query(connection: &Connection) -> Option<&str> {
    match &connection.config.scheme {
        crate::identity::Scheme::ApiKey { placement: crate::identity::KeyPlacement::Query(name), .. } => Some(name),
        _ => None,
    }
}

/// The names of the parameters of `query`, as a server may read them:
/// split on `&` and `;`, percent-decoded, `+` as a space.
fn query_names(query: &str) -> impl Iterator<Item = String> + '_ {
    query.split(['&', ';']).map(|pair| {
        let name = pair.split('=').next().unwrap_or("").replace('+', " ");
        String::from_utf8_lossy(&policy::percent_decode(&name)).into_owned()
    })
}

/// The path and query below `base` that `url` points to: same scheme,
/// host and port, under the base path, a path the policy accepts; without
/// the parameter `key_query` (the connection's key, which the host adds to
/// every request itself).
fn path_below(base: &reqwest::Url, url: &str, key_query: Option<&str>) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    if url.origin() != base.origin() || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let below = url.path().strip_prefix(base.path().trim_end_matches('/'))?;
    if !below.starts_with('/') {
        return None;
    }
    let query: Vec<&str> = url
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| key_query.is_none_or(|key| !query_names(pair).any(|name| name.eq_ignore_ascii_case(key))))
        .collect();
    let path = if query.is_empty() { below.to_owned() } else { format!("{below}?{}", query.join("&")) };
    policy::check_path(&path).ok()?;
    Some(path)
}

/// Whether the API may have carried out a request it answered with
/// `status`: not when it turned it away (4xx), perhaps otherwise.
fn api_carried_out(status: u16) -> CarriedOut {
    if (400..500).contains(&status) { CarriedOut::No } else { CarriedOut::Possibly }
}

/// Why an API's answer is worth another try, and how long the API asks
/// to wait: 429, and 503 with `Retry-After`, always (the request was
/// turned away); other server errors (500, 502, 503, 504) only for an
/// idempotent method.
fn retry_after_response(
    status: u16,
    headers: &[(String, String)],
    idempotent_method: bool,
) -> (Option<String>, Option<Duration>) {
    let retry_after = headers
        .iter()
        .find(|(name, _)| name == "retry-after")
        .and_then(|(_, value)| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    match status {
        429 => (Some("HTTP 429".into()), retry_after.map(|w| w.min(MAX_RETRY_AFTER))),
        503 if retry_after.is_some() => (Some("HTTP 503".into()), retry_after.map(|w| w.min(MAX_RETRY_AFTER))),
        500 | 502 | 503 | 504 if idempotent_method => (Some(format!("HTTP {status}")), None),
        _ => (None, None),
    }
}

/// `response` with every value of `revealing`, in every form an echo may
/// give it, replaced with `***` in its headers and body.
fn hide_credentials(mut response: HttpResponse, revealing: &[String]) -> Result<HttpResponse, SendError> {
    let hider = Hider::new(revealing).map_err(SendError::Transport)?;
    if let Some(hidden) = hider.bytes(&response.body) {
        response.body = hidden;
    }
    for (_, value) in &mut response.headers {
        *value = hider.text(value);
    }
    Ok(response)
}

/// `message` without `url`, which may hold a key.
fn strip_url(message: &str, url: &str) -> String {
    message.replace(url, "(the API's URL)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_credentials_are_hidden_in_every_form() {
        let response = HttpResponse {
            status: 200,
            headers: vec![("x-echo".into(), "Bearer tok/en+1".into())],
            body: br#"{"auth":"Bearer tok/en+1","url":"/x?k=tok/en%2B1","form":"tok%2Fen%2B1"}"#.to_vec(),
        };
        let hidden = hide_credentials(response, &["tok/en+1".to_owned()]).unwrap();
        assert_eq!(hidden.headers[0].1, "Bearer ***");
        assert_eq!(String::from_utf8(hidden.body).unwrap(), r#"{"auth":"Bearer ***","url":"/x?k=***","form":"***"}"#);
    }

    #[test]
    fn links_under_the_base_url_become_paths() {
        let base = reqwest::Url::parse("https://api.example.com/v2").unwrap();
        let path = |url: &str| path_below(&base, url, None);
        assert_eq!(path("https://api.example.com/v2/repos?page=2").as_deref(), Some("/repos?page=2"));
        assert_eq!(path("https://api.example.com/v2").as_deref(), None, "the base itself is no path");
        assert_eq!(path("https://api.example.com/v20/x"), None, "not under the base path");
        assert_eq!(path("https://api.example.com/x"), None);
        assert_eq!(path("http://api.example.com/v2/x"), None, "another scheme");
        assert_eq!(path("https://api.example.com:444/v2/x"), None, "another port");
        assert_eq!(path("https://evil.example/v2/x"), None);
        assert_eq!(path("https://u:p@api.example.com/v2/x"), None);
        assert_eq!(path("https://api.example.com/v2/a/../../admin"), None, "normalized away by the URL parser");
        assert_eq!(path("not a url"), None);
        let keyed = |url: &str| path_below(&base, url, Some("api_key"));
        assert_eq!(keyed("https://api.example.com/v2/r?api_key=***&page=2").as_deref(), Some("/r?page=2"));
        assert_eq!(keyed("https://api.example.com/v2/r?API%5Fkey=x").as_deref(), Some("/r"));
    }

    #[test]
    fn query_names_are_read_as_servers_read_them() {
        let names: Vec<String> = query_names("a=1&api%5Fkey=2;b+c=3&&d").collect();
        assert_eq!(names, ["a", "api_key", "b c", "", "d"]);
    }

    #[test]
    fn what_may_be_tried_again() {
        let after = |s| vec![("retry-after".to_owned(), s)];
        assert_eq!(
            retry_after_response(429, &after("2".into()), false),
            (Some("HTTP 429".into()), Some(Duration::from_secs(2)))
        );
        assert_eq!(retry_after_response(429, &after("9999".into()), false).1, Some(MAX_RETRY_AFTER));
        assert!(retry_after_response(503, &after("1".into()), false).0.is_some());
        assert!(retry_after_response(500, &[], false).0.is_none(), "a POST that failed may have been done");
        assert!(retry_after_response(500, &[], true).0.is_some());
        assert!(retry_after_response(404, &[], true).0.is_none());
        assert_eq!(api_carried_out(409), CarriedOut::No);
        assert_eq!(api_carried_out(500), CarriedOut::Possibly);
        assert_eq!(api_carried_out(201), CarriedOut::Possibly);
    }
}
