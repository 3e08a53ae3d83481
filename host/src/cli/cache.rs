//! `connector-host cache`: the compiled-component cache.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use crate::cli::{GlobalArgs, emit_json};
use crate::sandbox::ArtifactCache;

/// The compiled-component cache (~/.cache/connector-host/compiled).
#[derive(Debug, Subcommand)]
pub(super) enum CacheCommand {
    /// Remove the entries used longest ago until the rest fit in
    /// --cache-max-bytes (or in --to BYTES; `--to 0` empties the cache).
    Prune {
        #[arg(long, value_name = "BYTES")]
        to: Option<u64>,
    },
}

pub(super) fn run(global: &GlobalArgs, command: CacheCommand) -> anyhow::Result<ExitCode> {
    let dir = ArtifactCache::default_dir().context("no cache directory: neither XDG_CACHE_HOME nor HOME is set")?;
    match command {
        CacheCommand::Prune { to } => {
            let pruned = ArtifactCache::new(&dir).prune(to.unwrap_or(global.cache_max_bytes))?;
            emit_json(&pruned)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
