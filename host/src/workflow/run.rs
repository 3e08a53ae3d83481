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
use crate::workflow::condition::{Condition, one_line};
use crate::workflow::mask::{mask_write_only, redact, write_only_values};
use crate::workflow::reference::{Part, Reference, references, resolve};
use crate::workflow::{
    Earlier, IterationReport, Step, StepAttempt, StepOutcome, StepReport, Then, Workflow, timestamp,
};

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
    let operation_of = |step: &Step| connectors.get(&step.connector).and_then(|c| operation_in(c, step));
    // Each step's condition, parsed once for the run.
    let conditions: Vec<Option<ParsedCondition>> = workflow
        .steps
        .iter()
        .map(|step| step.condition.as_deref().map(|text| Condition::parse(text).map_err(|e| format!("{e:#}"))))
        .collect();
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
    for condition in conditions.iter().flatten().flatten() {
        used_outputs.extend(condition.named_steps().iter().cloned());
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
        let failed = report.outcome.is_error();
        if !failed && report.masked && used_outputs.contains(&step.id) {
            break;
        }
        // The record masks secrets, so the real input is resolved again
        // from the workflow and the steps before it, as it was the first
        // time. A step that failed and went on stands as recorded whether
        // or not its input resolves (it may have failed because it did not).
        let earlier = Earlier { run_inputs, item: None, reports: &reports, inputs: &inputs, outputs: &outputs };
        if step.for_each.is_some() {
            // A loop's input is resolved per item: the kept loop stands,
            // and its items' inputs give their secrets back.
            if let Some(operation) = operation_of(step) {
                for input in loop_inputs(step, &earlier, host.max_input_bytes()) {
                    secrets.extend(write_only_values(&operation.input_schema, &input));
                }
            }
            outputs.push(report.outcome.output_or_null());
            reports.push(report);
            inputs.push(step.input.clone());
            continue;
        }
        let input = match resolve(&step.input, &earlier, host.max_input_bytes()) {
            Ok(input) => {
                if let Some(operation) = operation_of(step) {
                    secrets.extend(write_only_values(&operation.input_schema, &input));
                }
                input
            }
            Err(_) if failed => step.input.clone(),
            Err(_) => break,
        };
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
            let input = redact(&step.input, &secrets);
            let report = report_of(workflow, step, connector, input, StepOutcome::Error(error), started_at, 0);
            observer.step_ended(i, &report).await;
            reports.push(report);
            break;
        }
        let earlier = Earlier { run_inputs, item: None, reports: &reports, inputs: &inputs, outputs: &outputs };
        // A loop's condition is each iteration's.
        let condition = match conditions[i].as_ref().filter(|_| step.for_each.is_none()) {
            Some(parsed) => Some(evaluate_condition(parsed, &earlier, &secrets).await),
            None => None,
        };
        if let Some(Ok(false)) = condition {
            let input = redact(&step.input, &secrets);
            let duration_ms = started.elapsed().as_millis() as u64;
            let report = report_of(workflow, step, connector, input, skipped(step), started_at, duration_ms);
            observer.step_ended(i, &report).await;
            reports.push(report);
            inputs.push(step.input.clone());
            outputs.push(Value::Null);
            continue;
        }
        let Some(mut attempt) = observer.step_starting(i, step).await else { break };
        // A loop resolves its input per item.
        let resolved = match step.for_each {
            Some(_) => Ok(Value::Null),
            None => resolve(&step.input, &earlier, host.max_input_bytes()),
        };
        let resolved_ok = resolved.is_ok() && step.for_each.is_none();
        // The errors of the tries before the last, as they came.
        let mut retried_errors: Vec<Value> = Vec::new();
        // A loop's iterations, as recorded, and the secrets they met.
        let mut iterations: Vec<IterationReport> = Vec::new();
        let mut found_in_loop: Vec<String> = Vec::new();
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
            (Some(connector), _, Ok(_)) if step.for_each.is_some() => {
                let condition = conditions[i].as_ref();
                let looped =
                    run_loop(host, workflow, step, connector, condition, &earlier, run, attempt, deadline, &secrets)
                        .await;
                iterations = looped.iterations;
                found_in_loop = looped.secrets;
                (step.input.clone(), looped.outcome)
            }
            (Some(connector), _, Ok(input)) => {
                let base = CallContext { step_id: Some(step.id.clone()), ..run.clone() };
                let tried = invoke_with_retries(
                    host,
                    workflow,
                    step,
                    connector,
                    &input,
                    &base,
                    attempt,
                    deadline,
                    (i, &mut *observer),
                )
                .await;
                if tried.interrupted {
                    break;
                }
                attempt = tried.attempt;
                retried_errors = tried.retried_errors;
                (input, tried.outcome)
            }
        };
        secrets.append(&mut found_in_loop);
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
                // A loop's output is its iterations' outputs, each of the
                // operation's output schema.
                Some(schema) => match (step.for_each.is_some(), output) {
                    (true, Value::Array(items)) => {
                        items.iter().for_each(|item| secrets.extend(write_only_values(schema, item)));
                        let masked = items.iter().map(|item| mask_write_only(schema, item)).collect();
                        (StepOutcome::Output(Value::Array(masked)), output.clone())
                    }
                    _ => {
                        secrets.extend(write_only_values(schema, output));
                        (StepOutcome::Output(mask_write_only(schema, output)), output.clone())
                    }
                },
                None => (outcome.clone(), output.clone()),
            },
            StepOutcome::Error(_) | StepOutcome::Skipped(_) => (outcome.clone(), Value::Null),
        };
        // A secret of this step or an earlier one may turn up anywhere: a
        // reference may have copied it into this input, into a longer
        // string even, a service may echo it in its answer, and one the
        // output marks may have been typed into this very input.
        let shown_input = redact(&masked_input, &secrets);
        let shown = masked_outcome.map(|value| redact(value, &secrets));
        let masked = match (&shown, &outcome) {
            (StepOutcome::Output(shown), StepOutcome::Output(real))
            | (StepOutcome::Error(shown), StepOutcome::Error(real)) => shown != real,
            _ => true,
        };
        let continued = outcome.is_error() && step.on_error.then() == Then::Continue;
        let duration_ms = started.elapsed().as_millis() as u64;
        let report = StepReport {
            masked,
            attempts: attempt.number,
            may_have_taken_effect_twice: attempt.earlier_effect && !operation.is_some_and(|op| op.safe_to_repeat()),
            continued,
            retried_errors: retried_errors.iter().map(|error| redact(error, &secrets)).collect(),
            iterations,
            ..report_of(workflow, step, connector, shown_input, shown, started_at, duration_ms)
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
/// it (and a loop's item and index). Only the steps the condition's text
/// names are handed to it, so a condition costs what it reads, not the
/// whole run so far. Secrets are hidden in what it says went wrong.
async fn evaluate_condition(
    condition: &ParsedCondition,
    earlier: &Earlier<'_>,
    secrets: &[String],
) -> anyhow::Result<bool> {
    let condition = condition.as_ref().map_err(|e| anyhow::anyhow!("{e}"))?;
    let named = condition.named_steps();
    let mut steps = serde_json::Map::new();
    for (index, report) in earlier.reports.iter().enumerate() {
        if named.binary_search(&report.id).is_err() {
            continue;
        }
        let mut view = serde_json::Map::new();
        view.insert("status".into(), json!(report.outcome.status()));
        if !matches!(report.outcome, StepOutcome::Skipped(_)) {
            view.insert("input".into(), earlier.inputs.get(index).cloned().unwrap_or(Value::Null));
        }
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
    let mut variables = vec![("inputs", earlier.run_inputs.clone()), ("steps", Value::Object(steps))];
    if let Some((item, index)) = earlier.item {
        variables.extend([("item", item.clone()), ("index", index.clone())]);
    }
    condition.evaluate(variables).await.map_err(|message| {
        // Hidden before the message is cut or escaped, which would keep a
        // secret from matching.
        let shown = redact(&Value::String(message), secrets);
        anyhow::anyhow!(one_line(shown.as_str().unwrap_or_default()))
    })
}

/// The inputs a loop's items resolve to, as far as they resolve.
fn loop_inputs(step: &Step, earlier: &Earlier<'_>, limit: usize) -> Vec<Value> {
    let Some(Ok(Value::Array(items))) = step.for_each.as_ref().map(|value| resolve(value, earlier, limit)) else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(index, item)| {
            let index = Value::from(index);
            let scope = Earlier { item: Some((item, &index)), ..*earlier };
            resolve(&step.input, &scope, limit).ok()
        })
        .collect()
}

/// A step's condition as parsed once for a run, or why it does not parse.
type ParsedCondition = Result<Condition, String>;

/// A step's report with what every report says: the connector and
/// operation, the authentication, when it started and how long it took;
/// no tries, nothing masked. A step that ran fills in the rest.
fn report_of(
    workflow: &Workflow,
    step: &Step,
    connector: Option<&Connector>,
    input: Value,
    outcome: StepOutcome,
    started_at: String,
    duration_ms: u64,
) -> StepReport {
    StepReport {
        id: step.id.clone(),
        connector: connector.map_or_else(|| step.connector.clone(), |c| c.name().to_owned()),
        version: connector.map(|c| c.manifest().version.clone()).unwrap_or_default(),
        digest: connector.map(|c| c.digest().to_owned()).unwrap_or_default(),
        operation: step.operation.clone(),
        authentication: workflow.authentication_of(step).map(str::to_owned),
        input,
        outcome,
        masked: false,
        attempts: 0,
        may_have_taken_effect_twice: false,
        continued: false,
        retried_errors: Vec::new(),
        iterations: Vec::new(),
        started_at,
        duration_ms,
    }
}

/// What a step whose condition is false comes to.
fn skipped(step: &Step) -> StepOutcome {
    StepOutcome::Skipped(json!({"condition": step.condition.clone().unwrap_or_default(), "value": false}))
}

/// What a step's tries came to: the last try's outcome and attempt, and
/// the errors of the tries before it.
struct Tried {
    outcome: StepOutcome,
    attempt: StepAttempt,
    retried_errors: Vec<Value>,
    /// The run is to stop before the policy's next try: the step has no
    /// outcome to record, and runs again when the run is taken up.
    interrupted: bool,
}

/// The operation `step` calls, as `connector`'s manifest describes it.
fn operation_in<'a>(connector: &'a Connector, step: &Step) -> Option<&'a crate::runtime::OperationInfo> {
    connector.manifest().operation(&step.operation)
}

/// Invokes `step` with `input`, trying again as its retry policy says
/// (each try told to `observer` as try of step `index`, so a recorder
/// numbers them), until a try succeeds, fails in a way the policy does not
/// retry, the tries run out or the run's `deadline` would pass.
#[allow(clippy::too_many_arguments)]
async fn invoke_with_retries(
    host: &ConnectorHost,
    workflow: &Workflow,
    step: &Step,
    connector: &Connector,
    input: &Value,
    base: &CallContext,
    mut attempt: StepAttempt,
    deadline: Instant,
    (index, observer): (usize, &mut impl StepObserver),
) -> Tried {
    let mut retried_errors = Vec::new();
    loop {
        let context = CallContext {
            authentication: workflow.authentication_of(step).map(str::to_owned),
            attempt: attempt.number,
            earlier_effect: attempt.earlier_effect,
            ..base.clone()
        };
        let called = host.invoke_outcome(connector, &step.operation, input, &context).await;
        let outcome = match called.result {
            Ok(output) => StepOutcome::Output(output),
            Err(error) => StepOutcome::Error(error.to_json()),
        }
        .with_effect(called.carried_out);
        let retry = step.on_error.retry();
        // A try that may have taken effect is tried again only when the
        // operation says a repeat is harmless: a second create could
        // make a second thing.
        let may_have_taken_effect = outcome.may_have_taken_effect();
        let safe = !may_have_taken_effect || operation_in(connector, step).is_some_and(|op| op.safe_to_repeat());
        let again = match (&outcome, retry) {
            (StepOutcome::Error(error), Some(retry)) => {
                retry.covers(error)
                    && safe
                    && attempt.number < retry.max_attempts
                    && Instant::now() + retry.backoff.wait_before(attempt.number + 1) < deadline
            }
            _ => false,
        };
        let (StepOutcome::Error(error), Some(retry), true) = (&outcome, retry, again) else {
            return Tried { outcome, attempt, retried_errors, interrupted: false };
        };
        if observer.stop_before_next() {
            return Tried { outcome, attempt, retried_errors, interrupted: true };
        }
        observer.try_failed(index, may_have_taken_effect);
        retried_errors.push(error.clone());
        // The wait ends early when the run is to stop (a worker shutting
        // down): the step is then left for whoever takes the run up next.
        let waited = Instant::now() + retry.backoff.wait_before(attempt.number + 1);
        while Instant::now() < waited {
            if observer.stop_before_next() {
                return Tried { outcome, attempt, retried_errors, interrupted: true };
            }
            tokio::time::sleep((waited - Instant::now()).min(std::time::Duration::from_millis(200))).await;
        }
        let Some(next) = observer.step_starting(index, step).await else {
            return Tried { outcome, attempt, retried_errors, interrupted: true };
        };
        attempt = StepAttempt {
            number: next.number.max(attempt.number + 1),
            earlier_effect: next.earlier_effect || attempt.earlier_effect || may_have_taken_effect,
        };
    }
}

/// A loop's iterations do not record tries of their own: the loop is the
/// step the run's record knows.
struct Unrecorded;

impl StepObserver for Unrecorded {
    fn step_ended(&mut self, _index: usize, _report: &StepReport) -> impl Future<Output = ()> + Send {
        std::future::ready(())
    }
}

/// An iteration's record (secrets of its operation masked), its real
/// output, and the secrets it met.
type IterationDone = (IterationReport, Value, Vec<String>);

/// What every iteration of one loop shares.
#[derive(Clone, Copy)]
struct LoopRun<'a> {
    host: &'a ConnectorHost,
    workflow: &'a Workflow,
    step: &'a Step,
    connector: &'a Connector,
    operation: Option<&'a crate::runtime::OperationInfo>,
    run: &'a CallContext,
    attempt: StepAttempt,
    deadline: Instant,
    /// Set once an iteration fails and stops the loop.
    stopped: &'a std::sync::atomic::AtomicBool,
    /// Its condition, parsed once for the run.
    condition: Option<&'a ParsedCondition>,
    /// The run's secrets so far, hidden in what a condition says.
    secrets: &'a [String],
}

impl LoopRun<'_> {
    /// Iteration `index` in `scope` (its item and index); `None` when the
    /// loop stopped, or the run's time ran out, before it started.
    async fn iteration(self, index: usize, scope: Earlier<'_>) -> Option<IterationDone> {
        let LoopRun { host, workflow, step, connector, operation, run, attempt, deadline, stopped, condition, secrets } =
            self;
        if stopped.load(std::sync::atomic::Ordering::SeqCst) || Instant::now() >= deadline {
            return None;
        }
        let started = Instant::now();
        let mut found_secrets = Vec::new();
        let condition = match condition {
            Some(parsed) => Some(evaluate_condition(parsed, &scope, secrets).await),
            None => None,
        };
        let (input, outcome, tried_attempt, retried) = match condition {
            Some(Ok(false)) => (step.input.clone(), skipped(step), attempt, Vec::new()),
            Some(Err(e)) => {
                let error = json!({"kind": "invalid-condition", "message": format!("iteration {index}: {e:#}")});
                (step.input.clone(), StepOutcome::Error(error), attempt, Vec::new())
            }
            _ => match resolve(&step.input, &scope, host.max_input_bytes()) {
                Err(e) => {
                    let error = json!({"kind": "invalid-input", "message": format!("iteration {index}: {e:#}")});
                    (step.input.clone(), StepOutcome::Error(error), attempt, Vec::new())
                }
                Ok(input) => {
                    if let Some(operation) = operation {
                        found_secrets.extend(write_only_values(&operation.input_schema, &input));
                    }
                    // Its own step id, so each item's idempotency token
                    // is its own, and the same when the loop runs again.
                    let base = CallContext { step_id: Some(format!("{}[{index}]", step.id)), ..run.clone() };
                    let tried = invoke_with_retries(
                        host,
                        workflow,
                        step,
                        connector,
                        &input,
                        &base,
                        attempt,
                        deadline,
                        (0, &mut Unrecorded),
                    )
                    .await;
                    (input, tried.outcome, tried.attempt, tried.retried_errors)
                }
            },
        };
        let continued = outcome.is_error() && step.on_error.then() == Then::Continue;
        if outcome.is_error() && !continued {
            stopped.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        let output_schema = operation.and_then(|op| op.output_schema.as_ref());
        let (shown, real_output) = match (outcome, output_schema) {
            (StepOutcome::Output(output), Some(schema)) => {
                found_secrets.extend(write_only_values(schema, &output));
                (StepOutcome::Output(mask_write_only(schema, &output)), output)
            }
            (StepOutcome::Output(output), None) => (StepOutcome::Output(output.clone()), output),
            (other, _) => (other, Value::Null),
        };
        let report = IterationReport {
            index,
            input: match operation {
                Some(operation) => mask_write_only(&operation.input_schema, &input),
                None => input,
            },
            outcome: shown,
            attempts: tried_attempt.number,
            retried_errors: retried,
            continued,
            duration_ms: started.elapsed().as_millis() as u64,
        };
        Some((report, real_output, found_secrets))
    }
}

/// What a loop came to: the step's outcome, its iterations' records, and
/// the secrets they met (for the rest of the run to hide).
struct Looped {
    outcome: StepOutcome,
    iterations: Vec<IterationReport>,
    secrets: Vec<String>,
}

/// Runs `step` once per item of its `for_each` array, `max_concurrency` at
/// a time, in order; each iteration's `if` decides for its item, and its
/// `on_error` for its failure: one that stops ends the loop (no later
/// iteration starts) and fails the step with its error. Iterations are
/// recorded with the operation's secrets hidden, and any of `secrets`.
#[allow(clippy::too_many_arguments)]
async fn run_loop(
    host: &ConnectorHost,
    workflow: &Workflow,
    step: &Step,
    connector: &Connector,
    condition: Option<&ParsedCondition>,
    earlier: &Earlier<'_>,
    run: &CallContext,
    attempt: StepAttempt,
    deadline: Instant,
    secrets: &[String],
) -> Looped {
    use futures_util::StreamExt;
    let fail = |kind: &str, message: String| Looped {
        outcome: StepOutcome::Error(json!({"kind": kind, "message": message})),
        iterations: Vec::new(),
        secrets: Vec::new(),
    };
    let items = match step.for_each.as_ref().map(|value| resolve(value, earlier, host.max_input_bytes())) {
        Some(Ok(Value::Array(items))) => items,
        Some(Ok(other)) => {
            let kind = match other {
                Value::Object(_) => "an object",
                Value::String(_) => "a string",
                Value::Null => "null",
                _ => "not an array",
            };
            return fail("invalid-input", format!("step `{}`: for_each must be an array, and is {kind}", step.id));
        }
        Some(Err(e)) => return fail("invalid-input", format!("step `{}`: for_each: {e:#}", step.id)),
        None => Vec::new(),
    };
    let max_items = step.max_items.unwrap_or(Step::DEFAULT_MAX_ITEMS) as usize;
    if items.len() > max_items {
        return fail(
            "too-many-items",
            format!("step `{}`: for_each has {} items, over its max_items of {max_items}", step.id, items.len()),
        );
    }
    let operation = operation_in(connector, step);
    let stopped = std::sync::atomic::AtomicBool::new(false);
    let concurrency = step.max_concurrency.unwrap_or(1).clamp(1, Step::MAX_CONCURRENCY) as usize;
    let indices: Vec<Value> = (0..items.len()).map(Value::from).collect();
    // Boxed as `dyn Future + Send`: a closure handing out borrowed items
    // makes a future the compiler cannot prove `Send` for every lifetime.
    type Iteration<'a> = std::pin::Pin<Box<dyn Future<Output = Option<IterationDone>> + Send + 'a>>;
    let loop_run = LoopRun {
        host,
        workflow,
        step,
        connector,
        operation,
        run,
        attempt,
        deadline,
        stopped: &stopped,
        condition,
        secrets,
    };
    let futures: Vec<Iteration<'_>> = items
        .iter()
        .zip(&indices)
        .enumerate()
        .map(|(index, (item, index_value))| {
            let scope = Earlier { item: Some((item, index_value)), ..*earlier };
            Box::pin(loop_run.iteration(index, scope)) as Iteration<'_>
        })
        .collect();
    let iterations: Vec<Option<IterationDone>> =
        futures_util::stream::iter(futures).buffered(concurrency).collect().await;
    // Every secret any iteration met, hidden in all of them.
    let mut hidden: Vec<String> = secrets.to_vec();
    hidden.extend(iterations.iter().flatten().flat_map(|(_, _, found)| found.iter().cloned()));
    let mut outputs = Vec::with_capacity(iterations.len());
    let mut reports = Vec::with_capacity(iterations.len());
    let mut failure = None;
    for (mut report, real_output, _) in iterations.into_iter().flatten() {
        report.input = redact(&report.input, &hidden);
        report.outcome = report.outcome.map(|value| redact(value, &hidden));
        report.retried_errors = report.retried_errors.iter().map(|error| redact(error, &hidden)).collect();
        if let (StepOutcome::Error(error), false, None) = (&report.outcome, report.continued, &failure) {
            failure = Some((report.index, error.clone()));
        }
        outputs.push(real_output);
        reports.push(report);
    }
    let outcome = match failure {
        Some((index, error)) => {
            let message = error.get("message").and_then(Value::as_str).unwrap_or("failed");
            StepOutcome::Error(json!({"kind": "iteration-failed", "index": index,
                "message": format!("iteration {index} of step `{}` failed: {message}", step.id), "error": error}))
        }
        None if reports.len() < items.len() => StepOutcome::Error(json!({"kind": "run-time-limit",
            "message": format!("step `{}`: the run passed its time limit after {} of {} iterations", step.id, reports.len(), items.len())})),
        None => StepOutcome::Output(Value::Array(outputs)),
    };
    let secrets = hidden.split_off(secrets.len());
    Looped { outcome, iterations: reports, secrets }
}
