//! Workflows: ordered steps, each running one operation of a connector, where
//! a step's input can use earlier steps' inputs and outputs.
//!
//! A workflow is a JSON file:
//!
//! ```json
//! {
//!   "name": "Marketing Department",
//!   "connectors": { "cognito": "../target/wasm32-wasip2/release/guest_cognito.wasm" },
//!   "steps": [
//!     { "id": "pool", "connector": "cognito", "operation": "create_user_pool",
//!       "input": { "pool_name": "Marketing Department" } },
//!     { "id": "user", "connector": "cognito", "operation": "admin_create_user",
//!       "input": { "user_pool_id": "{{steps.pool.output.UserPool.Id}}", "username": "exampleUsername" } }
//!   ]
//! }
//! ```
//!
//! A string that is exactly one `{{reference}}` is replaced by the value it
//! names, whatever its type; references inside a longer string are replaced
//! by their text. A reference is `inputs`, `steps.<id>.input`,
//! `steps.<id>.output` or `steps.<id>.error`, followed by `.Member` and
//! `[index]` parts. Component paths are relative to the workflow file.
//!
//! A workflow may also declare its `inputs` (a JSON Schema of the object a
//! run is given, checked before any step runs), and each step an `if` (a
//! CEL condition over `inputs` and `steps`; a step whose condition is
//! false is skipped) and an `on_error` policy (stop, continue, or retry
//! with back-off first): see [`OnError`].

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod condition;
mod inputs;
mod library;
mod mask;
mod policy;
mod record;
mod reference;
mod run;
mod schedule;
mod shared_store;
mod sqlite_store;
mod store;

pub use condition::{MAX_EXPRESSION_BYTES, MAX_NESTING};
pub use library::{Hook, HookSummary, MAX_HOOKS, MAX_VERSIONS, MAX_WORKFLOWS, StoredWorkflow, WorkflowLibrary};
pub use mask::{mask_write_only, redact, write_only_values};
pub use policy::{Backoff, OnError, Retry, Then};
pub(crate) use record::bounded as bounded_value;
pub use record::{RunRecord, RunStatus, StepAttempt, StepTries, timestamp};
pub use run::{StepObserver, check_authentications, load_connectors, pin_connectors, resume, run};
pub use schedule::{Due, MAX_CATCH_UP, Schedule, ScheduleState};
pub(crate) use shared_store::is_run_id;
pub use shared_store::{ExistingBounds, RunEnded, RunTakenOver, SharedRunStore};
pub use sqlite_store::SqliteRunStore;
pub use store::{Recorder, RunStore, RunSummary, StoreLimits};

use reference::{Earlier, Part, Reference, references};

use crate::escape::escape_untrusted;
use crate::selector::is_alias;

/// A parsed, checked workflow.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workflow {
    /// What the workflow does.
    #[serde(default)]
    pub name: String,
    /// What each connector alias refers to: a component path (relative to
    /// the workflow file) or an `oci://` reference for the CLI, a loaded connector's name for a
    /// server. A server accepts steps naming loaded connectors directly.
    #[serde(default)]
    pub connectors: BTreeMap<String, String>,
    /// The authentication steps sign with unless they name their own.
    #[serde(default)]
    pub authentication: Option<String>,
    /// A JSON Schema (2020-12) of the object a run is given as its inputs,
    /// which steps read as `{{inputs.<name>}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Value>,
    /// Longest the run may take, in milliseconds (default and at most
    /// [`Workflow::MAX_DURATION_MS`]): no step starts, and no failed step
    /// is tried again, past it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration_ms: Option<u64>,
    pub steps: Vec<Step>,
}

/// One step: an operation of a connector with an input.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Name later steps use to refer to this one.
    pub id: String,
    /// Alias from the workflow's `connectors` (or, on a server, a loaded
    /// connector's name).
    pub connector: String,
    pub operation: String,
    /// The input, possibly with `{{references}}`.
    #[serde(default = "empty_object")]
    pub input: Value,
    /// The authentication this step signs with (default: the workflow's).
    #[serde(default)]
    pub authentication: Option<String>,
    /// A condition (CEL) over `inputs` and `steps`: the step runs only
    /// when it is true, and is recorded as skipped otherwise.
    #[serde(default, rename = "if")]
    pub condition: Option<String>,
    /// What happens when the step fails (default: the run stops). In a
    /// loop, it applies to each iteration.
    #[serde(default)]
    pub on_error: OnError,
    /// Runs the step once per item of this array (a `{{reference}}` to
    /// one, or the array itself); each iteration reads `{{item}}` and
    /// `{{index}}`, and its `if` decides for that item. The step's output
    /// is the array of the iterations' outputs (`null` for one that failed
    /// and went on, or was skipped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_each: Option<Value>,
    /// Iterations of a loop that run at once (1, the default, to
    /// [`Step::MAX_CONCURRENCY`]), in order of their items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    /// Most items a loop takes (default [`Step::DEFAULT_MAX_ITEMS`], at most
    /// [`Step::MAX_ITEMS`]); a longer array fails the step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
}

impl Step {
    /// Most iterations of a loop that run at once.
    pub const MAX_CONCURRENCY: u32 = 16;
    /// Items a loop takes unless it says otherwise.
    pub const DEFAULT_MAX_ITEMS: u32 = 1000;
    /// Most items a loop may take.
    pub const MAX_ITEMS: u32 = 10_000;
}

impl Workflow {
    /// The authentication step `step` signs with, if any.
    pub fn authentication_of<'a>(&'a self, step: &'a Step) -> Option<&'a str> {
        step.authentication.as_deref().or(self.authentication.as_deref())
    }
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

/// What one step did, as a run record keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepReport {
    pub id: String,
    /// The connector's name (from its manifest).
    pub connector: String,
    /// The connector's version and the digest of its component.
    pub version: String,
    pub digest: String,
    pub operation: String,
    /// The named authentication the step signed with (none: the host's own
    /// identity). Never a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<String>,
    /// The input after references were resolved, with the members its
    /// schema marks `writeOnly` (passwords, secrets) shown as `"***"`.
    pub input: Value,
    /// The operation's output, or the error as `{"kind", "message", ...}`
    /// (with `"may_have_taken_effect": true` when a request of the step
    /// may have been carried out before it failed), with the members its output schema marks `writeOnly` (tokens,
    /// secrets) and copies of any secret of the run so far shown as `"***"`.
    #[serde(flatten)]
    pub outcome: StepOutcome,
    /// Whether secrets were hidden in the output or error: the record then
    /// differs from what the step returned, so a resumed run runs such a
    /// step again before a later step uses its output.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub masked: bool,
    /// How many tries the step took, this one included (more than one when
    /// a queued run's worker stopped mid-step, or the step failed in a way
    /// that may pass).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub attempts: u32,
    /// An earlier try may already have done what this one did, and the
    /// operation does not say it recognises that: what it creates may
    /// exist twice. Never set for operations that only read or that their
    /// connector declares idempotent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub may_have_taken_effect_twice: bool,
    /// The step failed and the run went on, as its `on_error` says.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub continued: bool,
    /// The errors of the tries its retry policy made before the last one,
    /// in order (secrets hidden as in `error`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retried_errors: Vec<Value>,
    /// For a loop (`for_each`), each iteration that started, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub iterations: Vec<IterationReport>,
    /// When the step started (RFC 3339) and how long it took.
    pub started_at: String,
    pub duration_ms: u64,
}

/// What one iteration of a loop did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IterationReport {
    /// The item's index in the loop's array, from 0.
    pub index: usize,
    /// Its input after references, secrets hidden as in a step's.
    pub input: Value,
    #[serde(flatten)]
    pub outcome: StepOutcome,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retried_errors: Vec<Value>,
    /// It failed and the loop went on, as the step's `on_error` says.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub continued: bool,
    pub duration_ms: u64,
}

/// The member of a failed step's error saying that it may still have
/// taken effect (a request of it may have been carried out before it
/// failed): who runs it again should look for what it did.
pub(crate) const MAY_HAVE_TAKEN_EFFECT: &str = "may_have_taken_effect";

/// How a step ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    Output(Value),
    Error(Value),
    /// The step's condition was false: `{"condition": <its text>, "value": false}`.
    Skipped(Value),
}

impl StepOutcome {
    pub fn is_error(&self) -> bool {
        matches!(self, StepOutcome::Error(_))
    }

    /// This outcome, saying in an error that the step may still have taken
    /// effect when `carried_out` says a request of it may have been
    /// carried out.
    pub(crate) fn with_effect(self, carried_out: crate::capability::CarriedOut) -> StepOutcome {
        match self {
            StepOutcome::Error(mut error) if carried_out == crate::capability::CarriedOut::Possibly => {
                if let Value::Object(members) = &mut error {
                    members.insert(MAY_HAVE_TAKEN_EFFECT.to_owned(), Value::Bool(true));
                }
                StepOutcome::Error(error)
            }
            other => other,
        }
    }

    /// Whether the step may have taken effect: it succeeded, or it failed
    /// after a request its service may have carried out.
    pub fn may_have_taken_effect(&self) -> bool {
        match self {
            StepOutcome::Output(_) => true,
            StepOutcome::Error(error) => error.get(MAY_HAVE_TAKEN_EFFECT) == Some(&Value::Bool(true)),
            StepOutcome::Skipped(_) => false,
        }
    }

    /// This outcome with its value (an output, an error or a skip's note)
    /// passed through `f`.
    pub(crate) fn map(&self, f: impl FnOnce(&Value) -> Value) -> StepOutcome {
        match self {
            StepOutcome::Output(value) => StepOutcome::Output(f(value)),
            StepOutcome::Error(value) => StepOutcome::Error(f(value)),
            StepOutcome::Skipped(value) => StepOutcome::Skipped(f(value)),
        }
    }

    /// `succeeded`, `failed` or `skipped`, as conditions read it.
    pub fn status(&self) -> &'static str {
        match self {
            StepOutcome::Output(_) => "succeeded",
            StepOutcome::Error(_) => "failed",
            StepOutcome::Skipped(_) => "skipped",
        }
    }

    /// The output, or `Null` for an error: what a later step's reference
    /// to this step's output reads.
    pub(crate) fn output_or_null(&self) -> Value {
        match self {
            StepOutcome::Output(output) => output.clone(),
            StepOutcome::Error(_) | StepOutcome::Skipped(_) => Value::Null,
        }
    }
}

impl StepReport {
    /// Whether the step failed and its error ended the run (rather than
    /// being recorded for later steps, as `on_error: "continue"` does).
    pub fn stopped_run(&self) -> bool {
        self.outcome.is_error() && !self.continued
    }

    /// The step as a debug panel shows it: a header, the input, then the
    /// output or the error, as indented JSON. `index` counts from 0. Text
    /// from the connector is escaped for a terminal.
    pub fn debug_view(&self, index: usize, total: usize) -> String {
        let pretty = |v: &Value| serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
        let (label, body) = match &self.outcome {
            StepOutcome::Output(output) => ("Output", pretty(output)),
            StepOutcome::Error(error) if self.continued => ("Error (the run went on)", pretty(error)),
            StepOutcome::Error(error) => ("Error", pretty(error)),
            StepOutcome::Skipped(skipped) => ("Skipped (its condition is false)", pretty(skipped)),
        };
        let signed_as = self.authentication.as_ref().map(|a| format!(" as {a}")).unwrap_or_default();
        let input = pretty(&self.input);
        let hidden = if input.contains("\"***\"") || body.contains("\"***\"") {
            "(\"***\": a secret, hidden as the operation's schemas mark it)\n"
        } else {
            ""
        };
        let iterations: String = self
            .iterations
            .iter()
            .map(|iteration| {
                let (status, value) = match &iteration.outcome {
                    StepOutcome::Output(output) => ("output", output),
                    StepOutcome::Error(error) => ("error", error),
                    StepOutcome::Skipped(skipped) => ("skipped", skipped),
                };
                let value: String = value.to_string().chars().take(200).collect();
                format!("  [{}] input {} → {status} {value}\n", iteration.index, iteration.input)
            })
            .collect();
        let iterations = if iterations.is_empty() { iterations } else { format!("Iterations:\n{iterations}") };
        let text = format!(
            "── Step {}/{total}: {} ({}.{}{signed_as})\nInput:\n{input}\n{iterations}{label}:\n{body}\n{hidden}",
            index + 1,
            self.id,
            self.connector,
            self.operation,
        );
        // Newlines are the view's own; everything else is escaped.
        text.split('\n').map(|line| escape_untrusted(line)).collect::<Vec<_>>().join("\n")
    }
}

#[cfg(test)]
impl StepReport {
    /// A step `id` that took `input` and gave `output`, for tests.
    pub(crate) fn example(id: &str, input: Value, output: Value) -> StepReport {
        StepReport {
            id: id.into(),
            connector: "c".into(),
            version: "1".into(),
            digest: "sha256:00".into(),
            operation: "op".into(),
            authentication: None,
            input,
            outcome: StepOutcome::Output(output),
            masked: false,
            attempts: 1,
            may_have_taken_effect_twice: false,
            continued: false,
            retried_errors: Vec::new(),
            iterations: Vec::new(),
            started_at: "2026-12-04T00:00:00.000Z".into(),
            duration_ms: 1,
        }
    }
}

impl Workflow {
    /// Largest workflow file read.
    pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

    /// Reads and checks the workflow at `path`; component paths become
    /// relative to the current directory (`oci://` references stay as
    /// they are).
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text = crate::files::read_capped(path, Self::MAX_FILE_BYTES, "workflow", "a smaller workflow")?;
        let mut workflow: Workflow =
            serde_json::from_slice(&text).with_context(|| format!("{} is not a valid workflow", path.display()))?;
        let base = path.parent().unwrap_or(Path::new(""));
        for component in workflow.connectors.values_mut().filter(|c| !c.starts_with(crate::oci::SCHEME)) {
            *component = base.join(&*component).display().to_string();
        }
        workflow.check().with_context(|| format!("{} is not a valid workflow", path.display()))?;
        workflow.check_aliases().with_context(|| format!("{} is not a valid workflow", path.display()))?;
        Ok(workflow)
    }

    /// Most steps a workflow may have.
    pub const MAX_STEPS: usize = 1000;

    /// Longest a run may take: a day.
    pub const MAX_DURATION_MS: u64 = 24 * 3600 * 1000;

    /// How long a run of this workflow may take.
    pub fn max_duration(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.max_duration_ms.unwrap_or(Self::MAX_DURATION_MS))
    }

    /// Checks step ids, alias names and that every reference names an
    /// earlier step.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.steps.is_empty() {
            bail!("it has no steps");
        }
        if self.steps.len() > Self::MAX_STEPS {
            bail!("it has {} steps, over the limit of {}", self.steps.len(), Self::MAX_STEPS);
        }
        if let Some(alias) = self.connectors.keys().find(|alias| !is_alias(alias)) {
            bail!("connector alias `{alias}` must be 1 to 64 letters, digits, `_` or `-`");
        }
        if let Some(schema) = &self.inputs {
            inputs::check_schema(schema)?;
        }
        if let Some(ms) = self.max_duration_ms
            && !(1..=Self::MAX_DURATION_MS).contains(&ms)
        {
            bail!("max_duration_ms is {ms}; it must be 1 to {} (a day)", Self::MAX_DURATION_MS);
        }
        let declared = self.inputs.as_ref().map(inputs::declared);
        let mut earlier: Vec<&str> = Vec::new();
        for (i, step) in self.steps.iter().enumerate() {
            let at = || format!("step {} (`{}`)", i + 1, step.id);
            if !is_alias(&step.id) {
                bail!("{}: the id must be 1 to 64 letters, digits, `_` or `-`", at());
            }
            if earlier.contains(&step.id.as_str()) {
                bail!("{}: another step has the same id", at());
            }
            let in_loop = step.for_each.is_some();
            let loop_references = step.for_each.iter().flat_map(references);
            for (reference, of_item) in
                references(&step.input).into_iter().map(|r| (r, true)).chain(loop_references.map(|r| (r, false)))
            {
                let parsed = Reference::parse(&reference).with_context(at)?;
                if matches!(parsed.part, Part::Item | Part::Index) {
                    if !(in_loop && of_item) {
                        bail!(
                            "{}: `{{{{{reference}}}}}` reads a loop's item, and only a step's input in a for_each loop has one",
                            at()
                        );
                    }
                    continue;
                }
                match (&parsed.step, &declared) {
                    (None, None) => {
                        bail!("{}: `{{{{{reference}}}}}` reads the run's inputs, and the workflow declares none", at())
                    }
                    // Only the members the schema lists, when it lists them.
                    (None, Some(Some(names))) => {
                        if let Some(member) = parsed.first_key()
                            && !names.contains(&member)
                        {
                            bail!(
                                "{}: `{{{{{reference}}}}}` reads input `{member}`, which the workflow's inputs do not declare",
                                at()
                            );
                        }
                    }
                    (None, Some(None)) => {}
                    (Some(step), _) => {
                        if !earlier.contains(&step.as_str()) {
                            bail!(
                                "{}: `{{{{{reference}}}}}` refers to step `{step}`, which does not run before it",
                                at()
                            );
                        }
                    }
                }
            }
            if let Some(condition) = &step.condition {
                let parsed = condition::Condition::parse(condition).with_context(|| format!("{}: if", at()))?;
                if let Some(named) = parsed.named_steps().iter().find(|name| !earlier.contains(&name.as_str())) {
                    bail!(
                        "{}: if: the condition reads step `{}`, which does not run before it",
                        at(),
                        escape_untrusted(&named.chars().take(64).collect::<String>())
                    );
                }
            }
            step.on_error.check().with_context(at)?;
            if let Some(n) = step.max_concurrency
                && !(1..=Step::MAX_CONCURRENCY).contains(&n)
            {
                bail!("{}: max_concurrency is {n}; it must be 1 to {}", at(), Step::MAX_CONCURRENCY);
            }
            if let Some(n) = step.max_items
                && !(1..=Step::MAX_ITEMS).contains(&n)
            {
                bail!("{}: max_items is {n}; it must be 1 to {}", at(), Step::MAX_ITEMS);
            }
            if !in_loop && (step.max_concurrency.is_some() || step.max_items.is_some()) {
                bail!("{}: max_concurrency and max_items are for a for_each loop", at());
            }
            match &step.for_each {
                None | Some(Value::Array(_)) => {}
                Some(Value::String(text)) if references(&Value::String(text.clone())).len() == 1 => {}
                Some(_) => bail!("{}: for_each must be an array, or one `{{{{reference}}}}` to an array", at()),
            }
            earlier.push(&step.id);
        }
        Ok(())
    }

    /// The run's inputs from `given` (`None`: none given): checked against
    /// the workflow's `inputs` schema, with defaults filled in; or what is
    /// wrong with them, each member at fault named by its path.
    pub fn accept_inputs(&self, given: Option<&Value>) -> Result<Value, String> {
        inputs::accept(self.inputs.as_ref(), given)
    }

    /// Checks that every step's connector is an alias of `connectors`, as
    /// a workflow file for the CLI must have it.
    pub fn check_aliases(&self) -> anyhow::Result<()> {
        for (i, step) in self.steps.iter().enumerate() {
            if !self.connectors.contains_key(&step.connector) {
                bail!(
                    "step {} (`{}`): connector `{}` is not in the workflow's `connectors`",
                    i + 1,
                    step.id,
                    step.connector
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn check_rejects_forward_references_and_unknown_connectors() {
        let workflow: Workflow = serde_json::from_value(json!({
            "connectors": {"c": "x.wasm"},
            "steps": [
                {"id": "a", "connector": "c", "operation": "op", "input": {"x": "{{steps.b.output.Id}}"}},
                {"id": "b", "connector": "c", "operation": "op"}
            ]
        }))
        .unwrap();
        assert!(
            format!("{:#}", workflow.check().unwrap_err()).contains("refers to step `b`, which does not run before it")
        );
        let unknown: Workflow = serde_json::from_value(json!({
            "connectors": {}, "steps": [{"id": "a", "connector": "c", "operation": "op"}]
        }))
        .unwrap();
        assert!(unknown.check_aliases().unwrap_err().to_string().contains("connector `c` is not in the workflow"));
    }
}

/// Property tests (`PROPTEST_CASES=N` runs more): any JSON a client posts
/// as a workflow reads and checks, or is refused, without a panic.
#[cfg(test)]
mod properties {
    use super::*;
    use crate::test_support::json;
    use proptest::prelude::*;

    const WORKFLOW_WORDS: &[&str] = &[
        "name",
        "steps",
        "id",
        "connector",
        "operation",
        "input",
        "connectors",
        "authentication",
        "a",
        "b",
        "{{steps.a.output.Id}}",
        "{{steps.b.input}}",
        "{{steps.",
    ];

    proptest! {
        #[test]
        fn any_json_is_a_checked_workflow_or_refused(value in json(5, WORKFLOW_WORDS)) {
            if let Ok(workflow) = serde_json::from_value::<Workflow>(value) {
                let _ = workflow.check();
                let _ = workflow.check_aliases();
            }
        }
    }
}
