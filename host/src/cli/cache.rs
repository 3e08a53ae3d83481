//! `connector-host cache`: the compiled-component cache and the store of
//! pulled OCI blobs.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::cli::{GlobalArgs, emit_json};
use connector_host::ArtifactCache;
use connector_host::BlobStore;

/// The compiled-component cache (~/.cache/connector-host/compiled) and the
/// store of pulled OCI blobs (~/.cache/connector-host/oci).
#[derive(Debug, Subcommand)]
pub(super) enum CacheCommand {
    /// Remove the entries used longest ago until the rest of each fit in
    /// --cache-max-bytes (or in --to BYTES; `--to 0` empties both).
    Prune {
        #[arg(long, value_name = "BYTES")]
        to: Option<u64>,
    },
}

pub(super) fn run(global: &GlobalArgs, command: CacheCommand) -> anyhow::Result<ExitCode> {
    let no_home = || "no cache directory: neither XDG_CACHE_HOME nor HOME is set";
    let compiled = ArtifactCache::default_dir().context(no_home())?;
    let blobs = BlobStore::default_dir().context(no_home())?;
    match command {
        CacheCommand::Prune { to } => {
            let bound = to.unwrap_or(global.cache_max_bytes);
            let compiled = ArtifactCache::new(&compiled).prune(bound)?;
            let oci = BlobStore::new(&blobs).prune(bound)?;
            emit_json(&serde_json::json!({ "compiled": compiled, "oci": oci }))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
