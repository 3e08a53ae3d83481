//! Running a workflow: load its connectors under their aliases, then run
//! each step in order, with references resolved from the steps before it;
//! stop at the first failure.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;

use crate::runtime::{Connector, ConnectorHost, LoadOptions};
use crate::workflow::reference::resolve;
use crate::workflow::{StepOutcome, StepReport, Workflow};

/// Loads the workflow's connectors, each under its alias (so grants can
/// select it by that alias); `overrides` replaces component paths by alias.
pub async fn load_connectors(
    host: &ConnectorHost,
    workflow: &Workflow,
    overrides: &BTreeMap<String, PathBuf>,
) -> anyhow::Result<BTreeMap<String, Connector>> {
    let mut loaded = BTreeMap::new();
    for (alias, path) in &workflow.connectors {
        let path = overrides.get(alias).unwrap_or(path);
        let options = LoadOptions { alias: Some(alias.clone()), ..LoadOptions::default() };
        let connector = host.load_with(path, &options).await.with_context(|| format!("connector `{alias}`"))?;
        loaded.insert(alias.clone(), connector);
    }
    Ok(loaded)
}

/// Runs `workflow`'s steps with `connectors` (by alias, from
/// [`load_connectors`]), calling `on_step` after each. Stops at the first
/// failing step, whose report carries the error.
pub async fn run(
    host: &ConnectorHost,
    workflow: &Workflow,
    connectors: &BTreeMap<String, Connector>,
    mut on_step: impl FnMut(usize, &StepReport),
) -> anyhow::Result<Vec<StepReport>> {
    let mut reports: Vec<StepReport> = Vec::new();
    for (i, step) in workflow.steps.iter().enumerate() {
        let at = || format!("step {} (`{}`)", i + 1, step.id);
        let connector = connectors
            .get(&step.connector)
            .with_context(|| format!("{}: connector `{}` is not loaded", at(), step.connector))?;
        let input = resolve(&step.input, &reports, host.max_input_bytes()).with_context(at)?;
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
