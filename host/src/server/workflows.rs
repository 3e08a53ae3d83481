//! Stored workflows over HTTP: `PUT /v1/workflows/{name}` saves a new
//! version, `GET` lists them or reads one (`?version=N`), `DELETE` removes
//! every version and its hooks; `POST /v1/workflows/{name}/runs` runs the
//! latest (or `?version=N`) with the body as its inputs. Webhooks:
//! `POST /v1/workflows/{name}/hooks` makes one and shows its secret once;
//! `POST /v1/hooks/{id}` (no API token) starts a run, its body the inputs.
//! Schedules: `PUT /v1/workflows/{name}/schedule` (`{"cron", "timezone",
//! "inputs", "catch_up"}`), `GET` and `DELETE` it; [`run_schedules`] starts
//! what is due, each time once.
//!
//! Guards against: anyone starting a run through a hook without its
//! secret. The caller proves it with `Authorization: Bearer <secret>`, or
//! with `X-Signature-256: sha256=<hex>`, an HMAC-SHA256 of the body keyed
//! with the secret. Both are compared in constant time. An unknown hook
//! and a wrong secret get the same 401. Wrong tries count against the
//! caller's address (apart from its API token tries, so neither can clear
//! or fill the other's count), and it waits once past the free ones. A hook answers at once with the run's id and never holds its
//! caller while the run goes on.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::server::AppState;
use crate::server::api::{ApiError, json_body, query};
use crate::server::auth::{ClientAddress, Token, too_many_guesses};
use crate::server::runs::{start_run, store_error};
use crate::workflow::{Schedule, StoredWorkflow, Workflow};

#[derive(Deserialize)]
pub(super) struct VersionQuery {
    version: Option<u64>,
}

#[derive(Deserialize)]
pub(super) struct RunQuery {
    version: Option<u64>,
    wait: Option<bool>,
}

/// A stored workflow as listings show it.
fn summary(stored: &StoredWorkflow) -> Value {
    json!({
        "name": stored.name,
        "version": stored.version,
        "saved_at": stored.saved_at,
        "title": stored.workflow.get("name").cloned().unwrap_or(Value::Null),
        "steps": stored.workflow.get("steps").and_then(Value::as_array).map_or(0, Vec::len),
    })
}

fn unknown_workflow(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "unknown-workflow",
        format!("no stored workflow `{}`", crate::escape::truncate_chars(name, 80)),
    )
}

/// A name or request the library refuses, as a 400 naming why.
fn invalid(error: anyhow::Error) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid-workflow", format!("{error:#}"))
}

pub(super) async fn save(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = json_body(body)?;
    let workflow = Workflow::deserialize(&body).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid-workflow", format!("not a valid workflow: {e}"))
    })?;
    workflow.check().map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid-workflow", format!("not a valid workflow: {e:#}"))
    })?;
    let stored = state.library.save(&name, &body).await.map_err(invalid)?;
    Ok((StatusCode::CREATED, Json(summary(&stored))).into_response())
}

pub(super) async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let stored = state.library.list().await.map_err(store_error)?;
    Ok(Json(json!({"workflows": stored.iter().map(summary).collect::<Vec<_>>()})))
}

pub(super) async fn get(
    State(state): State<AppState>,
    Path(name): Path<String>,
    params: Result<Query<VersionQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let version = query(params)?.version;
    let stored = state.library.get(&name, version).await.map_err(invalid)?.ok_or_else(|| unknown_workflow(&name))?;
    let versions = state.library.versions(&name).await.map_err(store_error)?;
    let hooks = state.library.hooks(&name).await.map_err(store_error)?;
    let mut answer = summary(&stored);
    answer["workflow"] = stored.workflow;
    answer["versions"] = json!(versions);
    answer["hooks"] = json!(hooks);
    Ok(Json(answer))
}

pub(super) async fn delete(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, ApiError> {
    match state.library.delete(&name).await.map_err(invalid)? {
        true => Ok(StatusCode::NO_CONTENT.into_response()),
        false => Err(unknown_workflow(&name)),
    }
}

/// The body of a run of a stored workflow: its inputs, or nothing.
fn inputs_of(body: Result<Bytes, BytesRejection>) -> Result<Option<Value>, ApiError> {
    let bytes = body.as_ref().map_or(&[][..], |bytes| &bytes[..]);
    if bytes.iter().all(u8::is_ascii_whitespace) && body.is_ok() {
        return Ok(None);
    }
    json_body(body).map(Some)
}

pub(super) async fn run(
    State(state): State<AppState>,
    Path(name): Path<String>,
    params: Result<Query<RunQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let query = query(params)?;
    let given = inputs_of(body)?;
    let stored =
        state.library.get(&name, query.version).await.map_err(invalid)?.ok_or_else(|| unknown_workflow(&name))?;
    start_run(state, stored.workflow, given, query.wait != Some(false), Some(stored.version))
        .await
        .map(IntoResponse::into_response)
}

pub(super) async fn add_hook(State(state): State<AppState>, Path(name): Path<String>) -> Result<Response, ApiError> {
    if state.library.versions(&name).await.map_err(invalid)?.is_empty() {
        return Err(unknown_workflow(&name));
    }
    let hook = state.library.add_hook(&name).await.map_err(invalid)?;
    let answer = json!({
        "id": hook.id,
        "path": format!("/v1/hooks/{}", hook.id),
        "secret": hook.secret,
        "note": "the secret is shown this once: send it as `Authorization: Bearer <secret>`, or sign the body \
                 with it as `X-Signature-256: sha256=<hex HMAC-SHA256>`",
    });
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

pub(super) async fn list_hooks(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    if state.library.versions(&name).await.map_err(invalid)?.is_empty() {
        return Err(unknown_workflow(&name));
    }
    let hooks = state.library.hooks(&name).await.map_err(store_error)?;
    Ok(Json(json!({"hooks": hooks})))
}

pub(super) async fn delete_hook(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    match state.library.delete_hook(&name, &id).await.map_err(invalid)? {
        true => Ok(StatusCode::NO_CONTENT.into_response()),
        false => Err(ApiError::new(StatusCode::NOT_FOUND, "unknown-hook", "the workflow has no such hook")),
    }
}

pub(super) async fn set_schedule(
    State(state): State<AppState>,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let schedule: Schedule = serde_json::from_value(json_body(body)?).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid-schedule", format!("not a valid schedule: {e}"))
    })?;
    let stored = state.library.get(&name, None).await.map_err(invalid)?.ok_or_else(|| unknown_workflow(&name))?;
    let given = schedule.inputs.clone();
    let started = schedule
        .start(&name, jiff::Timestamp::now())
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid-schedule", format!("{e:#}")))?;
    // Inputs are checked now against the latest version, and again at each
    // run against the version it runs.
    if let Ok(workflow) = Workflow::deserialize(&stored.workflow) {
        workflow
            .accept_inputs(given.as_ref())
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid-inputs", e))?;
    }
    state.library.set_schedule(&started).await.map_err(store_error)?;
    Ok(Json(started).into_response())
}

pub(super) async fn get_schedule(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    match state.library.schedule(&name).await.map_err(invalid)? {
        Some(schedule) => Ok(Json(schedule).into_response()),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "unknown-schedule", "the workflow has no schedule")),
    }
}

pub(super) async fn delete_schedule(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    match state.library.delete_schedule(&name).await.map_err(invalid)? {
        true => Ok(StatusCode::NO_CONTENT.into_response()),
        false => Err(ApiError::new(StatusCode::NOT_FOUND, "unknown-schedule", "the workflow has no schedule")),
    }
}

/// How often schedules are looked at.
const SCHEDULE_TICK: std::time::Duration = std::time::Duration::from_millis(500);

/// Starts the runs schedules have due, until the task is dropped: each due
/// time is claimed first (a compare-and-set on the schedule's state), so a
/// restart, or another node sharing the library, never starts it again.
/// Missed times are logged; a run that cannot start is logged with why.
pub(super) async fn run_schedules(state: AppState) {
    loop {
        tokio::time::sleep(SCHEDULE_TICK).await;
        let schedules = match state.library.schedules().await {
            Ok(schedules) => schedules,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "could not read the schedules");
                continue;
            }
        };
        let now = jiff::Timestamp::now();
        for current in schedules {
            let due = match current.due(now) {
                Ok(Some(due)) => due,
                Ok(None) => continue,
                Err(e) => {
                    tracing::warn!(workflow = %current.workflow, error = %format!("{e:#}"), "a schedule cannot fire");
                    continue;
                }
            };
            match state.library.claim_schedule(&current, &due.next).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(workflow = %current.workflow, error = %format!("{e:#}"), "could not claim a schedule");
                    continue;
                }
            }
            let missed = due.next.missed_total - current.missed_total;
            if missed > 0 {
                tracing::warn!(workflow = %current.workflow, missed, catch_up = current.schedule.catch_up,
                    "scheduled times passed while no host ran; they are listed in the schedule's `missed`");
            }
            for at in &due.fire {
                fire(&state, &current, at).await;
            }
        }
    }
}

/// Starts the run of `schedule` due `at`.
async fn fire(state: &AppState, schedule: &crate::workflow::ScheduleState, at: &str) {
    let stored = match state.library.get(&schedule.workflow, None).await {
        Ok(Some(stored)) => stored,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(workflow = %schedule.workflow, error = %format!("{e:#}"), "a scheduled run cannot start");
            return;
        }
    };
    let inputs = schedule.schedule.inputs.clone();
    match start_run(state.clone(), stored.workflow, inputs, false, Some(stored.version)).await {
        Ok(_) => {
            tracing::info!(workflow = %schedule.workflow, version = stored.version, due = at, "a schedule starts a run")
        }
        Err(e) => {
            tracing::warn!(workflow = %schedule.workflow, due = at, body = %e.body(), "a scheduled run could not start")
        }
    }
}

/// `POST /v1/hooks/{id}`: checks the caller's secret, then starts a run of
/// the hook's workflow (its latest version) with the body as inputs.
pub(super) async fn trigger(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddress>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let client = client.map(|Extension(ClientAddress(ip))| ip);
    if let Some(wait) = client.and_then(|ip| state.hook_guesses.waiting(ip)) {
        return Ok(too_many_guesses(wait));
    }
    let hook = state.library.hook(&id).await.map_err(store_error)?;
    let bytes = body.as_ref().map_or(&[][..], |bytes| &bytes[..]);
    let proven = hook.as_ref().is_some_and(|hook| proves_secret(&headers, bytes, &hook.secret));
    let Some(hook) = hook.filter(|_| proven) else {
        if let Some(ip) = client {
            state.hook_guesses.failed(ip);
        }
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "unknown hook, or a wrong secret"));
    };
    if let Some(ip) = client {
        state.hook_guesses.succeeded(ip);
    }
    let given = inputs_of(body)?;
    let stored = state.library.get(&hook.workflow, None).await.map_err(store_error)?;
    let stored = stored.ok_or_else(|| unknown_workflow(&hook.workflow))?;
    tracing::info!(hook = %hook.id, workflow = %hook.workflow, version = stored.version, "a webhook starts a run");
    start_run(state, stored.workflow, given, false, Some(stored.version)).await.map(IntoResponse::into_response)
}

/// Whether the request proves it knows `secret`: as a bearer token, or as
/// the key of the body's HMAC-SHA256 in `X-Signature-256`. Constant time
/// in what was offered.
fn proves_secret(headers: &HeaderMap, body: &[u8], secret: &str) -> bool {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(signature) = header("x-signature-256") {
        let Some(hex) = signature.trim().strip_prefix("sha256=") else { return false };
        let Some(offered) = from_hex(hex) else { return false };
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
        return ring::hmac::verify(&key, body, &offered).is_ok();
    }
    let token = header(header::AUTHORIZATION.as_str())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map_or("", |(_, token)| token.trim());
    !token.is_empty() && Token::new(secret).matches(token)
}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 128 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(body: &[u8], key: &str) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
        let tag = ring::hmac::sign(&key, body);
        format!("sha256={}", tag.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    #[test]
    fn a_hook_is_proven_by_its_secret_or_an_hmac_of_the_body_alone() {
        let headers = |pairs: &[(&'static str, String)]| {
            let mut map = HeaderMap::new();
            for (name, value) in pairs {
                map.insert(*name, value.parse().unwrap());
            }
            map
        };
        let body = br#"{"username": "ann"}"#;
        assert!(proves_secret(&headers(&[("authorization", "Bearer s3cret".into())]), body, "s3cret"));
        assert!(!proves_secret(&headers(&[("authorization", "Bearer s3cre".into())]), body, "s3cret"));
        assert!(!proves_secret(&headers(&[]), body, "s3cret"));
        assert!(proves_secret(&headers(&[("x-signature-256", signed(body, "s3cret"))]), body, "s3cret"));
        assert!(!proves_secret(&headers(&[("x-signature-256", signed(b"other", "s3cret"))]), body, "s3cret"));
        assert!(!proves_secret(&headers(&[("x-signature-256", "sha256=zz".into())]), body, "s3cret"));
        // A signature header that fails is not rescued by a bearer token.
        let both = headers(&[("x-signature-256", "sha256=00".into()), ("authorization", "Bearer s3cret".into())]);
        assert!(!proves_secret(&both, body, "s3cret"));
    }
}
