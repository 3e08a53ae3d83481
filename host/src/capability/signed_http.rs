//! The signed-HTTP capability: a connector's only way out of its sandbox.
//!
//! For each request a connector hands over, this module checks it against
//! the connector's [`Grant`] and the [`policy`](super::policy) rules, picks
//! the endpoint for the named service ([`Endpoints`]), signs it with SigV4
//! using credentials only the host holds, sends it over a pooled keep-alive
//! client, retries what may pass ([`RetryPolicy`]), and returns the response
//! within the configured size limits.
//! It knows nothing of WebAssembly; `invoke` adapts it to the WIT interface.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;

use crate::capability::api_http::ApiRequest;
use crate::capability::egress::{ApiResolver, EgressResolver};
use crate::capability::grant::Grant;
use crate::capability::policy;
use crate::capability::retry::{self, CarriedOut, RetryPolicy};
use crate::capability::sigv4;
use crate::endpoints::{Endpoints, check_service};
use crate::escape::Untrusted;
use crate::escape::error_chain;
use crate::identity::Identity;

/// A request as a connector hands it over.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// AWS signing name of the service (`cognito-idp`).
    pub service: String,
    pub method: String,
    /// Path and query, origin form (`/`).
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Sign with SigV4; false sends the request without credentials.
    pub sign: bool,
    /// DNS labels to put before the endpoint's host (`data.`,
    /// `123456789012.`), as an API model asks of some operations. An
    /// endpoint the operator configured is used as given, without them.
    pub host_prefix: Option<String>,
}

/// The service's answer, whatever its status.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why a request got no answer from the service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    #[error("denied: {0}")]
    Denied(String),
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    #[error("transport: {0}")]
    Transport(String),
    /// No credential could be had for an HTTP API's connection (a token
    /// endpoint refused, say); the request was not sent.
    #[error("credential: {0}")]
    Credential(String),
}

impl SendError {
    /// A stable, kebab-case name of the kind, as in the WIT `send-error`.
    pub fn kind(&self) -> &'static str {
        match self {
            SendError::Denied(_) => "denied",
            SendError::InvalidRequest(_) => "invalid-request",
            SendError::LimitExceeded(_) => "limit-exceeded",
            SendError::Transport(_) => "transport",
            SendError::Credential(_) => "credential",
        }
    }
}

/// Limits on what one invocation may do through the capability.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Largest request body a connector may send.
    pub max_request_bytes: usize,
    /// Most headers one request may carry.
    pub max_request_headers: usize,
    /// Most bytes of header names and values one request may carry.
    pub max_request_header_bytes: usize,
    /// Largest response body returned to a connector; a larger one fails.
    pub max_response_bytes: usize,
    /// Most requests one invocation may send.
    pub max_calls_per_invocation: u32,
    /// Time allowed for one request, from connecting to the end of the body.
    pub request_timeout: Duration,
}

impl HttpLimits {
    /// Most request headers a limit may allow (below what an HTTP header
    /// map can hold).
    pub const MAX_HEADERS: usize = 10_000;

    /// Checks that the limits are usable.
    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.max_request_headers <= Self::MAX_HEADERS,
            "the request header limit must be at most {}, not {}",
            Self::MAX_HEADERS,
            self.max_request_headers
        );
        anyhow::ensure!(
            self.max_calls_per_invocation > 0 && !self.request_timeout.is_zero(),
            "the call limit and the request timeout must be above 0"
        );
        Ok(())
    }
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_request_bytes: 1024 * 1024,
            max_request_headers: 64,
            max_request_header_bytes: 16 * 1024,
            max_response_bytes: 8 * 1024 * 1024,
            max_calls_per_invocation: 1000,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The capability, shared by every connector of one host.
pub struct SignedHttp {
    client: reqwest::Client,
    /// The client for HTTP APIs: its own resolver, stricter about
    /// addresses (see `egress`).
    pub(super) api_client: reqwest::Client,
    endpoints: Endpoints,
    limits: HttpLimits,
    pub(super) retry: RetryPolicy,
    pub(super) retries: prometheus_client::metrics::counter::Counter,
}

impl SignedHttp {
    /// A capability that sends to `endpoints` (unless the identity of a
    /// request has its own), through `proxy` when the operator chose one.
    /// `trusted_hosts` are further configured endpoint hosts (those of
    /// named authentications) the egress filter lets through as given;
    /// `any_address_api_hosts` the hosts of API connections that may
    /// resolve to private addresses.
    pub fn new(
        endpoints: Endpoints,
        trusted_hosts: std::collections::BTreeSet<String>,
        any_address_api_hosts: std::collections::BTreeSet<String>,
        limits: HttpLimits,
        retry: RetryPolicy,
        proxy: Option<&str>,
        retries: prometheus_client::metrics::counter::Counter,
    ) -> anyhow::Result<Self> {
        limits.check()?;
        let build = |resolver: Arc<dyn reqwest::dns::Resolve>| -> anyhow::Result<reqwest::Client> {
            let mut client = reqwest::Client::builder()
                .timeout(limits.request_timeout)
                // A redirect would send the request somewhere the host did not pick.
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("connector-host/", env!("CARGO_PKG_VERSION")))
                .dns_resolver(resolver)
                // Proxy variables in the environment would divert requests
                // past the egress filter: only an explicit proxy counts.
                .no_proxy();
            if let Some(proxy) = proxy {
                let proxy =
                    reqwest::Proxy::all(proxy).with_context(|| format!("`{proxy}` is not a valid proxy URL"))?;
                client = client.proxy(proxy);
            }
            client.build().context("could not build the HTTP client")
        };
        let configured = endpoints.configured_hosts().into_iter().chain(trusted_hosts).collect();
        let client = build(Arc::new(EgressResolver::new(configured)))?;
        let api_client = build(Arc::new(ApiResolver::new(any_address_api_hosts)))?;
        Ok(SignedHttp { client, api_client, endpoints, limits, retry, retries })
    }

    /// The host's endpoints.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// Checks, signs (as `identity`) and sends one request for `connector`
    /// (whose operation `repeat` says if it is safe to repeat); says
    /// whether the service may have carried it out.
    pub async fn send(
        &self,
        connector: &str,
        grant: &Grant,
        identity: &Identity,
        request: HttpRequest,
        repeat: OperationRepeat,
    ) -> (Result<HttpResponse, SendError>, CarriedOut) {
        let started = Instant::now();
        let service = request.service.clone();
        let (result, carried_out) = self.send_checked(grant, identity, request, repeat).await;
        match &result {
            Ok(response) => tracing::debug!(
                connector = %Untrusted(connector),
                service = %Untrusted(&service),
                status = response.status,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "signed-http request answered"
            ),
            Err(error) => {
                tracing::warn!(connector = %Untrusted(connector), service = %Untrusted(&service), error = %Untrusted(&error.to_string()), "signed-http request failed")
            }
        }
        (result, carried_out)
    }

    /// Checks `request`, then sends it, trying again what may pass; says
    /// whether any try may have been carried out.
    async fn send_checked(
        &self,
        grant: &Grant,
        identity: &Identity,
        request: HttpRequest,
        repeat: OperationRepeat,
    ) -> (Result<HttpResponse, SendError>, CarriedOut) {
        let Target { method, headers, url, region } = match self.target(grant, identity, &request) {
            Ok(target) => target,
            Err(error) => return (Err(error), CarriedOut::No),
        };
        let mut failed = 0;
        let mut carried_out = CarriedOut::No;
        loop {
            let (outcome, tried) = self.attempt(&method, &url, &headers, &request, identity, &region).await;
            carried_out = carried_out.max(tried);
            let retry_reason = match &outcome {
                Ok(response) => retry::retryable_response(response.status, &response.headers, &response.body),
                Err(Failure::Retryable(error)) => Some(error.to_string()),
                Err(Failure::Final(_)) => None,
            };
            // A try that may have been carried out is tried again only for
            // an operation that does nothing twice.
            let may_retry = tried == CarriedOut::No || repeat == OperationRepeat::Safe;
            failed += 1;
            match retry_reason {
                Some(reason) if may_retry && failed < self.retry.max_attempts => {
                    let wait = self.retry.backoff(failed);
                    self.retries.inc();
                    tracing::info!(service = %request.service, attempt = failed, %reason, wait_ms = wait.as_millis() as u64,
                        "retrying signed-http request");
                    tokio::time::sleep(wait).await;
                }
                _ => return (outcome.map_err(|(Failure::Retryable(e) | Failure::Final(e))| e), carried_out),
            }
        }
    }

    /// What `request` goes out as, once checked against `grant`, the
    /// policy and the limits; or why it may not go out.
    fn target(&self, grant: &Grant, identity: &Identity, request: &HttpRequest) -> Result<Target, SendError> {
        check_service(&request.service).map_err(SendError::InvalidRequest)?;
        grant.check(&request.service).map_err(SendError::Denied)?;
        let method = policy::check_method(&request.method).map_err(SendError::InvalidRequest)?;
        policy::check_path(&request.path).map_err(SendError::InvalidRequest)?;
        let headers = self.checked_headers(&request.headers, request.body.len())?;
        let region = identity.region.as_deref().ok_or_else(|| match &identity.name {
            None => SendError::Transport("no AWS region is configured; pass --region or set AWS_REGION".into()),
            Some(name) => SendError::Transport(format!("authentication `{name}` has no region; set `region` for it")),
        })?;
        let endpoints = identity.endpoints.as_ref().unwrap_or(&self.endpoints);
        let endpoint =
            endpoints.resolve(&request.service, region).map_err(|e| SendError::InvalidRequest(format!("{e:#}")))?;
        if let Some(prefix) = &request.host_prefix {
            policy::check_host_prefix(prefix).map_err(SendError::InvalidRequest)?;
        }
        let url = match &request.host_prefix {
            // A configured endpoint (an emulator, a proxy) is used as given.
            Some(prefix) if !endpoint.configured => {
                format!("{}{}", with_host_prefix(&endpoint.base, prefix), request.path)
            }
            _ => format!("{}{}", endpoint.base, request.path),
        };
        // A global service signs for its own region, whatever the caller's.
        let region = endpoint.signing_region.as_deref().unwrap_or(region).to_owned();
        Ok(Target { method, headers, url, region })
    }

    /// A connector's `headers`, checked against the policy and, with the
    /// size of the body they go with, against the limits.
    pub(super) fn checked_headers(
        &self,
        headers: &[(String, String)],
        body_len: usize,
    ) -> Result<http::HeaderMap, SendError> {
        // Counted before any map is sized from the guest's numbers.
        if headers.len() > self.limits.max_request_headers {
            return Err(SendError::LimitExceeded(format!(
                "{} request headers are over the limit of {}",
                headers.len(),
                self.limits.max_request_headers
            )));
        }
        let header_bytes: usize = headers.iter().map(|(k, v)| k.len().saturating_add(v.len())).sum();
        if header_bytes > self.limits.max_request_header_bytes {
            return Err(SendError::LimitExceeded(format!(
                "request headers of {header_bytes} bytes are over the limit of {}",
                self.limits.max_request_header_bytes
            )));
        }
        let mut checked = http::HeaderMap::with_capacity(headers.len());
        for (name, value) in headers {
            let (name, value) = policy::check_header(name, value).map_err(SendError::InvalidRequest)?;
            checked.append(name, value);
        }
        if body_len > self.limits.max_request_bytes {
            return Err(SendError::LimitExceeded(format!(
                "request body of {body_len} bytes is over the {} byte limit",
                self.limits.max_request_bytes
            )));
        }
        Ok(checked)
    }

    /// One attempt: build, sign (afresh, for the current time), send, read;
    /// and whether the service may have carried it out.
    async fn attempt(
        &self,
        method: &http::Method,
        url: &str,
        headers: &http::HeaderMap,
        request: &HttpRequest,
        identity: &Identity,
        region: &str,
    ) -> (Result<HttpResponse, Failure>, CarriedOut) {
        let mut http_request = match http::Request::builder().method(method.clone()).uri(url).body(request.body.clone())
        {
            Ok(built) => built,
            Err(e) => {
                let error = SendError::InvalidRequest(format!("could not build the request: {e}"));
                return (Err(Failure::Final(error)), CarriedOut::No);
            }
        };
        *http_request.headers_mut() = headers.clone();
        if request.sign
            && let Err(e) = sign(&mut http_request, identity, &request.service, region).await
        {
            return (Err(Failure::Final(e)), CarriedOut::No);
        }
        let http_request: reqwest::Request = match http_request.try_into() {
            Ok(built) => built,
            Err(e) => {
                let error = SendError::InvalidRequest(format!("could not build the request: {e}"));
                return (Err(Failure::Final(error)), CarriedOut::No);
            }
        };
        match self.client.execute(http_request).await {
            Ok(response) => self.read_response(response).await,
            // A connection never made carried nothing; one lost after the
            // request went out may have carried all of it.
            Err(e) => {
                let carried_out = if e.is_connect() { CarriedOut::No } else { CarriedOut::Possibly };
                (Err(Failure::Retryable(SendError::Transport(error_chain(&e)))), carried_out)
            }
        }
    }

    /// Reads `response` within the size limit; whether the request it
    /// answers may have been carried out follows from its status (and
    /// error code), whether or not its body can be read.
    pub(super) async fn read_response(
        &self,
        mut response: reqwest::Response,
    ) -> (Result<HttpResponse, Failure>, CarriedOut) {
        let limit = self.limits.max_response_bytes;
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        // Judged from the headers until the body is read.
        let mut carried_out = retry::carried_out(status, &headers, b"");
        if response.content_length().is_some_and(|len| len > limit as u64) {
            return (Err(Failure::Final(too_large(limit))), carried_out);
        }
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) if body.len() + chunk.len() > limit => {
                    return (Err(Failure::Final(too_large(limit))), carried_out);
                }
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => return (Err(Failure::Retryable(SendError::Transport(error_chain(&e)))), carried_out),
            }
        }
        carried_out = retry::carried_out(status, &headers, &body);
        (Ok(HttpResponse { status, headers, body }), carried_out)
    }
}

/// Signs `request` with `identity`'s credentials.
pub(super) async fn sign(
    request: &mut http::Request<Vec<u8>>,
    identity: &Identity,
    service: &str,
    region: &str,
) -> Result<(), SendError> {
    let credentials = identity.credentials.get().await.map_err(|e| match &identity.name {
        None => SendError::Transport(format!("{e:#}")),
        Some(name) => SendError::Transport(format!("authentication `{name}`: {e:#}")),
    })?;
    sigv4::sign_request(request, &credentials, service, region, SystemTime::now()).map_err(SendError::Transport)
}

/// Whether the operation an invocation runs is safe to repeat (it says
/// it does nothing twice, or it only reads): a request whose outcome is
/// unknown (a server fault, a connection lost after sending) is tried
/// again only then, since a try that was carried out would be carried out
/// twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationRepeat {
    Safe,
    Unsafe,
}

/// A checked request's method, headers, URL and signing region.
struct Target {
    method: http::Method,
    headers: http::HeaderMap,
    url: String,
    region: String,
}

/// An attempt's failure: worth another attempt (a broken connection, a
/// timeout) or final (a limit, a request we cannot sign).
pub(super) enum Failure {
    Retryable(SendError),
    Final(SendError),
}

fn too_large(limit: usize) -> SendError {
    SendError::LimitExceeded(format!("response body is over the {limit} byte limit"))
}

/// A request through either capability.
enum Outgoing {
    Aws(HttpRequest),
    Api(ApiRequest),
}

/// One invocation's use of the capability: which connector, what it was
/// granted, how many calls it has made, the last call that failed, and
/// whether any call may have been carried out.
pub struct CapabilitySession {
    http: Arc<SignedHttp>,
    connector: Arc<str>,
    grant: Arc<Grant>,
    identity: Arc<Identity>,
    repeat: OperationRepeat,
    calls: u32,
    last_failure: Option<SendError>,
    carried_out: CarriedOut,
}

impl CapabilitySession {
    /// A session for one invocation of `connector`, signing as `identity`,
    /// running an operation `repeat` says is safe to repeat or not.
    pub fn new(
        http: Arc<SignedHttp>,
        connector: Arc<str>,
        grant: Arc<Grant>,
        identity: Arc<Identity>,
        repeat: OperationRepeat,
    ) -> Self {
        CapabilitySession {
            http,
            connector,
            grant,
            identity,
            repeat,
            calls: 0,
            last_failure: None,
            carried_out: CarriedOut::No,
        }
    }

    /// Sends `request` to an AWS service if the invocation still has calls
    /// left.
    pub async fn send(&mut self, request: HttpRequest) -> Result<HttpResponse, SendError> {
        self.send_counted(Outgoing::Aws(request)).await
    }

    /// Sends `request` to an HTTP API if the invocation still has calls
    /// left (one count for both capabilities).
    pub async fn send_api(&mut self, request: ApiRequest) -> Result<HttpResponse, SendError> {
        self.send_counted(Outgoing::Api(request)).await
    }

    async fn send_counted(&mut self, request: Outgoing) -> Result<HttpResponse, SendError> {
        let max = self.http.limits.max_calls_per_invocation;
        let result = if self.calls >= max {
            Err(SendError::LimitExceeded(format!("more than {max} requests in one invocation")))
        } else {
            self.calls += 1;
            // Possible until its outcome says otherwise: an invocation
            // stopped at its deadline mid-request ends here.
            let before = std::mem::replace(&mut self.carried_out, CarriedOut::Possibly);
            let (connector, grant, identity) = (&self.connector, &self.grant, &self.identity);
            let (result, carried_out) = match request {
                Outgoing::Aws(request) => self.http.send(connector, grant, identity, request, self.repeat).await,
                Outgoing::Api(request) => self.http.send_api(connector, grant, identity, request, self.repeat).await,
            };
            self.carried_out = before.max(carried_out);
            result
        };
        if let Err(error) = &result {
            self.last_failure = Some(error.clone());
        }
        result
    }

    /// The path below the base URL of `api`'s connection that `url`
    /// points to, if the invocation may call `api` and `url` is under it.
    pub fn relative_path(&self, api: &str, url: &str) -> Option<String> {
        self.http.relative_path(&self.grant, &self.identity, api, url)
    }

    /// Whether a request of this invocation may have been carried out (or
    /// was cut short by the invocation's deadline).
    pub fn carried_out(&self) -> CarriedOut {
        self.carried_out
    }

    /// The host's own account of the last request that failed, if one did:
    /// what a connector's `host` error is checked against.
    pub fn last_failure(&self) -> Option<&SendError> {
        self.last_failure.as_ref()
    }
}

/// `base` (`https://host`) with `prefix` before its host name.
fn with_host_prefix(base: &str, prefix: &str) -> String {
    match base.split_once("://") {
        Some((scheme, host)) => format!("{scheme}://{prefix}{host}"),
        None => format!("{prefix}{base}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_prefix_goes_before_the_endpoints_host() {
        assert_eq!(
            with_host_prefix("https://s3-control.us-east-1.amazonaws.com", "123456789012."),
            "https://123456789012.s3-control.us-east-1.amazonaws.com"
        );
    }
}
