//! `connector-host push`: publish a component to an OCI registry in the
//! wasm artifact layout, after checking that it loads as a connector.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::cli::{GlobalArgs, emit, offline_config};
use connector_host::OciReference;
use connector_host::files::read_capped;
use connector_host::{ConnectorHost, LoadOptions};

/// Publish a connector component to an OCI registry; prints the pinned
/// reference (its manifest digest).
#[derive(Debug, Args)]
pub(super) struct PushArgs {
    /// Path of the connector component (.wasm).
    component: PathBuf,
    /// Where to publish it: oci://REGISTRY/REPOSITORY:TAG.
    reference: OciReference,
}

pub(super) async fn run(global: &GlobalArgs, args: PushArgs) -> anyhow::Result<ExitCode> {
    let host = ConnectorHost::new(offline_config(global)?).await?;
    let bytes = read_capped(&args.component, global.max_component_bytes, "component", "--max-component-bytes")?;
    // What cannot load as a connector is not worth publishing.
    host.load_bytes(bytes.clone(), &LoadOptions::default())
        .await
        .with_context(|| format!("{} does not load as a connector", args.component.display()))?;
    let title = args.component.file_name().and_then(|n| n.to_str()).unwrap_or("connector.wasm");
    let pinned = host.registries().push(&bytes, title, &args.reference).await?;
    tracing::info!(reference = %args.reference, pinned = %pinned, "pushed");
    emit(&pinned.to_string());
    Ok(ExitCode::SUCCESS)
}
