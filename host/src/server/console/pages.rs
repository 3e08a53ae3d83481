//! The console's pages: connectors, one connector's operations, an
//! operation's form and what running it gave, and the runs with their
//! steps. Every text from a connector or a run is escaped with
//! [`esc`]; JSON is shown through [`json_block`].

use std::time::{Duration, Instant};

use axum::Extension;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::error::InvokeError;
use crate::runtime::{CallContext, Connector};
use crate::server::AppState;
use crate::server::api::status_of;
use crate::server::console::html::{Refresh, csrf_field, esc, json_block, page};
use crate::server::console::session::Session;
use crate::server::console::{checked_form, form};
use crate::workflow::{RunStatus, StepOutcome, mask_write_only};

/// Most runs the runs page lists.
const RUNS_LISTED: usize = 200;

fn not_found(session: &Session, what: &str) -> Response {
    let body = format!("<p class=\"error\">{}</p>", esc(what));
    (StatusCode::NOT_FOUND, page("Not found", &body, Some(session), Refresh::Never)).into_response()
}

fn unknown_connector(session: &Session, name: &str) -> Response {
    not_found(session, &format!("No connector called `{}` is loaded.", crate::escape::truncate_chars(name, 80)))
}

fn server_error(session: &Session, error: &anyhow::Error) -> Response {
    let body = format!("<p class=\"error\">{}</p>", esc(&format!("{error:#}")));
    (StatusCode::INTERNAL_SERVER_ERROR, page("Error", &body, Some(session), Refresh::Never)).into_response()
}

/// `sha256:0123456789ab…`, with the whole digest on hover.
fn short_digest(digest: &str) -> String {
    let short: String = digest.chars().take("sha256:".len() + 12).collect();
    format!("<code title=\"{}\">{}…</code>", esc(digest), esc(&short))
}

pub(super) async fn connectors(State(state): State<AppState>, Extension(session): Extension<Session>) -> Response {
    let mut connectors = state.runtime.list();
    connectors.sort_by(|a, b| a.name().cmp(b.name()));
    let mut body = String::new();
    if connectors.is_empty() {
        body.push_str(
            "<p>No connectors are loaded: put components (<code>.wasm</code>) in the connector directory.</p>\n",
        );
    } else {
        body.push_str(
            "<table id=\"connectors\"><thead><tr><th>Name</th><th>Title</th><th>Version</th><th>Digest</th>\
             <th>Operations</th><th>Source</th></tr></thead><tbody>\n",
        );
        for connector in &connectors {
            let manifest = connector.manifest();
            body.push_str(&format!(
                "<tr><td><a href=\"/connectors/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td><code>{}</code></td></tr>\n",
                esc(&manifest.name),
                esc(&manifest.name),
                esc(&manifest.title),
                esc(&manifest.version),
                short_digest(connector.digest()),
                manifest.operations.len(),
                esc(&connector.source().unwrap_or_default()),
            ));
        }
        body.push_str("</tbody></table>\n");
    }
    let mut errors = state.runtime.load_errors();
    errors.sort();
    if !errors.is_empty() {
        body.push_str(
            "<h2>Load errors</h2>\n<table id=\"load-errors\"><thead><tr><th>Source</th><th>Error</th></tr></thead><tbody>\n",
        );
        for (file, error) in &errors {
            body.push_str(&format!(
                "<tr><td><code>{}</code></td><td class=\"error\">{}</td></tr>\n",
                esc(file),
                esc(error)
            ));
        }
        body.push_str("</tbody></table>\n");
    }
    page("Connectors", &body, Some(&session), Refresh::Never)
}

pub(super) async fn connector(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(name): Path<String>,
) -> Response {
    let Some(connector) = state.runtime.get(&name) else {
        return unknown_connector(&session, &name);
    };
    let manifest = connector.manifest();
    let mut body = format!(
        "<p>{}</p>\n<dl class=\"facts\"><dt>Name</dt><dd>{}</dd><dt>Version</dt><dd>{}</dd><dt>Digest</dt><dd><code>{}</code></dd>\
         <dt>AWS services</dt><dd>{}</dd></dl>\n\
         <input type=\"search\" id=\"filter\" placeholder=\"Filter {} operations\" autocomplete=\"off\">\n\
         <table id=\"operations\"><thead><tr><th>Operation</th><th>Title</th><th>Description</th></tr></thead><tbody>\n",
        esc(&manifest.title),
        esc(&manifest.name),
        esc(&manifest.version),
        esc(connector.digest()),
        esc(&manifest.services.join(", ")),
        manifest.operations.len()
    );
    for operation in &manifest.operations {
        let search = format!("{} {} {}", operation.name, operation.title, operation.description).to_lowercase();
        body.push_str(&format!(
            "<tr data-search=\"{}\"><td><a href=\"/connectors/{}/operations/{}\">{}</a></td><td>{}</td><td>{}</td></tr>\n",
            esc(&search),
            esc(&manifest.name),
            esc(&operation.name),
            esc(&operation.name),
            esc(&operation.title),
            esc(&operation.description)
        ));
    }
    body.push_str("</tbody></table>\n");
    page(&manifest.title, &body, Some(&session), Refresh::Never)
}

/// How the input of an operation's form was given.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InputMode {
    /// In the fields generated from the schema.
    Form,
    /// As JSON in the raw box.
    Raw,
}

/// What submitting an operation's form gave.
enum Outcome {
    /// The form could not be made into an input.
    Unreadable(String),
    /// The operation ran with `input` (as shown: `writeOnly` masked).
    Ran { input: Value, result: Result<Value, InvokeError>, took: Duration },
}

pub(super) async fn operation(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path((name, operation)): Path<(String, String)>,
) -> Response {
    let Some(connector) = state.runtime.get(&name) else {
        return unknown_connector(&session, &name);
    };
    operation_page(&state, &session, &connector, &operation, None, "{}", InputMode::Form)
}

pub(super) async fn run_operation(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path((name, operation)): Path<(String, String)>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let pairs = match checked_form(&session, form) {
        Ok(pairs) => pairs,
        Err(page) => return *page,
    };
    let Some(connector) = state.runtime.get(&name) else {
        return unknown_connector(&session, &name);
    };
    let Some(info) = connector.manifest().operation(&operation) else {
        return operation_page(&state, &session, &connector, &operation, None, "{}", InputMode::Form);
    };
    let field = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    let mode = if field("__mode") == Some("raw") { InputMode::Raw } else { InputMode::Form };
    let raw_text = field("__raw").unwrap_or("{}");
    let input = if mode == InputMode::Raw {
        serde_json::from_str::<Value>(raw_text).map_err(|e| format!("The raw input is not valid JSON: {e}"))
    } else {
        form::input(&info.input_schema, &pairs)
    };
    let outcome = match input {
        Err(problem) => Outcome::Unreadable(problem),
        Ok(input) => {
            let context = CallContext {
                authentication: field("__authentication").filter(|a| !a.is_empty()).map(str::to_owned),
                ..CallContext::default()
            };
            let started = Instant::now();
            let result = state.runtime.host().invoke_in(&connector, &operation, &input, &context).await;
            Outcome::Ran { input: mask_write_only(&info.input_schema, &input), result, took: started.elapsed() }
        }
    };
    // The raw box keeps what was typed in it; after a form it shows the
    // input the form made (secrets masked).
    let raw = match (&outcome, mode) {
        (Outcome::Ran { input, .. }, InputMode::Form) => serde_json::to_string_pretty(input).unwrap_or_default(),
        _ => raw_text.to_owned(),
    };
    operation_page(&state, &session, &connector, &operation, Some(outcome), &raw, mode)
}

/// The operation's form, and below its title what the last submission
/// gave. The status says how that went (as the JSON API would).
fn operation_page(
    state: &AppState,
    session: &Session,
    connector: &Connector,
    operation: &str,
    outcome: Option<Outcome>,
    raw: &str,
    mode: InputMode,
) -> Response {
    let manifest = connector.manifest();
    let Some(info) = manifest.operation(operation) else {
        return not_found(
            session,
            &format!("`{}` has no operation called `{}`.", manifest.name, crate::escape::truncate_chars(operation, 80)),
        );
    };
    let mut status = StatusCode::OK;
    let mut body = format!(
        "<p><a href=\"/connectors/{}\">{}</a> · <code>{}</code></p>\n<p class=\"description\">{}</p>\n",
        esc(&manifest.name),
        esc(&manifest.title),
        esc(&info.name),
        esc(&info.description)
    );
    match outcome {
        None => {}
        Some(Outcome::Unreadable(problem)) => {
            status = StatusCode::BAD_REQUEST;
            body.push_str(&format!(
                "<section id=\"result\"><h2>Not run</h2><p class=\"error\" id=\"error\">{}</p></section>\n",
                esc(&problem)
            ));
        }
        Some(Outcome::Ran { input, result, took }) => {
            let (label, id, shown) = match &result {
                Ok(output) => ("Output", "output", json_block(output)),
                Err(error) => {
                    status = status_of(error);
                    ("Error", "error", json_block(&error.to_json()))
                }
            };
            body.push_str(&format!(
                "<section id=\"result\"><h2>{label} <small>({} ms)</small></h2>\n<div id=\"{id}\">{shown}</div>\n\
                 <h3>Input</h3>\n<div id=\"input\">{}</div></section>\n",
                took.as_millis(),
                json_block(&input)
            ));
        }
    }
    let authentications: Vec<String> = state
        .runtime
        .host()
        .authentications()
        .iter()
        .map(|a| a.name.clone())
        .filter(|name| state.runtime.host().check_authentication(connector, Some(name)).is_ok())
        .collect();
    let authentication = if authentications.is_empty() {
        String::new()
    } else {
        let options: String = authentications
            .iter()
            .map(|name| format!("<option value=\"{}\">{}</option>", esc(name), esc(name)))
            .collect();
        format!(
            "<div class=\"field\"><label for=\"authentication\">Authentication</label>\
             <select id=\"authentication\" name=\"__authentication\"><option value=\"\">the host's identity</option>{options}</select></div>\n"
        )
    };
    body.push_str(&format!(
        "<form method=\"post\" action=\"/connectors/{}/operations/{}\" id=\"operation-form\">\n{}\n{authentication}\
         <div class=\"field\"><label><input type=\"checkbox\" id=\"raw-mode\" name=\"__mode\" value=\"raw\"{}> Raw JSON</label></div>\n\
         <div id=\"form-fields\">\n{}</div>\n\
         <div id=\"raw-fields\" class=\"hidden\"><label for=\"raw-input\">Input (JSON)</label>\n\
         <textarea id=\"raw-input\" name=\"__raw\" rows=\"12\" spellcheck=\"false\">{}</textarea></div>\n\
         <button type=\"submit\" id=\"run\">Run</button>\n</form>\n",
        esc(&manifest.name),
        esc(&info.name),
        csrf_field(session),
        if mode == InputMode::Raw { " checked" } else { "" },
        form::fields(&info.input_schema),
        esc(raw)
    ));
    (status, page(&info.title, &body, Some(session), Refresh::Never)).into_response()
}

/// How long a run took, or has been going.
fn duration_text(started_at: &str, finished_at: Option<&str>) -> String {
    let Ok(started) = humantime::parse_rfc3339(started_at) else {
        return String::new();
    };
    let ended = finished_at.and_then(|f| humantime::parse_rfc3339(f).ok()).unwrap_or_else(std::time::SystemTime::now);
    let took = ended.duration_since(started).unwrap_or_default();
    let text = if took < Duration::from_secs(1) {
        format!("{} ms", took.as_millis())
    } else {
        format!("{:.1} s", took.as_secs_f64())
    };
    if finished_at.is_some() { text } else { format!("{text} so far") }
}

fn status_cell(status: RunStatus) -> String {
    format!("<span class=\"status-{0}\">{0}</span>", status.as_str())
}

pub(super) async fn runs(State(state): State<AppState>, Extension(session): Extension<Session>) -> Response {
    let runs = match state.store.list(RUNS_LISTED).await {
        Ok(runs) => runs,
        Err(error) => return server_error(&session, &error),
    };
    if runs.is_empty() {
        let body = "<p>No runs yet: start one with <code>POST /v1/runs</code>.</p>";
        return page("Runs", body, Some(&session), Refresh::Never);
    }
    let mut body = String::from(
        "<table id=\"runs\"><thead><tr><th>Started</th><th>Workflow</th><th>Status</th><th>Duration</th><th>Steps</th>\
         </tr></thead><tbody>\n",
    );
    for run in &runs {
        body.push_str(&format!(
            "<tr><td><a href=\"/runs/{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            esc(&run.id),
            esc(&run.started_at),
            esc(&run.workflow),
            status_cell(run.status),
            duration_text(&run.started_at, run.finished_at.as_deref()),
            run.steps
        ));
    }
    body.push_str("</tbody></table>\n");
    let running = runs.iter().any(|run| !run.status.is_finished());
    page("Runs", &body, Some(&session), Refresh::while_running(running))
}

pub(super) async fn run(
    State(state): State<AppState>,
    Extension(session): Extension<Session>,
    Path(id): Path<String>,
) -> Response {
    let record = match state.store.get(&id).await {
        Ok(Some(record)) => record,
        Ok(None) => return not_found(&session, "No run with this id is kept."),
        Err(error) => return server_error(&session, &error),
    };
    let running = !record.status.is_finished();
    let mut body = format!(
        "<dl class=\"facts\"><dt>Run</dt><dd><code>{}</code></dd><dt>Status</dt><dd id=\"status\">{}</dd>\
         <dt>Started</dt><dd>{}</dd><dt>Finished</dt><dd>{}</dd><dt>Duration</dt><dd>{}</dd></dl>\n",
        esc(&record.id),
        status_cell(record.status),
        esc(&record.started_at),
        esc(record.finished_at.as_deref().unwrap_or("")),
        duration_text(&record.started_at, record.finished_at.as_deref())
    );
    if let Some(error) = &record.error {
        body.push_str(&format!("<p class=\"error\">{}</p>\n", esc(error)));
    }
    if running {
        body.push_str("<p>Running: this page updates itself.</p>\n");
    }
    if let Some(inputs) = &record.inputs {
        body.push_str(&format!("<h2>Inputs</h2>\n<div class=\"inputs\">{}</div>\n", json_block(inputs)));
    }
    if record.steps.is_empty() {
        body.push_str("<p>No step has ended yet.</p>\n");
    }
    let total = record.steps.len();
    for (index, step) in record.steps.iter().enumerate() {
        let (label, class, shown) = match &step.outcome {
            StepOutcome::Output(output) => ("Output", "output", json_block(output)),
            StepOutcome::Error(error) if step.continued => ("Error (the run went on)", "error", json_block(error)),
            StepOutcome::Error(error) => ("Error", "error", json_block(error)),
            StepOutcome::Skipped(skipped) => ("Skipped: its condition is false", "skipped", json_block(skipped)),
        };
        let retried: String = step
            .retried_errors
            .iter()
            .enumerate()
            .map(|(i, error)| {
                format!(
                    "<h3>Try {} failed, tried again</h3>\n<div class=\"error\">{}</div>\n",
                    i + 1,
                    json_block(error)
                )
            })
            .collect();
        let iterations: String = step
            .iterations
            .iter()
            .map(|iteration| {
                let (label, class, shown) = match &iteration.outcome {
                    StepOutcome::Output(output) => ("output", "output", json_block(output)),
                    StepOutcome::Error(error) if iteration.continued => {
                        ("error, the loop went on", "error", json_block(error))
                    }
                    StepOutcome::Error(error) => ("error", "error", json_block(error)),
                    StepOutcome::Skipped(skipped) => ("skipped", "skipped", json_block(skipped)),
                };
                format!(
                    "<details class=\"iteration\"><summary>Item {}: {label} ({} ms)</summary>\n\
                     <div class=\"input\">{}</div>\n<div class=\"{class}\">{shown}</div></details>\n",
                    iteration.index,
                    iteration.duration_ms,
                    json_block(&iteration.input),
                )
            })
            .collect();
        let iterations = if iterations.is_empty() { iterations } else { format!("<h3>Iterations</h3>\n{iterations}") };
        let attempts = match (step.attempts, step.may_have_taken_effect_twice) {
            (0 | 1, _) => String::new(),
            (n, false) => format!("<dt>Attempts</dt><dd class=\"attempts\">{n}</dd>"),
            (n, true) => format!(
                "<dt>Attempts</dt><dd class=\"attempts error\">{n}: an earlier try may have done this already, \
                 and the operation cannot tell; what it creates may exist twice</dd>"
            ),
        };
        body.push_str(&format!(
            "<section class=\"step\" id=\"step-{}\"><h2>Step {}/{total}: {}</h2>\n\
             <dl class=\"facts\"><dt>Connector</dt><dd>{} {}</dd><dt>Operation</dt><dd>{}</dd>\
             <dt>Authentication</dt><dd>{}</dd><dt>Started</dt><dd>{}</dd><dt>Duration</dt><dd>{} ms</dd>{attempts}</dl>\n\
             <h3>Input</h3>\n<div class=\"input\">{}</div>\n{retried}{iterations}<h3>{label}</h3>\n<div class=\"{class}\">{shown}</div></section>\n",
            index + 1,
            index + 1,
            esc(&step.id),
            esc(&step.connector),
            esc(&step.version),
            esc(&step.operation),
            esc(step.authentication.as_deref().unwrap_or("the host's identity")),
            esc(&step.started_at),
            step.duration_ms,
            json_block(&step.input),
        ));
    }
    page(&format!("Run of {}", record.workflow), &body, Some(&session), Refresh::while_running(running))
}
