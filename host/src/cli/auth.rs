//! `connector-host auth`: the named authentications of the file given with
//! `--authentications`: list them (never a secret), or test one by asking
//! STS who it is.

use std::process::ExitCode;

use anyhow::bail;
use clap::Subcommand;

use connector_host::Authentications;

use crate::cli::{GlobalArgs, emit_json, new_host};

/// Named authentications.
#[derive(Debug, Subcommand)]
pub(super) enum AuthCommand {
    /// List the authentications: names, kinds, regions, shortened key ids.
    List,
    /// Sign STS GetCallerIdentity with an authentication and print who it is.
    Test {
        /// The authentication's name.
        name: String,
    },
}

pub(super) async fn run(global: &GlobalArgs, command: AuthCommand) -> anyhow::Result<ExitCode> {
    let Some(file) = &global.authentications else {
        bail!("name the authentications file with --authentications FILE");
    };
    match command {
        // Listing reads the file only: no secret is read, nothing resolved.
        AuthCommand::List => emit_json(&Authentications::from_file(file)?.summaries())?,
        AuthCommand::Test { name } => {
            let host = new_host(global).await?;
            emit_json(&host.caller_identity(Some(&name)).await?)?
        }
    }
    Ok(ExitCode::SUCCESS)
}
