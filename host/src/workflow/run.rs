//! Running a workflow: load its connectors under their aliases, then run
//! each step in order, with references resolved from the run's inputs and
//! the steps before it; skip a step whose condition is false; retry a
//! failed step or go on past it as its error policy says, else stop at
//! the first failure. Each step is reported as it ends, so a run can be
//! recorded step by step.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Instant, SystemTime};

use anyhow::Context;
use serde_json::{Value, json};

use crate::error::InvokeError;
use crate::runtime::{CallContext, ComponentSource, Connector, ConnectorHost, LoadOptions, Runtime};
use crate::workflow::condition::Condition;
use crate::workflow::mask::{mask_write_only, redact, write_only_values};
use crate::workflow::reference::{Part, Reference, references, resolve};
use crate::workflow::{Earlier, Step, StepAttempt, StepOutcome, StepReport, Then, Workflow, timestamp};

/// Loads the workflow's connectors, each under its alias (so grants can
/// select it by that alias); `overrides` replaces component paths by alias.
pub async fn load_connectors(
    host: &ConnectorHost,
    workflow: &Workflow,
    overrides: &BTreeMap<String, ComponentSource>,
) -> anyhow::Result<BTreeMap<String, Connector>> {
    let mut loaded = BTreeMap::new();
    for (alias, component) in &workflow.connectors {
        let source = match overrides.get(alias) {
            Some(source) => source.clone(),
            None => ComponentSource::parse(component).with_context(|| format!("connector `{alias}`"))?,
        };
        let options = LoadOptions { alias: Some(alias.clone()), ..LoadOptions::default() };
        let connector = host.load_source(&source, &options).await.with_context(|| format!("connector `{alias}`"))?;
        loaded.insert(alias.clone(), connector);
    }
    Ok(loaded)
}

/// The loaded connector each step's `connector` means (a loaded
/// connector's name, directly or through the workflow's `connectors`
/// aliases), taken now: a run uses these versions to its end, whatever is
/// loaded meanwhile. Fails with the first name that is not loaded.
pub fn pin_connectors(runtime: &Runtime, workflow: &Workflow) -> Result<BTreeMap<String, Connector>, String> {
    let mut pinned = BTreeMap::new();
    for step in &workflow.steps {
        let name = workflow.connectors.get(&step.connector).unwrap_or(&step.connector);
        let connector = runtime.get(name).ok_or_else(|| name.clone())?;
        pinned.insert(step.connector.clone(), connector);
    }
    Ok(pinned)
}

/// Checks, before anything runs, that each step may sign with the
/// authentication it names (the file's `connectors` allow-list); fails
/// with the first step that may not.
pub fn check_authentications<'w>(
    host: &ConnectorHost,
    workflow: &'w Workflow,
    connectors: &BTreeMap<String, Connector>,
) -> Result<(), (&'w Step, InvokeError)> {
    for step in &workflow.steps {
        let Some(connector) = connectors.get(&step.connector) else { continue };
        host.check_authentication(connector, workflow.authentication_of(step)).map_err(|e| (step, e))?;
    }
    Ok(())
}

/// Told about each step of a run as it ends (to print it, or to record it
/// before the next step starts). A closure `FnMut(usize, &StepReport)` is
/// one.
pub trait StepObserver: Send {
    /// Step `index` (from 0) ended as `report` says.
    fn step_ended(&mut self, index: usize, report: &StepReport) -> impl Future<Output = ()> + Send;

    /// Step `index` (from 0) is about to run: which try of it this is (a
    /// recorder writes down that it started, before it runs), or `None` to
    /// stop the run before it (the start could not be recorded).
    fn step_starting(&mut self, _index: usize, _step: &Step) -> impl Future<Output = Option<StepAttempt>> + Send {
        std::future::ready(Some(StepAttempt::FIRST))
    }

    /// A try of step `index` failed and the step will be tried again, as
    /// its retry policy says: whether that try may have taken effect.
    fn try_failed(&mut self, _index: usize, _may_have_taken_effect: bool) {}

    /// Whether the run should stop before its next step (a worker that is
    /// shutting down hands the rest of the run to another).
    fn stop_before_next(&self) -> bool {
        false
    }
}

impl<F: FnMut(usize, &StepReport) + Send> StepObserver for F {
    fn step_ended(&mut self, index: usize, report: &StepReport) -> impl Future<Output = ()> + Send {
        self(index, report);
        std::future::ready(())
    }
}

/// Runs `workflow`'s steps with `connectors` (keyed by what a step's
/// `connector` says) and the run's `inputs` (as
/// [`Workflow::accept_inputs`] returned them), telling `observer` after
/// each. Stops at the first failing step whose error policy does not go
/// on, its report carrying the error; a reference that cannot be resolved
/// fails its step too.
pub async fn run(
    host: &ConnectorHost,
    workflow: &Workflow,
    connectors: &BTreeMap<String, Connector>,
    inputs: &Value,
    mut observer: impl StepObserver,
) -> Vec<StepReport> {
    resume(host, workflow, connectors, inputs, Vec::new(), &CallContext::default(), &mut observer).await
}

/// Runs `workflow` after the steps `done` reports ended (as a run record
/// kept them), like [`run`] otherwise. A run picked up again after its
/// host stopped goes on from where it was: the completed steps are not run
/// again, and later steps refer to their recorded outputs. `done` is cut
/// at its first step that failed and stopped the run, or one whose input
/// no longer resolves; the returned reports include the ones kept from
/// `done`. Each step runs with `run`'s run id, its own step id, the
/// attempt `observer` says, and its authentication.
pub async fn resume(
    host: &ConnectorHost,
    workflow: &Workflow,
    connectors: &BTreeMap<String, Connector>,
    run_inputs: &Value,
    done: Vec<StepReport>,
    run: &CallContext,
    observer: &mut impl StepObserver,
) -> Vec<StepReport> {
    let mut reports: Vec<StepReport> = Vec::new();
    // The real inputs and outputs, for references; the reports hold masked
    // ones.
    let mut inputs: Vec<Value> = Vec::new();
    let mut outputs: Vec<Value> = Vec::new();
    // The values of writeOnly members so far, hidden wherever they turn up.
    let mut secrets: Vec<String> = match &workflow.inputs {
        Some(schema) => write_only_values(schema, run_inputs),
        None => Vec::new(),
    };
    let operation_of =
        |step: &Step| connectors.get(&step.connector).and_then(|c| c.manifest().operation(&step.operation));
    // Steps whose output a later step uses (a reference, or a condition
    // naming the step): a recorded output that had secrets hidden cannot
    // stand in for theirs.
    let mut used_outputs: BTreeSet<String> = workflow
        .steps
        .iter()
        .flat_map(|step| references(&step.input))
        .filter_map(|reference| Reference::parse(&reference).ok())
        .filter(|reference| reference.part == Part::Output)
        .filter_map(|reference| reference.step)
        .collect();
    for condition in workflow.steps.iter().filter_map(|step| step.condition.as_deref()) {
        used_outputs.extend(words(condition).into_iter().map(str::to_owned));
    }
    for (step, report) in workflow.steps.iter().zip(done) {
        if report.stopped_run() || report.id != step.id {
            break;
        }
        if let StepOutcome::Skipped(_) = report.outcome {
            outputs.push(Value::Null);
            inputs.push(step.input.clone());
            reports.push(report);
            continue;
        }
        // A step recorded whole whose output had secrets hidden runs again
        // when a later step uses its output (as a repeat: it did take
        // effect once).
        if report.masked && used_outputs.contains(&step.id) {
            break;
        }
        // The record masks secrets, so the real input is resolved again
        // from the workflow and the steps before it, as it was the first
        // time.
        let earlier = Earlier { run_inputs, reports: &reports, inputs: &inputs, outputs: &outputs };
        let Ok(input) = resolve(&step.input, &earlier, host.max_input_bytes()) else { break };
        if let Some(operation) = operation_of(step) {
            secrets.extend(write_only_values(&operation.input_schema, &input));
        }
        outputs.push(report.outcome.output_or_null());
        reports.push(report);
        inputs.push(input);
    }
    // Measured from when this host took the run up.
    let deadline = Instant::now() + workflow.max_duration();
    for (i, step) in workflow.steps.iter().enumerate().skip(reports.len()) {
        if observer.stop_before_next() {
            break;
        }
        let started_at = timestamp(SystemTime::now());
        let started = Instant::now();
        let connector = connectors.get(&step.connector);
        let operation = operation_of(step);
        if started >= deadline {
            let limit = workflow.max_duration().as_millis();
            let error = json!({"kind": "run-time-limit",
                "message": format!("the run passed its time limit of {limit} ms before step {} (`{}`)", i + 1, step.id)});
            let report = StepReport {
                id: step.id.clone(),
                connector: connector.map_or_else(|| step.connector.clone(), |c| c.name().to_owned()),
                version: connector.map(|c| c.manifest().version.clone()).unwrap_or_default(),
                digest: connector.map(|c| c.digest().to_owned()).unwrap_or_default(),
                operation: step.operation.clone(),
                authentication: workflow.authentication_of(step).map(str::to_owned),
                input: redact(&step.input, &secrets),
                outcome: StepOutcome::Error(error),
                masked: false,
                attempts: 0,
                may_have_taken_effect_twice: false,
                continued: false,
                retried_errors: Vec::new(),
                started_at,
                duration_ms: 0,
            };
            observer.step_ended(i, &report).await;
            reports.push(report);
            break;
        }
        let earlier = Earlier { run_inputs, reports: &reports, inputs: &inputs, outputs: &outputs };
        let condition = step.condition.as_deref().map(|text| evaluate_condition(text, &earlier));
        if let Some(Ok(false)) = condition {
            let text = step.condition.clone().unwrap_or_default();
            let report = StepReport {
                id: step.id.clone(),
                connector: connector.map_or_else(|| step.connector.clone(), |c| c.name().to_owned()),
                version: connector.map(|c| c.manifest().version.clone()).unwrap_or_default(),
                digest: connector.map(|c| c.digest().to_owned()).unwrap_or_default(),
                operation: step.operation.clone(),
                authentication: workflow.authentication_of(step).map(str::to_owned),
                input: redact(&step.input, &secrets),
                outcome: StepOutcome::Skipped(json!({"condition": text, "value": false})),
                masked: false,
                attempts: 0,
                may_have_taken_effect_twice: false,
                continued: false,
                retried_errors: Vec::new(),
                started_at,
                duration_ms: started.elapsed().as_millis() as u64,
            };
            observer.step_ended(i, &report).await;
            reports.push(report);
            inputs.push(step.input.clone());
            outputs.push(Value::Null);
            continue;
        }
        let Some(mut attempt) = observer.step_starting(i, step).await else { break };
        let resolved = resolve(&step.input, &earlier, host.max_input_bytes());
        let resolved_ok = resolved.is_ok();
        // The errors of the tries before the last, as they came.
        let mut retried_errors: Vec<Value> = Vec::new();
        let (input, outcome) = match (connector, condition, resolved) {
            (None, _, _) => (
                step.input.clone(),
                StepOutcome::Error(json!({"kind": "unknown-connector",
                "message": format!("connector `{}` is not loaded", step.connector)})),
            ),
            (Some(_), Some(Err(e)), _) => (
                step.input.clone(),
                StepOutcome::Error(json!({"kind": "invalid-condition",
                "message": format!("step {} (`{}`): {e:#}", i + 1, step.id)})),
            ),
            (Some(_), _, Err(e)) => (
                step.input.clone(),
                StepOutcome::Error(json!({"kind": "invalid-input",
                "message": format!("step {} (`{}`): {e:#}", i + 1, step.id)})),
            ),
            (Some(connector), _, Ok(input)) => loop {
                let context = CallContext {
                    authentication: workflow.authentication_of(step).map(str::to_owned),
                    step_id: Some(step.id.clone()),
                    attempt: attempt.number,
                    earlier_effect: attempt.earlier_effect,
                    ..run.clone()
                };
                let called = host.invoke_outcome(connector, &step.operation, &input, &context).await;
                let outcome = match called.result {
                    Ok(output) => StepOutcome::Output(output),
                    Err(error) => StepOutcome::Error(error.to_json()),
                }
                .with_effect(called.carried_out);
                let retry = step.on_error.retry();
                let again = match (&outcome, retry) {
                    (StepOutcome::Error(error), Some(retry)) => {
                        retry.covers(error)
                            && attempt.number < retry.max_attempts
                            && !observer.stop_before_next()
                            && Instant::now() + retry.backoff.wait_before(attempt.number + 1) < deadline
                    }
                    _ => false,
                };
                let (StepOutcome::Error(error), Some(retry), true) = (&outcome, retry, again) else {
                    break (input, outcome);
                };
                let may_have_taken_effect = outcome.may_have_taken_effect();
                observer.try_failed(i, may_have_taken_effect);
                retried_errors.push(error.clone());
                tokio::time::sleep(retry.backoff.wait_before(attempt.number + 1)).await;
                let Some(next) = observer.step_starting(i, step).await else { break (input, outcome) };
                attempt = StepAttempt {
                    number: next.number.max(attempt.number + 1),
                    earlier_effect: next.earlier_effect || attempt.earlier_effect || may_have_taken_effect,
                };
            },
        };
        let masked_input = match operation {
            Some(operation) => {
                // An input that never resolved is the step's template:
                // its `{{references}}` are no one's secrets.
                if resolved_ok {
                    secrets.extend(write_only_values(&operation.input_schema, &input));
                }
                mask_write_only(&operation.input_schema, &input)
            }
            None => input.clone(),
        };
        let (masked_outcome, real_output) = match &outcome {
            StepOutcome::Output(output) => match operation.and_then(|op| op.output_schema.as_ref()) {
                Some(schema) => {
                    secrets.extend(write_only_values(schema, output));
                    (StepOutcome::Output(mask_write_only(schema, output)), output.clone())
                }
                None => (outcome.clone(), output.clone()),
            },
            StepOutcome::Error(_) | StepOutcome::Skipped(_) => (outcome.clone(), Value::Null),
        };
        // A secret of this step or an earlier one may turn up anywhere: a
        // reference may have copied it into this input, into a longer
        // string even, a service may echo it in its answer, and one the
        // output marks may have been typed into this very input.
        let shown_input = redact(&masked_input, &secrets);
        let shown = match masked_outcome {
            StepOutcome::Output(output) => StepOutcome::Output(redact(&output, &secrets)),
            StepOutcome::Error(error) => StepOutcome::Error(redact(&error, &secrets)),
            StepOutcome::Skipped(skipped) => StepOutcome::Skipped(skipped),
        };
        let masked = match (&shown, &outcome) {
            (StepOutcome::Output(shown), StepOutcome::Output(real))
            | (StepOutcome::Error(shown), StepOutcome::Error(real)) => shown != real,
            _ => true,
        };
        let continued = outcome.is_error() && step.on_error.then() == Then::Continue;
        let report = StepReport {
            id: step.id.clone(),
            connector: connector.map_or_else(|| step.connector.clone(), |c| c.name().to_owned()),
            version: connector.map(|c| c.manifest().version.clone()).unwrap_or_default(),
            digest: connector.map(|c| c.digest().to_owned()).unwrap_or_default(),
            operation: step.operation.clone(),
            authentication: workflow.authentication_of(step).map(str::to_owned),
            input: shown_input,
            outcome: shown,
            masked,
            attempts: attempt.number,
            may_have_taken_effect_twice: attempt.earlier_effect && !operation.is_some_and(|op| op.safe_to_repeat()),
            continued,
            retried_errors: retried_errors.iter().map(|error| redact(error, &secrets)).collect(),
            started_at,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        observer.step_ended(i, &report).await;
        let stopped = report.stopped_run();
        reports.push(report);
        inputs.push(input);
        outputs.push(real_output);
        if stopped {
            break;
        }
    }
    reports
}

/// Evaluates a step's condition over the run's inputs and the steps before
/// it. Only the steps the condition's text names are handed to it, so a
/// condition costs what it reads, not the whole run so far.
fn evaluate_condition(text: &str, earlier: &Earlier<'_>) -> anyhow::Result<bool> {
    let condition = Condition::parse(text)?;
    let named = words(text);
    let mut steps = serde_json::Map::new();
    for (index, report) in earlier.reports.iter().enumerate() {
        if !named.contains(report.id.as_str()) {
            continue;
        }
        let mut view = serde_json::Map::new();
        view.insert("status".into(), json!(report.outcome.status()));
        view.insert("input".into(), earlier.inputs.get(index).cloned().unwrap_or(Value::Null));
        match &report.outcome {
            StepOutcome::Output(_) => {
                view.insert("output".into(), earlier.outputs.get(index).cloned().unwrap_or(Value::Null));
            }
            StepOutcome::Error(error) => {
                view.insert("error".into(), error.clone());
            }
            StepOutcome::Skipped(_) => {}
        }
        steps.insert(report.id.clone(), Value::Object(view));
    }
    let steps = Value::Object(steps);
    condition.evaluate(&[("inputs", earlier.run_inputs), ("steps", &steps)])
}

/// The words of a condition that could be step ids (runs of letters,
/// digits, `_` and `-`): the steps it may read.
fn words(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).filter(|w| !w.is_empty()).collect()
}
