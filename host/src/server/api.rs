//! The connector API: list and describe connectors, run one operation, and
//! the probes (`/readyz`, `/metrics`). Failures answer
//! `{"error": {"kind", "message", ...}}` with a status chosen by kind (see
//! [`status_of`]).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::capability::SendError;
use crate::error::InvokeError;
use crate::runtime::{CallContext, Connector};
use crate::server::AppState;

/// An error answer.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    body: Value,
    /// Whether the connection closes after the answer.
    close_connection: bool,
}

impl ApiError {
    pub(super) fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> Self {
        ApiError { status, body: json!({"kind": kind, "message": message.into()}), close_connection: false }
    }

    /// What the answer says.
    pub(super) fn body(&self) -> &Value {
        &self.body
    }

    pub(super) fn unknown_connector(name: &str) -> Self {
        let message = format!("no connector called `{}` is loaded", crate::escape::truncate_chars(name, 80));
        ApiError::new(StatusCode::NOT_FOUND, "unknown-connector", message)
    }
}

impl From<InvokeError> for ApiError {
    fn from(error: InvokeError) -> Self {
        ApiError { status: status_of(&error), body: error.to_json(), close_connection: false }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let busy = self.status == StatusCode::SERVICE_UNAVAILABLE;
        let mut response = (self.status, Json(json!({ "error": self.body }))).into_response();
        if busy {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.close_connection {
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// The HTTP status for an invocation error:
///
/// | status | kinds |
/// |---|---|
/// | 400 | `invalid-input` (and `invalid-json`, a body that is not JSON), `unknown-authentication` |
/// | 403 | `capability` when the request was `denied` (not granted), `authentication-denied` |
/// | 404 | `unknown-connector`, `unknown-operation` |
/// | 413 | a body over the size limit |
/// | 422 | `service` with a 4xx status: the service refused the request |
/// | 502 | `service` with a 5xx status; other `capability` errors |
/// | 503 | `busy` (every instance slot taken), with `Retry-After` |
/// | 504 | `timeout` |
/// | 500 | the connector failed: `trap`, `memory-limit`, `output-too-large`, `transfer-limit`, `invalid-output`, `connector`, `host` |
pub(super) fn status_of(error: &InvokeError) -> StatusCode {
    match error {
        InvokeError::InvalidInput(_) | InvokeError::UnknownAuthentication(_) => StatusCode::BAD_REQUEST,
        InvokeError::AuthenticationDenied(_) => StatusCode::FORBIDDEN,
        InvokeError::UnknownConnector(_) | InvokeError::UnknownOperation(_) => StatusCode::NOT_FOUND,
        InvokeError::Service { status, .. } if *status < 500 => StatusCode::UNPROCESSABLE_ENTITY,
        InvokeError::Service { .. } => StatusCode::BAD_GATEWAY,
        InvokeError::Capability(SendError::Denied(_)) => StatusCode::FORBIDDEN,
        InvokeError::Capability(_) => StatusCode::BAD_GATEWAY,
        InvokeError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
        InvokeError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A query string as `T`, or an error answer naming what is wrong.
pub(super) fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query
        .map(|Query(query)| query)
        .map_err(|rejection| ApiError::new(StatusCode::BAD_REQUEST, "invalid-query", rejection.body_text()))
}

/// A JSON request body, or the error answer for a missing, oversized or
/// malformed one.
pub(super) fn json_body(body: Result<Bytes, BytesRejection>) -> Result<Value, ApiError> {
    let bytes = body.map_err(body_rejection)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid-json", format!("the body is not valid JSON: {e}")))
}

/// The body as JSON text, checked to be JSON without building a tree.
fn json_text_body(body: Result<Bytes, BytesRejection>) -> Result<String, ApiError> {
    let bytes = body.map_err(body_rejection)?;
    let invalid = |reason: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid-json", reason);
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| invalid(format!("the body is not valid JSON: {e}")))?;
    serde_json::from_str::<serde::de::IgnoredAny>(&text)
        .map_err(|e| invalid(format!("the body is not valid JSON: {e}")))?;
    Ok(text)
}

/// The answer to a body that could not be read: too large (413), too slow
/// (408, and the connection closes: the rest of the body is not read), or
/// broken (400).
pub(super) fn body_rejection(rejection: BytesRejection) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&rejection);
    while let Some(error) = source {
        if let Some(timeout) = error.downcast_ref::<crate::server::listener::BodyTimeout>() {
            let mut answer = ApiError::new(StatusCode::REQUEST_TIMEOUT, "body-timeout", timeout.to_string());
            answer.close_connection = true;
            return answer;
        }
        source = error.source();
    }
    let status = rejection.status();
    let kind = if status == StatusCode::PAYLOAD_TOO_LARGE { "body-too-large" } else { "invalid-body" };
    ApiError::new(status, kind, rejection.body_text())
}

fn summary(connector: &Connector) -> Value {
    let manifest = connector.manifest();
    json!({
        "name": manifest.name,
        "title": manifest.title,
        "version": manifest.version,
        "digest": connector.digest(),
        "source": connector.source(),
        "operations": manifest.operations.len(),
    })
}

pub(super) async fn list_connectors(State(state): State<AppState>) -> Json<Value> {
    let connectors: Vec<Value> = state.runtime.list().iter().map(summary).collect();
    let errors: Vec<Value> =
        state.runtime.load_errors().into_iter().map(|(file, error)| json!({"file": file, "error": error})).collect();
    Json(json!({ "connectors": connectors, "errors": errors }))
}

pub(super) async fn get_connector(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let connector = state.runtime.get(&name).ok_or_else(|| ApiError::unknown_connector(&name))?;
    let mut manifest = serde_json::to_value(connector.manifest()).map_err(|e| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "host", format!("could not serialize the manifest: {e}"))
    })?;
    manifest["digest"] = json!(connector.digest());
    manifest["source"] = json!(connector.source());
    Ok(Json(manifest))
}

#[derive(serde::Deserialize)]
pub(super) struct InvokeQuery {
    /// The named authentication to sign with.
    authentication: Option<String>,
}

pub(super) async fn invoke(
    State(state): State<AppState>,
    Path((name, operation)): Path<(String, String)>,
    params: Result<Query<InvokeQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let query = query(params)?;
    let input = json_text_body(body)?;
    let connector = state.runtime.get(&name).ok_or_else(|| ApiError::unknown_connector(&name))?;
    let context = CallContext { authentication: query.authentication, ..CallContext::default() };
    // The output goes out as the connector wrote it: checked to be JSON,
    // never parsed into a tree and printed again.
    let output = state.runtime.host().invoke_raw(&connector, &operation, input, &context).await?;
    let output: Box<str> = output.into();
    Ok(([(header::CONTENT_TYPE, "application/json")], output.into_string()))
}

pub(super) async fn ready(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if state.is_ready() { (StatusCode::OK, "ready\n") } else { (StatusCode::SERVICE_UNAVAILABLE, "loading\n") }
}

pub(super) async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let host = state.runtime.host();
    let text = match &state.queue {
        Some(queue) => host.metrics_text_with(queue.registry()),
        None => host.metrics_text(),
    };
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text)
}
