//! Running a workflow: load its connectors, then each step in order, with
//! references resolved from the steps before it; stop at the first failure.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::Context;

use crate::runtime::{Connector, ConnectorHost};
use crate::workflow::reference::resolve;
use crate::workflow::{StepOutcome, StepReport, Workflow};

pub async fn run(
    host: &ConnectorHost,
    workflow: &Workflow,
    components: &BTreeMap<String, PathBuf>,
    mut on_step: impl FnMut(usize, &StepReport),
) -> anyhow::Result<Vec<StepReport>> {
    let mut loaded: HashMap<&str, Connector> = HashMap::new();
    for (alias, path) in &workflow.connectors {
        let path = components.get(alias).unwrap_or(path);
        let connector = host.load(path).await.with_context(|| format!("connector `{alias}`"))?;
        loaded.insert(alias.as_str(), connector);
    }
    let mut reports: Vec<StepReport> = Vec::new();
    for (i, step) in workflow.steps.iter().enumerate() {
        let connector = &loaded[step.connector.as_str()];
        let input = resolve(&step.input, &reports).with_context(|| format!("step {} (`{}`)", i + 1, step.id))?;
        let outcome = match host.invoke(connector, &step.operation, &input).await {
            Ok(output) => StepOutcome::Output(output),
            Err(error) => StepOutcome::Error(error.to_json()),
        };
        let report = StepReport {
            id: step.id.clone(),
            connector: connector.name().to_owned(),
            operation: step.operation.clone(),
            input,
            outcome,
        };
        on_step(i, &report);
        let failed = matches!(report.outcome, StepOutcome::Error(_));
        reports.push(report);
        if failed {
            break;
        }
    }
    Ok(reports)
}
