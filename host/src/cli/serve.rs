//! `connector-host serve`: the long-lived host over HTTP (see `server`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use crate::cli::mcp::McpToolArgs;
use crate::cli::{GlobalArgs, StoreArgs, new_host};
use connector_host::OciReference;
use connector_host::Runtime;
use connector_host::files::read_capped;
use connector_host::server::{self, ConnectionLimits, ServeOptions};

/// Serve the connectors of a directory over HTTP, loading them as they
/// come and go, and record every run.
#[derive(Debug, Args)]
pub(super) struct ServeArgs {
    /// Directory of connector components (`*.wasm`), watched for changes.
    #[arg(long, value_name = "DIR", required_unless_present_any = ["references", "queue"])]
    connectors: Option<PathBuf>,
    /// A connector in an OCI registry, oci://REGISTRY/REPOSITORY:TAG or
    /// @sha256:DIGEST (repeatable). A tag is resolved at start, and again
    /// only on SIGHUP or POST /v1/connectors/reload.
    #[arg(long = "connector", value_name = "OCI_REFERENCE")]
    references: Vec<OciReference>,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Where runs are recorded (default: $XDG_DATA_HOME/connector-host).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// What the run store keeps.
    #[command(flatten)]
    store: StoreArgs,
    /// File holding the API token every /v1 request must carry as
    /// `Authorization: Bearer <token>` (or set CONNECTOR_HOST_API_TOKEN).
    /// Without a token the server listens on loopback only.
    #[arg(long, value_name = "FILE")]
    api_token_file: Option<PathBuf>,
    /// Largest request body accepted, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024 * 1024,
          value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    max_body_bytes: u64,
    /// Connections open at once; more wait to be accepted (lowered to fit
    /// the open-file limit).
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Longest a client may take to send a request's head, and longest a
    /// kept-alive connection stays idle (`15s`, `1m`).
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
    header_timeout: Duration,
    /// Longest a client may take to send a request's body.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
    body_timeout: Duration,
    /// MCP sessions kept at once on /mcp; a new one past it closes the
    /// least recently used.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    max_mcp_sessions: u64,
    /// Put runs on this NATS JetStream queue (nats://HOST:PORT) for
    /// `worker` nodes to run, and keep run records there, where every node
    /// reads them.
    #[arg(long, value_name = "URL")]
    queue: Option<String>,
    /// Runs that may be in progress at once (with --queue: waiting or
    /// running on any worker); more are answered 503.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    max_runs: u64,
    /// What `/mcp` offers.
    #[command(flatten)]
    tools: McpToolArgs,
}

pub(super) async fn run(global: &GlobalArgs, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let api_token = api_token(args.api_token_file.as_deref())?;
    let data_dir = match args.data_dir {
        Some(dir) => dir,
        None => ServeOptions::default_data_dir().context("no data directory: pass --data-dir (HOME is not set)")?,
    };
    let runtime = Runtime::new(new_host(global).await?);
    let options = ServeOptions {
        listen: args.listen,
        connectors: args.connectors,
        references: args.references,
        data_dir,
        store: args.store.limits(),
        api_token,
        connections: ConnectionLimits {
            max_connections: args.max_connections as usize,
            header_timeout: positive(args.header_timeout, "--header-timeout")?,
            body_timeout: positive(args.body_timeout, "--body-timeout")?,
            max_body_bytes: args.max_body_bytes as usize,
            max_mcp_sessions: args.max_mcp_sessions as usize,
        },
        max_runs: args.max_runs as usize,
        mcp: args.tools.options(),
        queue: args.queue,
    };
    server::serve(runtime, options, super::signals::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// `duration` if it is above zero; `flag` names it in the error.
fn positive(duration: Duration, flag: &str) -> anyhow::Result<Duration> {
    if duration.is_zero() {
        bail!("{flag} must be above zero");
    }
    Ok(duration)
}

/// The token from `--api-token-file` or `CONNECTOR_HOST_API_TOKEN`.
fn api_token(file: Option<&std::path::Path>) -> anyhow::Result<Option<String>> {
    let token = match file {
        Some(file) => {
            let bytes = read_capped(file, 4096, "API token file", "a shorter token")?;
            Some(String::from_utf8(bytes).context("the API token file is not UTF-8")?.trim().to_owned())
        }
        None => std::env::var("CONNECTOR_HOST_API_TOKEN").ok().map(|t| t.trim().to_owned()),
    };
    if token.as_deref().is_some_and(str::is_empty) {
        bail!("the API token is empty");
    }
    Ok(token)
}
