//! Runs over HTTP: `POST /v1/runs` takes a workflow whose steps name loaded
//! connectors (directly, or through the workflow's `connectors` aliases),
//! records it step by step in the run store, and answers with the record
//! when it ends, or at once with its id (`?wait=false`). `GET` reads runs
//! back, newest first.

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

use crate::runtime::Connector;
use crate::server::AppState;
use crate::server::api::{ApiError, json_body, query};
use crate::workflow::{self, RunRecord, RunStatus, RunStore, StepObserver, StepReport, Workflow, timestamp};

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
    let body = json_body(body)?;
    let workflow: Workflow = serde_json::from_value(body).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid-workflow", format!("not a valid workflow: {e}"))
    })?;
    workflow.check().map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid-workflow", format!("not a valid workflow: {e:#}"))
    })?;
    let connectors = pin_connectors(&state, &workflow)?;
    for step in &workflow.steps {
        state.runtime.host().check_authentication(&connectors[&step.connector], workflow.authentication_of(step))?;
    }
    let Ok(permit) = state.runs.clone().try_acquire_owned() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "busy",
            format!("{} runs are already in progress", state.max_runs),
        ));
    };
    let record = RunRecord {
        id: uuid::Uuid::new_v4().to_string(),
        workflow: workflow.name.clone(),
        status: RunStatus::Running,
        started_at: timestamp(SystemTime::now()),
        finished_at: None,
        steps: Vec::new(),
    };
    state.store.create(&record).await.map_err(store_error)?;
    let id = record.id.clone();
    let run = async move {
        let record = execute(&state, &workflow, &connectors, record).await;
        drop(permit);
        record
    };
    if query.wait == Some(false) {
        tokio::spawn(run);
        return Ok((StatusCode::ACCEPTED, Json(json!({ "id": id }))).into_response());
    }
    // Run on a task of its own, so the run completes and is recorded even
    // if the caller goes away.
    let record = tokio::spawn(run)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "host", format!("the run's task failed: {e}")))?;
    Ok(Json(record).into_response())
}

/// The loaded connector each step's `connector` means, taken now: the run
/// uses these versions to its end, whatever is loaded meanwhile.
fn pin_connectors(state: &AppState, workflow: &Workflow) -> Result<BTreeMap<String, Connector>, ApiError> {
    let mut pinned = BTreeMap::new();
    for step in &workflow.steps {
        let name = workflow.connectors.get(&step.connector).unwrap_or(&step.connector);
        let connector = state.runtime.get(name).ok_or_else(|| ApiError::unknown_connector(name))?;
        pinned.insert(step.connector.clone(), connector);
    }
    Ok(pinned)
}

/// Most bytes of JSON a record keeps of a step's input, and of its output
/// or error; larger ones are noted, not kept.
const MAX_RECORDED_BYTES: usize = 1024 * 1024;

/// Records each step as it ends, before the next one starts.
struct Recorder<'a> {
    store: &'a RunStore,
    record: &'a mut RunRecord,
}

impl StepObserver for Recorder<'_> {
    fn step_ended(&mut self, index: usize, report: &StepReport) -> impl Future<Output = ()> + Send {
        let report = report.bounded(MAX_RECORDED_BYTES);
        async move {
            if let Err(e) = self.store.add_step(&self.record.id, index, &report).await {
                tracing::error!(run = %self.record.id, error = %format!("{e:#}"), "could not record a step");
            }
            self.record.steps.push(report);
        }
    }
}

/// Runs `workflow`, saving the record after each step and at the end.
async fn execute(
    state: &AppState,
    workflow: &Workflow,
    connectors: &BTreeMap<String, Connector>,
    mut record: RunRecord,
) -> RunRecord {
    let host = state.runtime.host();
    let recorder = Recorder { store: &state.store, record: &mut record };
    let steps = workflow::run(host, workflow, connectors, recorder).await;
    record.status = if steps.iter().any(|s| s.outcome.is_error()) { RunStatus::Failed } else { RunStatus::Succeeded };
    let finished_at = timestamp(SystemTime::now());
    record.finished_at = Some(finished_at.clone());
    if let Err(e) = state.store.finish(&record.id, record.status, &finished_at).await {
        tracing::error!(run = %record.id, error = %format!("{e:#}"), "could not record the end of a run");
    }
    tracing::info!(run = %record.id, status = record.status.as_str(), steps = record.steps.len(), "run ended");
    record
}

fn store_error(error: anyhow::Error) -> ApiError {
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
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = query.limit.unwrap_or(50).min(MAX_LIST);
    let runs = state.store.list(limit).await.map_err(store_error)?;
    Ok(Json(json!({ "runs": runs })))
}
