//! `connector-host mcp`: the connectors of a directory as MCP tools over
//! stdin and stdout, for an agent that starts the host itself. Stdout is
//! the protocol's: everything else goes to stderr.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use crate::cli::{GlobalArgs, new_host};
use connector_host::server::mcp::{McpOptions, McpServer, serve_stdio};
use connector_host::{DirectoryWatch, Runtime};

/// Serve a directory's connectors as MCP tools over stdio.
#[derive(Debug, Args)]
pub(super) struct McpArgs {
    /// Directory of connector components (`*.wasm`), watched for changes.
    #[arg(long, value_name = "DIR")]
    connectors: PathBuf,
    #[command(flatten)]
    tools: McpToolArgs,
}

/// What the MCP tools offer, for `mcp` and `serve`.
#[derive(Debug, Args)]
pub(super) struct McpToolArgs {
    /// Offer only the tools whose names (`<connector>__<operation>`) match
    /// this pattern (`*` and `?`; repeatable), e.g. `aws-cognito__list_*`.
    #[arg(long = "tools", value_name = "GLOB")]
    patterns: Vec<String>,
    /// Sign the tools' calls with this named authentication.
    #[arg(long = "tool-authentication", value_name = "NAME")]
    authentication: Option<String>,
}

impl McpToolArgs {
    pub(super) fn options(&self) -> McpOptions {
        McpOptions { tools: self.patterns.clone(), authentication: self.authentication.clone() }
    }
}

pub(super) async fn run(global: &GlobalArgs, args: McpArgs) -> anyhow::Result<ExitCode> {
    let host = new_host(global).await?;
    if let Some(name) = &args.tools.authentication {
        anyhow::ensure!(host.authentications().get(name).is_some(), "there is no authentication called `{name}`");
    }
    let runtime = Runtime::new(host);
    let watch = DirectoryWatch::start(runtime.clone(), &args.connectors)?;
    // List complete tools from the first request on.
    while !watch.is_ready() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    serve_stdio(McpServer::new(runtime, args.tools.options())).await?;
    drop(watch);
    Ok(ExitCode::SUCCESS)
}
