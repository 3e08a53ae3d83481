//! `connector-host run`: run a workflow file and print each step.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;

use crate::cli::{GlobalArgs, check_loaded, emit, emit_json, new_host};
use connector_host::ComponentSource;
use connector_host::workflow::{self, StepReport, Workflow};

/// Run a workflow file and print each step's input and output.
#[derive(Debug, Args)]
pub(super) struct RunArgs {
    /// Path of the workflow (.json).
    workflow: PathBuf,
    /// Use this component (a path or an oci:// reference) for a connector
    /// alias instead of the workflow's.
    #[arg(long = "connector", value_name = "ALIAS=COMPONENT")]
    connectors: Vec<String>,
    /// Print the step reports as one JSON array.
    #[arg(long)]
    json: bool,
    /// Sign with this named authentication the steps that name none (it
    /// replaces the workflow's own default).
    #[arg(long, value_name = "NAME")]
    authentication: Option<String>,
    /// The run's inputs, for a workflow that declares them: a JSON object,
    /// or @FILE to read it from a file.
    #[arg(long, value_name = "JSON|@FILE")]
    input: Option<String>,
}

pub(super) async fn run(global: &GlobalArgs, args: RunArgs) -> anyhow::Result<ExitCode> {
    let mut workflow = Workflow::from_file(&args.workflow)?;
    if args.authentication.is_some() {
        workflow.authentication = args.authentication;
    }
    let given = args.input.as_deref().map(read_input).transpose()?;
    let inputs = workflow.accept_inputs(given.as_ref()).map_err(|e| anyhow::anyhow!("--input: {e}"))?;
    let overrides = parse_overrides(&args.connectors)?;
    let host = new_host(global).await?;
    let connectors = workflow::load_connectors(&host, &workflow, &overrides).await?;
    check_loaded(&host, connectors.values())?;
    workflow::check_authentications(&host, &workflow, &connectors)
        .map_err(|(step, e)| anyhow::anyhow!("step `{}`: {e}", step.id))?;
    let total = workflow.steps.len();
    let reports = workflow::run(&host, &workflow, &connectors, &inputs, |i: usize, report: &StepReport| {
        if !args.json {
            emit(&report.debug_view(i, total));
        }
    })
    .await;
    if args.json {
        emit_json(&reports)?;
    }
    let failed = reports.iter().any(StepReport::stopped_run);
    if failed {
        eprintln!("error: workflow stopped at step {} of {total}", reports.len());
    }
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Largest `--input @FILE` read.
const MAX_INPUT_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// `--input`: JSON text, or `@FILE`.
fn read_input(arg: &str) -> anyhow::Result<serde_json::Value> {
    let (text, origin) = match arg.strip_prefix('@') {
        Some(path) => {
            let text = connector_host::files::read_capped(
                std::path::Path::new(path),
                MAX_INPUT_FILE_BYTES,
                "input file",
                "smaller inputs",
            )?;
            (text, format!("--input {arg}"))
        }
        None => (arg.as_bytes().to_vec(), "--input".to_owned()),
    };
    serde_json::from_slice(&text).with_context(|| format!("{origin} is not JSON"))
}

fn parse_overrides(args: &[String]) -> anyhow::Result<BTreeMap<String, ComponentSource>> {
    let mut out = BTreeMap::new();
    for arg in args {
        let Some((alias, component)) = arg.split_once('=') else {
            bail!("--connector `{arg}` must be ALIAS=COMPONENT (a path or an oci:// reference)");
        };
        out.insert(
            alias.to_owned(),
            ComponentSource::parse(component).with_context(|| format!("--connector `{arg}`"))?,
        );
    }
    Ok(out)
}
