//! `connector-host describe`: what a connector offers, as a table or JSON.

use std::process::ExitCode;

use clap::Args;

use crate::cli::{GlobalArgs, emit, emit_json, offline_config};
use connector_host::escape::{escape_untrusted, truncate_chars};
use connector_host::{ComponentSource, ConnectorHost, LoadOptions, Manifest};

/// Show a connector's operations.
#[derive(Debug, Args)]
pub(super) struct DescribeArgs {
    /// The connector component: a path (.wasm) or oci://REGISTRY/REPOSITORY:TAG|@sha256:DIGEST.
    #[arg(value_parser = ComponentSource::parse)]
    component: ComponentSource,
    /// Print the manifest as JSON.
    #[arg(long)]
    json: bool,
}

pub(super) async fn run(global: &GlobalArgs, args: DescribeArgs) -> anyhow::Result<ExitCode> {
    let host = ConnectorHost::new(offline_config(global)?).await?;
    let connector = host.load_source(&args.component, &LoadOptions::default()).await?;
    let manifest = connector.manifest();
    if args.json {
        emit_json(manifest)?;
    } else {
        let mut text = format_manifest(manifest);
        if let Some(reference) = connector.reference() {
            text.push_str(&format!("from {reference}\n"));
        }
        emit(&text);
    }
    Ok(ExitCode::SUCCESS)
}

/// Longest title the table shows before cutting it.
const TITLE_CHARS: usize = 100;

/// The manifest as a table. Names are machine names of bounded length
/// (checked at load) and titles are cut, so the table grows linearly with
/// the manifest; all connector text is escaped.
fn format_manifest(manifest: &Manifest) -> String {
    let shown = |text: &str| escape_untrusted(&truncate_chars(text, TITLE_CHARS)).into_owned();
    let mut text = format!(
        "{} ({}) {}\nservices: {}\n{} operations:\n",
        shown(&manifest.title),
        manifest.name,
        shown(&manifest.version),
        manifest.services.join(", "),
        manifest.operations.len()
    );
    let width = manifest.operations.iter().map(|op| op.name.len()).max().unwrap_or(0);
    for op in &manifest.operations {
        text.push_str(&format!("  {:width$}  {}\n", op.name, shown(&op.title)));
    }
    text
}
