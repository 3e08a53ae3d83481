//! What a server keeps of a run: the run record, and each step bounded in
//! depth and size, so a record always reads back and one run cannot fill
//! the store (a connector's output may be as deep as JSON parsers allow,
//! and as large as the output limit).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::workflow::{MAY_HAVE_TAKEN_EFFECT, StepOutcome, StepReport};

/// A run of a workflow, as a server records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    /// The workflow's name.
    pub workflow: String,
    /// The version of the stored workflow the run is of (none for a
    /// workflow given whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow_version: Option<u64>,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The inputs the run was given, with the members the workflow's input
    /// schema marks `writeOnly` shown as `"***"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Value>,
    pub steps: Vec<StepReport>,
    /// Why the run failed when no step says so (a worker could not run
    /// it), or, while it waits to be tried again, why the last try ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// How many times a queue handed the run to a worker (absent for runs
    /// a server ran itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<u64>,
    /// What the tries of each step came to so far, by step index. Kept
    /// whatever happens to the recorded steps, so a step that runs again
    /// (after its worker stopped, after a failure worth retrying, or to
    /// recover an output the record masks) is numbered on from every try
    /// before it and knows if one of them may have taken effect. The
    /// queue's store keeps them; they are not part of the run as the API
    /// shows it (each step says its attempts).
    #[serde(skip)]
    pub tries: Vec<StepTries>,
}

/// What the tries of one step came to so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepTries {
    /// How many have started.
    pub started: u32,
    /// Whether one may have taken effect: it started and its end was never
    /// recorded, it succeeded, or it failed after sending a request its
    /// service may have carried out.
    pub may_have_taken_effect: bool,
}

/// Which try of a step is about to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepAttempt {
    /// From 1.
    pub number: u32,
    /// Whether an earlier try may already have done what this one does.
    pub earlier_effect: bool,
}

impl StepAttempt {
    /// The first try of a step.
    pub const FIRST: StepAttempt = StepAttempt { number: 1, earlier_effect: false };
}

impl RunRecord {
    /// The next try of step `index`, recorded here as started: until its
    /// end is recorded ([`end_try`](Self::end_try)), it may have taken
    /// effect.
    pub(crate) fn start_try(&mut self, index: usize) -> StepAttempt {
        if self.tries.len() <= index {
            self.tries.resize(index + 1, StepTries::default());
        }
        let tries = &mut self.tries[index];
        let attempt =
            StepAttempt { number: tries.started.saturating_add(1), earlier_effect: tries.may_have_taken_effect };
        *tries = StepTries { started: attempt.number, may_have_taken_effect: true };
        attempt
    }

    /// Records how `attempt`, the try of step `index` that started last,
    /// ended: whether it may have taken effect.
    pub(crate) fn end_try(&mut self, index: usize, attempt: StepAttempt, may_have_taken_effect: bool) {
        if let Some(tries) = self.tries.get_mut(index) {
            tries.may_have_taken_effect = attempt.earlier_effect || may_have_taken_effect;
        }
    }
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Waiting in a queue for a worker.
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl RunStatus {
    /// Whether the run has ended, one way or the other.
    pub fn is_finished(self) -> bool {
        matches!(self, RunStatus::Succeeded | RunStatus::Failed)
    }

    /// The status `text` names ([`as_str`](Self::as_str)); anything else
    /// reads as failed.
    pub fn parse(text: &str) -> RunStatus {
        match text {
            "queued" => RunStatus::Queued,
            "running" => RunStatus::Running,
            "succeeded" => RunStatus::Succeeded,
            _ => RunStatus::Failed,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
        }
    }
}

/// Deepest nesting a recorded value keeps; deeper parts are replaced by a
/// note (JSON readers refuse nesting past 128 levels, and a record nests a
/// step's values a few levels down).
const MAX_RECORDED_DEPTH: usize = 64;

impl StepReport {
    /// This report as a record keeps it: input, output and error each cut
    /// to at most `max_bytes` of JSON and [`MAX_RECORDED_DEPTH`] levels.
    pub fn bounded(&self, max_bytes: usize) -> StepReport {
        let mut report = self.clone();
        report.input = bounded(&self.input, max_bytes);
        report.outcome = self.outcome.map(|value| bounded(value, max_bytes));
        // The errors of earlier tries are the small print: a few KiB each.
        let retried_bytes = max_bytes.min(MAX_RETRIED_ERROR_BYTES);
        report.retried_errors = self.retried_errors.iter().map(|error| bounded(error, retried_bytes)).collect();
        for iteration in &mut report.iterations {
            iteration.input = bounded(&iteration.input, max_bytes);
            iteration.outcome = iteration.outcome.map(|value| bounded(value, max_bytes));
            iteration.retried_errors =
                iteration.retried_errors.iter().map(|error| bounded(error, retried_bytes)).collect();
        }
        // A loop's iterations together stay within a few values' worth:
        // past it they keep how they ended, not their values, and past
        // that the last ones go.
        let limit = max_bytes.saturating_mul(3);
        if !report.iterations.is_empty() && report.recorded_bytes() > limit {
            let note = json!({ "recorded": LOOP_TOO_LARGE });
            for iteration in &mut report.iterations {
                iteration.input = note.clone();
                iteration.outcome = match &iteration.outcome {
                    StepOutcome::Output(_) => StepOutcome::Output(note.clone()),
                    StepOutcome::Error(error) => {
                        StepOutcome::Error(json!({"kind": error.get("kind"), "message": LOOP_TOO_LARGE}))
                    }
                    StepOutcome::Skipped(_) => StepOutcome::Skipped(note.clone()),
                };
                iteration.retried_errors.clear();
            }
            let mut size = report.recorded_bytes();
            while size > limit {
                let Some(last) = report.iterations.pop() else { break };
                size = size.saturating_sub(serde_json::to_string(&last).map_or(0, |text| text.len() + 1));
            }
        }
        report
    }
}

impl StepReport {
    /// Whether what the step came to was kept whole, so a resumed run can
    /// go on after it: an output (or the error of a step the run went on
    /// past) cut to record it cannot stand in for running it again, nor
    /// can an error that stopped the run.
    pub fn output_recorded_in_full(&self) -> bool {
        match &self.outcome {
            StepOutcome::Output(output) => !was_cut(output),
            StepOutcome::Error(error) => self.continued && !was_cut(error),
            StepOutcome::Skipped(_) => true,
        }
    }
}

const TOO_LARGE: &str = "cut: too large to record";
const TOO_DEEP: &str = "cut: nested too deep to record";
const RUN_FULL: &str = "cut: the run's record is full";
const LOOP_TOO_LARGE: &str = "cut: the loop's iterations are too large to record";

/// Most bytes of JSON kept of each error of a step's earlier tries.
const MAX_RETRIED_ERROR_BYTES: usize = 4096;

impl StepReport {
    /// This report with notes in place of its input and its output or
    /// error: what a record keeps of a step once its run has recorded
    /// `run_bytes` bytes, its bound.
    pub(crate) fn cut_for_room(&self, run_bytes: usize) -> StepReport {
        let note = json!({ "recorded": RUN_FULL, "run_bytes": run_bytes });
        let mut report = self.clone();
        report.input = note.clone();
        // Each earlier try's error kept as its kind alone; of iterations,
        // how many there were.
        report.retried_errors = self.retried_errors.iter().map(|error| json!({"kind": error.get("kind")})).collect();
        report.iterations.clear();
        report.outcome = match &self.outcome {
            StepOutcome::Output(_) => StepOutcome::Output(note),
            StepOutcome::Skipped(_) => StepOutcome::Skipped(note),
            StepOutcome::Error(error) => {
                // The error's kind stays, and whether it may have taken
                // effect: they say how the step ended.
                let mut cut = json!({ "message": RUN_FULL, "recorded": RUN_FULL });
                for kept in ["kind", MAY_HAVE_TAKEN_EFFECT] {
                    if let Some(value) = error.get(kept) {
                        cut[kept] = value.clone();
                    }
                }
                StepOutcome::Error(cut)
            }
        };
        report
    }

    /// Bytes of JSON this report takes in a record.
    pub(crate) fn recorded_bytes(&self) -> usize {
        serde_json::to_string(self).map_or(0, |text| text.len())
    }
}

/// Whether `value` holds a note [`bounded`] or
/// [`cut_for_room`](StepReport::cut_for_room) leaves in place of what it
/// cut (an output that merely looks like one is run again, which is safe).
fn was_cut(value: &Value) -> bool {
    match value {
        Value::String(text) => text == TOO_DEEP,
        Value::Array(items) => items.iter().any(was_cut),
        Value::Object(members) => {
            matches!(members.get("recorded").and_then(Value::as_str), Some(TOO_LARGE | RUN_FULL))
                || members.values().any(was_cut)
        }
        _ => false,
    }
}

/// `value` as a record keeps it: at most `max_bytes` of JSON and
/// [`MAX_RECORDED_DEPTH`] levels, a note in place of what was cut.
pub(crate) fn bounded(value: &Value, max_bytes: usize) -> Value {
    let value = shallow(value, 0);
    let size = serde_json::to_string(&value).map(|t| t.len()).unwrap_or(usize::MAX);
    if size <= max_bytes {
        return value;
    }
    json!({ "recorded": TOO_LARGE, "bytes": size })
}

fn shallow(value: &Value, depth: usize) -> Value {
    match value {
        Value::Array(_) | Value::Object(_) if depth >= MAX_RECORDED_DEPTH => Value::String(TOO_DEEP.to_owned()),
        Value::Array(items) => Value::Array(items.iter().map(|v| shallow(v, depth + 1)).collect()),
        Value::Object(members) => {
            Value::Object(members.iter().map(|(k, v)| (k.clone(), shallow(v, depth + 1))).collect())
        }
        other => other.clone(),
    }
}

/// `time` as RFC 3339 with milliseconds, UTC.
pub fn timestamp(time: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_values_are_bounded_in_depth_and_size() {
        let mut deep = json!("bottom");
        for _ in 0..200 {
            deep = json!([deep]);
        }
        let cut = bounded(&deep, 1 << 20);
        let text = serde_json::to_string(&json!({"a": {"b": cut}})).unwrap();
        assert!(serde_json::from_str::<Value>(&text).is_ok(), "reads back");
        assert!(text.contains("nested too deep"));
        let large = json!({"blob": "x".repeat(10_000)});
        assert_eq!(bounded(&large, 1000), json!({"recorded": "cut: too large to record", "bytes": 10_011}));
        assert_eq!(bounded(&json!({"small": 1}), 1000), json!({"small": 1}));
        assert!(was_cut(&cut) && was_cut(&bounded(&large, 1000)));
        assert!(!was_cut(&json!({"small": ["cut", {"recorded": 1}]})));
    }

    #[test]
    fn a_step_cut_for_room_keeps_how_it_ended_and_is_run_again() {
        let report = StepReport::example("a", json!({"big": "x".repeat(1000)}), json!({"big": "y".repeat(1000)}));
        let cut = report.cut_for_room(4096);
        assert!(cut.recorded_bytes() < 500);
        assert!(!cut.output_recorded_in_full(), "a resume runs it again");
        let mut failed = report.clone();
        failed.outcome = StepOutcome::Error(json!({"kind": "service", "message": "m".repeat(1000)}));
        failed.outcome = failed.outcome.with_effect(crate::capability::CarriedOut::Possibly);
        let StepOutcome::Error(error) = failed.cut_for_room(4096).outcome else { panic!("an error stays one") };
        assert_eq!(error["kind"], "service");
        assert!(failed.cut_for_room(4096).outcome.may_have_taken_effect());
        failed.continued = true;
        assert!(failed.output_recorded_in_full(), "a continued error kept whole stands");
        assert!(!failed.cut_for_room(4096).output_recorded_in_full(), "one cut for room is run again");
    }
}
