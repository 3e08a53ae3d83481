//! The `connector-host` command line: a thin shell over the library, one
//! file per subcommand. Its only public item is [`main_with_args`].

mod auth;
mod aws_model;
mod cache;
mod check;
mod describe;
mod invoke;
mod mcp;
mod new;
mod push;
mod run;
mod serve;
mod signals;
mod worker;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use connector_host::escape::{escape_untrusted, escape_untrusted_json};
use connector_host::workflow::StoreLimits;
use connector_host::{ArtifactCache, SandboxLimits};
use connector_host::{Authentications, CredentialsConfig};
use connector_host::{BlobStore, RegistryConfig};
use connector_host::{Connector, ConnectorHost, HostConfig};
use connector_host::{Endpoints, Grants, HttpLimits, RetryPolicy};

/// Loads WebAssembly connectors and runs their operations, sending their
/// AWS requests signed with the host's credentials.
#[derive(Debug, Parser)]
#[command(name = "connector-host", version)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// Options accepted anywhere on the command line.
#[derive(Debug, Args)]
struct GlobalArgs {
    /// Send every service's requests to this URL instead of AWS (like `aws
    /// --endpoint-url`). Without it, `AWS_ENDPOINT_URL_<SERVICE>` and
    /// `AWS_ENDPOINT_URL` apply.
    #[arg(long, global = true, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Send this service's requests (by signing name) to this URL, as
    /// SERVICE=URL (repeatable); it wins over --endpoint-url.
    #[arg(long = "endpoint", global = true, value_name = "SERVICE=URL")]
    endpoints: Vec<String>,
    /// AWS region (default: AWS_REGION or the profile's region).
    #[arg(long, global = true)]
    region: Option<String>,
    /// Named profile from the AWS config and credentials files.
    #[arg(long, global = true, conflicts_with = "no_sign_request")]
    profile: Option<String>,
    /// Load no AWS credentials and send requests unsigned: only operations
    /// a service allows without credentials succeed.
    #[arg(long, global = true)]
    no_sign_request: bool,
    /// TOML file of named authentications that `--authentication`, workflow
    /// steps and server calls can pick (see the README).
    #[arg(long, global = true, value_name = "FILE")]
    authentications: Option<PathBuf>,
    /// Send signed requests through this HTTP proxy. Proxy environment
    /// variables (HTTPS_PROXY, ...) are ignored.
    #[arg(long, global = true, value_name = "URL")]
    proxy: Option<String>,
    /// Log filter for stderr, e.g. `info` or `connector_host=debug`
    /// (overrides RUST_LOG).
    #[arg(long, global = true, value_name = "FILTER")]
    log: Option<String>,
    /// Narrow the services a connector may call, as
    /// CONNECTOR=SERVICE[,SERVICE...] (repeatable). CONNECTOR is a workflow
    /// alias, a component path, an oci:// reference, the component's
    /// sha256:<hex> digest (never the name a connector gives itself), or
    /// `*` for every connector no
    /// other grant selects. A connector no grant selects gets the services
    /// its manifest declares; `CONNECTOR=` grants none; a grant that
    /// selects no connector is an error.
    #[arg(long = "grant", global = true, value_name = "CONNECTOR=SERVICES")]
    grants: Vec<String>,
    /// Deadline of one invocation, in milliseconds, host calls included.
    #[arg(long, global = true, value_name = "MS", default_value_t = SandboxLimits::default().timeout.as_millis() as u64,
          value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    timeout_ms: u64,
    /// Linear memory a connector may grow to, in MiB (at most 4096).
    #[arg(long, global = true, value_name = "MIB", default_value_t = SandboxLimits::default().memory_bytes / MIB,
          value_parser = clap::value_parser!(u64).range(1..=4096))]
    memory_mib: u64,
    /// Largest input an invocation takes, in bytes (`--input` included).
    #[arg(long, global = true, value_name = "BYTES", default_value_t = SandboxLimits::default().max_input_bytes as u64,
          value_parser = clap::value_parser!(u64).range(1..=GIB))]
    max_input_bytes: u64,
    /// Largest output an invocation may return, in bytes.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = SandboxLimits::default().max_output_bytes as u64,
          value_parser = clap::value_parser!(u64).range(1..=GIB))]
    max_output_bytes: u64,
    /// Largest component file loaded, in bytes.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = SandboxLimits::default().max_component_bytes,
          value_parser = clap::value_parser!(u64).range(1..=4 * GIB))]
    max_component_bytes: u64,
    /// Invocations that may run at once (the instance pool's size); one
    /// more fails as `busy`.
    #[arg(long, global = true, value_name = "N", default_value_t = SandboxLimits::default().max_concurrent_invocations,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_concurrent: u32,
    /// Bytes the compiled-component cache may hold, and so may the store
    /// of pulled OCI blobs; past it, the entries used longest ago are
    /// removed.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = ArtifactCache::DEFAULT_MAX_BYTES)]
    cache_max_bytes: u64,
    /// Most signed-HTTP requests one invocation may send.
    #[arg(long, global = true, value_name = "N", default_value_t = HttpLimits::default().max_calls_per_invocation,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_calls: u32,
    /// Largest request body a connector may send, in bytes.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = HttpLimits::default().max_request_bytes as u64,
          value_parser = clap::value_parser!(u64).range(1..=GIB))]
    max_request_bytes: u64,
    /// Most headers one request of a connector may carry.
    #[arg(long, global = true, value_name = "N", default_value_t = HttpLimits::default().max_request_headers as u64,
          value_parser = clap::value_parser!(u64).range(0..=10_000))]
    max_request_headers: u64,
    /// Most bytes of header names and values one request may carry.
    #[arg(long, global = true, value_name = "BYTES",
          default_value_t = HttpLimits::default().max_request_header_bytes as u64,
          value_parser = clap::value_parser!(u64).range(0..=16 * MIB))]
    max_request_header_bytes: u64,
    /// Largest response body a connector may receive, in bytes.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = HttpLimits::default().max_response_bytes as u64,
          value_parser = clap::value_parser!(u64).range(1..=GIB))]
    max_response_bytes: u64,
    /// Time allowed for one HTTP request, in milliseconds.
    #[arg(long, global = true, value_name = "MS",
          default_value_t = HttpLimits::default().request_timeout.as_millis() as u64,
          value_parser = clap::value_parser!(u64).range(1..=86_400_000))]
    request_timeout_ms: u64,
    /// Reach this OCI registry (HOST or HOST:PORT) over plain HTTP
    /// (repeatable); registries on loopback always may be.
    #[arg(long = "insecure-registry", global = true, value_name = "HOST")]
    insecure_registries: Vec<String>,
    /// Attempts per request, the first included, for throttling, server
    /// errors and broken connections (1 disables retries).
    #[arg(long, global = true, value_name = "N", default_value_t = RetryPolicy::default().max_attempts,
          value_parser = clap::value_parser!(u32).range(1..=10))]
    max_attempts: u32,
}

#[derive(Debug, Subcommand)]
enum Command {
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    #[command(subcommand)]
    Cache(cache::CacheCommand),
    Check(check::CheckArgs),
    Describe(describe::DescribeArgs),
    Invoke(invoke::InvokeArgs),
    Mcp(mcp::McpArgs),
    New(new::NewArgs),
    Push(push::PushArgs),
    Run(run::RunArgs),
    Serve(serve::ServeArgs),
    Worker(worker::WorkerArgs),
}

/// Parses `args` and runs the command; what `main` does.
pub async fn main_with_args(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    // A server's log is its record of loads and runs; a command's is for
    // warnings.
    let default_filter =
        if matches!(cli.command, Command::Serve(_) | Command::Worker(_)) { "info" } else { "warn,connectors=info" };
    init_logging(cli.global.log.as_deref(), default_filter);
    let result = match cli.command {
        Command::Auth(command) => auth::run(&cli.global, command).await,
        Command::Cache(command) => cache::run(&cli.global, command),
        Command::Check(args) => check::run(&cli.global, args).await,
        Command::Describe(args) => describe::run(&cli.global, args).await,
        Command::Invoke(args) => invoke::run(&cli.global, args).await,
        Command::Mcp(args) => mcp::run(&cli.global, args).await,
        Command::New(args) => new::run(args),
        Command::Push(args) => push::run(&cli.global, args).await,
        Command::Run(args) => run::run(&cli.global, args).await,
        Command::Serve(args) => serve::run(&cli.global, args).await,
        Command::Worker(args) => worker::run(&cli.global, args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // Errors may quote a connector (its trap message, its name).
            eprintln!("error: {}", escape_untrusted(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}

/// What a run store keeps: `serve`'s own, or the queue's that workers
/// record into.
#[derive(Debug, Args)]
struct StoreArgs {
    /// Runs kept; the oldest finished ones beyond this are dropped.
    #[arg(long, value_name = "N", default_value_t = StoreLimits::default().keep_runs as u64,
          value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    keep_runs: u64,
    /// Bytes of step records one run may keep; steps past it are recorded
    /// with notes in place of their input and output.
    #[arg(long, value_name = "BYTES", default_value_t = StoreLimits::default().max_run_bytes as u64,
          value_parser = clap::value_parser!(u64).range(4096..=4 * GIB))]
    max_run_bytes: u64,
    /// Bytes of step records kept in all; the oldest finished runs beyond
    /// this are dropped.
    #[arg(long, value_name = "BYTES", default_value_t = StoreLimits::default().max_store_bytes,
          value_parser = clap::value_parser!(u64).range(1 << 20..))]
    max_store_bytes: u64,
}

impl StoreArgs {
    fn limits(&self) -> StoreLimits {
        StoreLimits {
            keep_runs: self.keep_runs as usize,
            max_run_bytes: bytes(self.max_run_bytes),
            max_store_bytes: self.max_store_bytes,
        }
    }
}

/// Reads a size from an argument clap already bounded.
fn bytes(value: u64) -> usize {
    usize::try_from(value).unwrap_or(usize::MAX)
}

/// The host configuration the global options describe, reading the AWS
/// SDK's environment variables for endpoints.
fn host_config(global: &GlobalArgs) -> anyhow::Result<HostConfig> {
    let mut endpoints = Endpoints::from_env(global.endpoint_url.as_deref(), std::env::vars())?;
    for arg in &global.endpoints {
        let Some((service, url)) = arg.split_once('=') else {
            bail!("--endpoint `{arg}` must be SERVICE=URL (a signing name, like iam=http://localhost:5000)");
        };
        endpoints.set_service(service, url).with_context(|| format!("--endpoint `{arg}`"))?;
    }
    let credentials = match (&global.profile, global.no_sign_request) {
        (_, true) => CredentialsConfig::None,
        (Some(profile), false) => CredentialsConfig::Profile(profile.clone()),
        (None, false) => CredentialsConfig::DefaultChain,
    };
    let grants = Grants::parse(&global.grants).map_err(|e| anyhow::anyhow!("--{e:#}"))?;
    let authentications = match &global.authentications {
        Some(file) => Authentications::from_file(file)?,
        None => Authentications::default(),
    };
    let memory_bytes = global.memory_mib.checked_mul(MIB).filter(|&b| b <= SandboxLimits::MAX_MEMORY_BYTES);
    let Some(memory_bytes) = memory_bytes else {
        bail!("--memory-mib {} is over the 4096 MiB a WebAssembly guest can address", global.memory_mib);
    };
    Ok(HostConfig {
        region: global.region.clone(),
        credentials,
        endpoints,
        grants,
        http: HttpLimits {
            max_request_bytes: bytes(global.max_request_bytes),
            max_request_headers: bytes(global.max_request_headers),
            max_request_header_bytes: bytes(global.max_request_header_bytes),
            max_calls_per_invocation: global.max_calls,
            max_response_bytes: bytes(global.max_response_bytes),
            request_timeout: Duration::from_millis(global.request_timeout_ms),
        },
        retry: RetryPolicy { max_attempts: global.max_attempts, ..RetryPolicy::default() },
        sandbox: SandboxLimits {
            memory_bytes,
            timeout: Duration::from_millis(global.timeout_ms),
            max_input_bytes: bytes(global.max_input_bytes),
            max_output_bytes: bytes(global.max_output_bytes),
            max_component_bytes: global.max_component_bytes,
            max_concurrent_invocations: global.max_concurrent,
            ..SandboxLimits::default()
        },
        cache_dir: ArtifactCache::default_dir(),
        cache_max_bytes: Some(global.cache_max_bytes),
        proxy: global.proxy.clone(),
        authentications,
        endpoint_url: global.endpoint_url.clone(),
        registries: RegistryConfig {
            store_dir: BlobStore::default_dir(),
            store_max_bytes: Some(global.cache_max_bytes),
            insecure_registries: global.insecure_registries.clone(),
        },
    })
}

/// The host configuration of a command that reads components but calls
/// no AWS service (describe, check, push): no credentials, and a fixed
/// region, so that nothing probes the environment or the instance
/// metadata service.
fn offline_config(global: &GlobalArgs) -> anyhow::Result<HostConfig> {
    let mut config = host_config(global)?;
    config.credentials = CredentialsConfig::None;
    config.region.get_or_insert_with(|| "us-east-1".to_owned());
    Ok(config)
}

/// A host for `global`.
async fn new_host(global: &GlobalArgs) -> anyhow::Result<ConnectorHost> {
    ConnectorHost::new(host_config(global)?).await
}

/// Fails when a `--grant` selected none of the connectors loaded: a typo
/// would otherwise leave the connector it meant unrestricted. Warns about
/// endpoint variables none of them use.
fn check_loaded<'a>(host: &ConnectorHost, connectors: impl IntoIterator<Item = &'a Connector>) -> anyhow::Result<()> {
    host.warn_unused_endpoint_variables(connectors);
    let unused: Vec<String> = host.unused_grants().iter().map(|rule| rule.selector.to_string()).collect();
    if !unused.is_empty() {
        bail!("--grant for {} selects no loaded connector", unused.join(", "));
    }
    Ok(())
}

/// Writes `value` as indented JSON to stdout, with characters that could
/// act on a terminal escaped (the JSON means the same).
fn emit_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    emit(&escape_untrusted_json(&serde_json::to_string_pretty(value)?));
    Ok(())
}

/// Writes `text` and a newline to stdout; a closed pipe (`| head`) is not
/// an error worth a panic.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

fn init_logging(filter: Option<&str>, default: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = match filter {
        Some(f) => EnvFilter::new(f),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default)),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
