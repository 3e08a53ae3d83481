//! `connector-host check`: what a connector author runs before shipping a
//! component: its contract version, size and memory, and every problem of
//! its manifest. Exit 0 when clean, 1 with every problem listed.

use std::process::ExitCode;

use clap::Args;

use crate::cli::{GlobalArgs, emit, emit_json, offline_config};
use connector_host::SandboxLimits;
use connector_host::escape::escape_untrusted;
use connector_host::{ComponentSource, ConnectorHost};

/// Check a connector component: contract, manifest, schemas, size, memory.
#[derive(Debug, Args)]
pub(super) struct CheckArgs {
    /// The connector component: a path (.wasm) or oci://REGISTRY/REPOSITORY:TAG|@sha256:DIGEST.
    #[arg(value_parser = ComponentSource::parse)]
    component: ComponentSource,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

pub(super) async fn run(global: &GlobalArgs, args: CheckArgs) -> anyhow::Result<ExitCode> {
    // Checking needs room for any component's memory: the configured cap is
    // compared, not enforced.
    let mut config = offline_config(global)?;
    let configured_memory = config.sandbox.memory_bytes;
    config.sandbox = SandboxLimits {
        memory_bytes: SandboxLimits::MAX_MEMORY_BYTES,
        max_concurrent_invocations: 2,
        ..config.sandbox
    };
    let host = ConnectorHost::new(config).await?;
    let mut inspection = host.inspect_source(&args.component).await?;
    let mib = |bytes: u64| bytes.div_ceil(1 << 20);
    if inspection.initial_memory_bytes > configured_memory {
        inspection.problems.push(format!(
            "it starts with {} MiB of memory, over --memory-mib {}: raise --memory-mib to {} to run it",
            mib(inspection.initial_memory_bytes),
            mib(configured_memory),
            mib(inspection.initial_memory_bytes)
        ));
    }
    if args.json {
        emit_json(&inspection)?;
    } else {
        let manifest = &inspection.manifest;
        let mut report = format!(
            "{} {} ({})\ncontract: {}\nsize: {} bytes\ninitial memory: {} MiB\nservices: {}\noperations: {}\n",
            manifest["name"].as_str().unwrap_or_default(),
            manifest["version"].as_str().unwrap_or_default(),
            inspection.digest,
            inspection.contract,
            inspection.size_bytes,
            mib(inspection.initial_memory_bytes),
            manifest["services"]
                .as_array()
                .map(|s| s.iter().filter_map(|v| v.as_str()).collect::<Vec<_>>().join(", "))
                .unwrap_or_default(),
            manifest["operations"].as_array().map_or(0, Vec::len),
        );
        if inspection.problems.is_empty() {
            report.push_str("no problems found");
        } else {
            report.push_str(&format!("{} problems:\n", inspection.problems.len()));
            for problem in &inspection.problems {
                report.push_str(&format!("  - {problem}\n"));
            }
        }
        // Each line is escaped; the newlines are the report's own.
        let lines: Vec<String> = report.trim_end().lines().map(|l| escape_untrusted(l).into_owned()).collect();
        emit(&lines.join("\n"));
    }
    Ok(if inspection.problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
