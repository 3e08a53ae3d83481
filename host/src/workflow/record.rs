//! What a server keeps of a run: the run record, and each step bounded in
//! depth and size, so a record always reads back and one run cannot fill
//! the store (a connector's output may be as deep as JSON parsers allow,
//! and as large as the output limit).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::workflow::{StepOutcome, StepReport};

/// A run of a workflow, as a server records it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    /// The workflow's name.
    pub workflow: String,
    pub status: RunStatus,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub steps: Vec<StepReport>,
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
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
        report.outcome = match &self.outcome {
            StepOutcome::Output(output) => StepOutcome::Output(bounded(output, max_bytes)),
            StepOutcome::Error(error) => StepOutcome::Error(bounded(error, max_bytes)),
        };
        report
    }
}

fn bounded(value: &Value, max_bytes: usize) -> Value {
    let value = shallow(value, 0);
    let size = serde_json::to_string(&value).map(|t| t.len()).unwrap_or(usize::MAX);
    if size <= max_bytes {
        return value;
    }
    json!({ "recorded": "cut: too large to record", "bytes": size })
}

fn shallow(value: &Value, depth: usize) -> Value {
    match value {
        Value::Array(_) | Value::Object(_) if depth >= MAX_RECORDED_DEPTH => {
            Value::String("cut: nested too deep to record".to_owned())
        }
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
    }
}
