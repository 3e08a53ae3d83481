//! Runs over HTTP: `POST /v1/runs` takes a workflow whose steps name loaded
//! connectors (directly, or through the workflow's `connectors` aliases),
//! or `{"workflow": ..., "inputs": ...}` for a workflow that declares
//! inputs; records it step by step in the run store, and answers with the
//! record when it ends, or at once with its id (`?wait=false`). `GET`
//! reads runs back, newest first.

use std::collections::BTreeMap;
use std::time::SystemTime;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::queue::{Queue, SubmitError};
use crate::runtime::{CallContext, Connector};
use crate::server::AppState;
use crate::server::api::{ApiError, json_body, query};
use crate::workflow::{self, Recorder, RunRecord, RunStatus, StepReport, Workflow, timestamp};

#[derive(Deserialize)]
pub(super) struct StartQuery {
    /// Wait for the run to end (the default) or answer with its id at once.
    wait: Option<bool>,
}

pub(super) async fn start(
    State(state): State<AppState>,
    params: Result<Query<StartQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let query = query(params)?;
    let (body, given) = split_run_body(json_body(body)?)?;
    start_run(state, body, given, query.wait != Some(false), None).await.map(Started::into_response)
}

/// How a run request was answered: the run ended (its record), or it
/// goes on (its id).
pub(super) enum Started {
    Ended(Box<RunRecord>),
    Accepted(String),
}

impl IntoResponse for Started {
    fn into_response(self) -> Response {
        match self {
            Started::Ended(record) => Json(record).into_response(),
            Started::Accepted(id) => (StatusCode::ACCEPTED, Json(json!({ "id": id }))).into_response(),
        }
    }
}

/// Starts a run of `body` (a workflow's JSON; `version`, the stored
/// workflow's version it is) with the `given` inputs, and answers with its
/// record once it ends (`wait`) or at once with its id.
pub(super) async fn start_run(
    state: AppState,
    body: Value,
    given: Option<Value>,
    wait: bool,
    version: Option<u64>,
) -> Result<Started, ApiError> {
    let workflow = Workflow::deserialize(&body).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid-workflow", format!("not a valid workflow: {e}"))
    })?;
    workflow.check().map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid-workflow", format!("not a valid workflow: {e:#}"))
    })?;
    let inputs = workflow
        .accept_inputs(given.as_ref())
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid-inputs", e))?;
    let mut record = new_record(&workflow, &inputs, RunStatus::Running);
    record.workflow_version = version;
    if let Some(queue) = &state.queue {
        record.status = RunStatus::Queued;
        let answer = if wait { Answer::WhenEnded } else { Answer::AtOnce };
        return submit(queue, record, &workflow, &body, &inputs, answer).await;
    }
    let connectors =
        workflow::pin_connectors(&state.runtime, &workflow).map_err(|name| ApiError::unknown_connector(&name))?;
    workflow::check_authentications(state.runtime.host(), &workflow, &connectors).map_err(|(_, e)| e)?;
    let Ok(permit) = state.runs.clone().try_acquire_owned() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!("{} runs are already in progress", state.max_runs),
        ));
    };
    state.store.create(&record).await.map_err(store_error)?;
    let id = record.id.clone();
    let run = async move {
        let record = execute(&state, &workflow, &connectors, &inputs, record).await;
        drop(permit);
        record
    };
    if !wait {
        tokio::spawn(run);
        return Ok(Started::Accepted(id));
    }
    // Run on a task of its own, so the run completes and is recorded even
    // if the caller goes away.
    let record = tokio::spawn(run)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "host", format!("the run's task failed: {e}")))?;
    Ok(Started::Ended(Box::new(record)))
}

/// A run request's workflow and the inputs given (`None`: none): the body
/// is the workflow, or `{"workflow": {...}, "inputs": {...}}`.
fn split_run_body(body: Value) -> Result<(Value, Option<Value>), ApiError> {
    let Value::Object(mut fields) = body else { return Ok((body, None)) };
    if fields.contains_key("steps") || !fields.get("workflow").is_some_and(Value::is_object) {
        return Ok((Value::Object(fields), None));
    }
    if let Some(other) = fields.keys().find(|key| *key != "workflow" && *key != "inputs") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-workflow",
            format!(
                "a run request is a workflow, or {{\"workflow\": ..., \"inputs\": ...}}; `{}` is neither",
                crate::escape::escape_untrusted(&other.chars().take(64).collect::<String>())
            ),
        ));
    }
    let inputs = fields.remove("inputs");
    Ok((fields.remove("workflow").unwrap_or_default(), inputs))
}

/// A record for a new run of `workflow` with `inputs` (secrets its schema
/// marks hidden). Ids begin with the time (UUID v7), so they sort oldest
/// first.
fn new_record(workflow: &Workflow, inputs: &Value, status: RunStatus) -> RunRecord {
    RunRecord {
        id: uuid::Uuid::now_v7().to_string(),
        workflow: workflow.name.clone(),
        status,
        started_at: timestamp(SystemTime::now()),
        finished_at: None,
        // Bounded as a step's values are, so the record always fits.
        inputs: workflow.inputs.as_ref().map(|schema| {
            workflow::bounded_value(
                &workflow::mask_write_only(schema, inputs),
                workflow::SharedRunStore::MAX_RECORDED_BYTES,
            )
        }),
        workflow_version: None,
        steps: Vec::new(),
        error: None,
        deliveries: None,
        tries: Vec::new(),
    }
}

/// Longest a caller waits for a queued run; then it gets the run's id, as
/// with `?wait=false`.
const MAX_QUEUED_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// When a request that starts a run is answered.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// At once, with the run's id (`?wait=false`).
    AtOnce,
    /// With its record, once it ends.
    WhenEnded,
}

/// Puts a run of `workflow` (`body` as submitted) on the queue for a
/// worker and answers as `answer` says. The workers decide whether they
/// have its connectors.
async fn submit(
    queue: &Queue,
    record: RunRecord,
    workflow: &Workflow,
    body: &Value,
    inputs: &Value,
    answer: Answer,
) -> Result<Started, ApiError> {
    let raw = serde_json::value::to_raw_value(body).map_err(|e| store_error(e.into()))?;
    queue.submit(&record, &raw, workflow.inputs.is_some().then_some(inputs)).await.map_err(|error| match error {
        SubmitError::Full(_) => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", error.to_string()),
        SubmitError::TooLarge(_) => ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too-large", error.to_string()),
        SubmitError::Unavailable(_) => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "queue-unavailable", error.to_string())
        }
    })?;
    if answer == Answer::AtOnce {
        return Ok(Started::Accepted(record.id));
    }
    // Not forever: with no worker running, the caller would hang.
    let Ok(waited) = tokio::time::timeout(MAX_QUEUED_WAIT, queue.records().wait(&record.id)).await else {
        return Ok(Started::Accepted(record.id));
    };
    match waited.map_err(store_error)? {
        Some(record) => Ok(Started::Ended(Box::new(record))),
        None => Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "host", "the run's record is gone")),
    }
}

/// Runs `workflow` with `inputs`, saving the record after each step and
/// at the end.
async fn execute(
    state: &AppState,
    workflow: &Workflow,
    connectors: &BTreeMap<String, Connector>,
    inputs: &Value,
    mut record: RunRecord,
) -> RunRecord {
    let host = state.runtime.host();
    let context = CallContext { run_id: Some(record.id.clone()), attempt: 1, ..CallContext::default() };
    let mut recorder = Recorder::new(&state.store, &mut record, None);
    let steps = workflow::resume(host, workflow, connectors, inputs, Vec::new(), &context, &mut recorder).await;
    let write_error = recorder.write_error();
    record.status = if steps.iter().any(StepReport::stopped_run) { RunStatus::Failed } else { RunStatus::Succeeded };
    if let Some(e) = write_error {
        // The run stopped at the step it could not record.
        record.status = RunStatus::Failed;
        record.error = Some(format!("a step could not be recorded: {e:#}"));
    }
    record.finished_at = Some(timestamp(SystemTime::now()));
    if let Err(e) = state.store.finish(&record).await {
        tracing::error!(run = %record.id, error = %format!("{e:#}"), "could not record the end of a run");
    }
    tracing::info!(run = %record.id, status = record.status.as_str(), steps = record.steps.len(), "run ended");
    record
}

pub(super) fn store_error(error: anyhow::Error) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "host", format!("{error:#}"))
}

pub(super) async fn get(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<RunRecord>, ApiError> {
    match state.store.get(&id).await.map_err(store_error)? {
        Some(record) => Ok(Json(record)),
        None => Err(ApiError::new(StatusCode::NOT_FOUND, "unknown-run", "no run with this id is kept")),
    }
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    limit: Option<usize>,
}

/// Most runs one listing returns.
const MAX_LIST: usize = 1000;

pub(super) async fn list(
    State(state): State<AppState>,
    params: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let query = query(params)?;
    let limit = query.limit.unwrap_or(50).min(MAX_LIST);
    let runs = state.store.list(limit).await.map_err(store_error)?;
    Ok(Json(json!({ "runs": runs })))
}
