//! The `connector-host` command line: describe a connector, invoke one
//! operation, or run a workflow.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};

use std::time::Duration;

use crate::capability::{Endpoints, Grants, HttpLimits, RetryPolicy};
use crate::identity::CredentialsConfig;
use crate::runtime::{ConnectorHost, HostConfig};
use crate::sandbox::{ArtifactCache, SandboxLimits};
use crate::workflow::{self, StepOutcome, StepReport, Workflow};

/// Loads WebAssembly connectors and runs their operations, sending their
/// AWS requests signed with the host's credentials.
#[derive(Debug, Parser)]
#[command(name = "connector-host", version)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted anywhere on the command line.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Send every service's requests to this URL instead of AWS (like `aws
    /// --endpoint-url`). Without it, `AWS_ENDPOINT_URL_<SERVICE>` and
    /// `AWS_ENDPOINT_URL` apply.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// AWS region (default: AWS_REGION or the profile's region).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Named profile from the AWS config and credentials files.
    #[arg(long, global = true, conflicts_with = "no_sign_request")]
    pub profile: Option<String>,
    /// Load no AWS credentials and send requests unsigned: only operations
    /// that need no credentials (sign_up, initiate_auth, ...) succeed.
    #[arg(long, global = true)]
    pub no_sign_request: bool,
    /// Log filter for stderr, e.g. `info` or `connector_host=debug`
    /// (overrides RUST_LOG).
    #[arg(long, global = true, value_name = "FILTER")]
    pub log: Option<String>,
    /// Services a connector may call, as CONNECTOR=SERVICE[,SERVICE...]
    /// (repeatable). A connector without a --grant gets the services its
    /// manifest declares; `CONNECTOR=` grants it none.
    #[arg(long = "grant", global = true, value_name = "CONNECTOR=SERVICES")]
    pub grants: Vec<String>,
    /// Deadline of one invocation, in milliseconds, host calls included.
    #[arg(long, global = true, value_name = "MS", default_value_t = SandboxLimits::default().timeout.as_millis() as u64)]
    pub timeout_ms: u64,
    /// Linear memory a connector may grow to, in MiB.
    #[arg(long, global = true, value_name = "MIB", default_value_t = SandboxLimits::default().memory_bytes >> 20)]
    pub memory_mib: u64,
    /// Largest output an invocation may return, in bytes.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = SandboxLimits::default().max_output_bytes)]
    pub max_output_bytes: usize,
    /// Most signed-HTTP requests one invocation may send.
    #[arg(long, global = true, value_name = "N", default_value_t = HttpLimits::default().max_calls_per_invocation)]
    pub max_calls: u32,
    /// Largest response body a connector may receive, in bytes.
    #[arg(long, global = true, value_name = "BYTES", default_value_t = HttpLimits::default().max_response_bytes)]
    pub max_response_bytes: usize,
    /// Time allowed for one HTTP request, in milliseconds.
    #[arg(long, global = true, value_name = "MS",
          default_value_t = HttpLimits::default().request_timeout.as_millis() as u64)]
    pub request_timeout_ms: u64,
    /// Attempts per request, the first included, for throttling, server
    /// errors and broken connections (1 disables retries).
    #[arg(long, global = true, value_name = "N", default_value_t = RetryPolicy::default().max_attempts,
          value_parser = clap::value_parser!(u32).range(1..=10))]
    pub max_attempts: u32,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show a connector's operations.
    Describe {
        /// Path of the connector component (.wasm).
        component: PathBuf,
        /// Print the manifest as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run one operation and print its output JSON.
    Invoke {
        /// Path of the connector component (.wasm).
        component: PathBuf,
        /// Operation name, as `describe` lists it.
        operation: String,
        /// Input JSON, `@FILE` to read it from a file, or `-` for stdin.
        #[arg(long, short, default_value = "{}", value_name = "JSON|@FILE|-")]
        input: String,
    },
    /// Run a workflow file and print each step's input and output.
    Run {
        /// Path of the workflow (.json).
        workflow: PathBuf,
        /// Use this component for a connector alias instead of the
        /// workflow's path.
        #[arg(long = "connector", value_name = "ALIAS=PATH")]
        connectors: Vec<String>,
        /// Print the step reports as one JSON array.
        #[arg(long)]
        json: bool,
    },
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
    init_logging(cli.global.log.as_deref());
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The host configuration the global options describe, reading the AWS
/// SDK's environment variables for endpoints.
pub fn host_config(global: &GlobalArgs) -> anyhow::Result<HostConfig> {
    let endpoints = Endpoints::from_env(global.endpoint_url.as_deref(), |name| std::env::var(name).ok())?;
    let credentials = match (&global.profile, global.no_sign_request) {
        (_, true) => CredentialsConfig::None,
        (Some(profile), false) => CredentialsConfig::Profile(profile.clone()),
        (None, false) => CredentialsConfig::DefaultChain,
    };
    let mut grants = Grants::new();
    for arg in &global.grants {
        let Some((connector, services)) = arg.split_once('=') else {
            bail!("--grant `{arg}` must be CONNECTOR=SERVICE[,SERVICE...]");
        };
        let services = services.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        grants.entry(connector.to_owned()).or_default().extend(services);
    }
    if global.memory_mib == 0 || global.timeout_ms == 0 {
        bail!("--memory-mib and --timeout-ms must be above 0");
    }
    Ok(HostConfig {
        region: global.region.clone(),
        credentials,
        endpoints,
        grants,
        http: HttpLimits {
            max_calls_per_invocation: global.max_calls,
            max_response_bytes: global.max_response_bytes,
            request_timeout: Duration::from_millis(global.request_timeout_ms),
            ..HttpLimits::default()
        },
        retry: RetryPolicy { max_attempts: global.max_attempts, ..RetryPolicy::default() },
        sandbox: SandboxLimits {
            memory_bytes: global.memory_mib << 20,
            timeout: Duration::from_millis(global.timeout_ms),
            max_output_bytes: global.max_output_bytes,
            ..SandboxLimits::default()
        },
        cache_dir: ArtifactCache::default_dir(),
    })
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let host = ConnectorHost::new(host_config(&cli.global)?).await?;
    match cli.command {
        Command::Describe { component, json } => {
            let connector = host.load(&component).await?;
            let manifest = connector.manifest();
            if json {
                emit(&serde_json::to_string_pretty(manifest)?);
            } else {
                emit(&format_manifest(manifest));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Invoke { component, operation, input } => {
            let input = read_input(&input)?;
            let connector = host.load(&component).await?;
            match host.invoke_json(&connector, &operation, &input).await {
                Ok(output) => {
                    emit(&serde_json::to_string_pretty(&output)?);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error [{}]: {e}", e.kind());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Run { workflow: path, connectors, json } => {
            let workflow = Workflow::from_file(&path)?;
            let overrides = parse_overrides(&connectors)?;
            let total = workflow.steps.len();
            let reports = workflow::run(&host, &workflow, &overrides, |i, report| {
                if !json {
                    emit(&format_step(i, total, report));
                }
            })
            .await?;
            if json {
                emit(&serde_json::to_string_pretty(&reports)?);
            }
            let failed = reports.iter().any(|r| matches!(r.outcome, StepOutcome::Error(_)));
            if failed {
                eprintln!("error: workflow stopped at step {} of {total}", reports.len());
            }
            Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
    }
}

fn read_input(arg: &str) -> anyhow::Result<String> {
    let text = if arg == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("could not read the input from stdin")?;
        text
    } else if let Some(file) = arg.strip_prefix('@') {
        std::fs::read_to_string(file).with_context(|| format!("could not read the input file {file}"))?
    } else {
        arg.to_owned()
    };
    serde_json::from_str::<serde_json::Value>(&text).context("--input is not valid JSON")?;
    Ok(text)
}

fn parse_overrides(args: &[String]) -> anyhow::Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    for arg in args {
        let Some((alias, path)) = arg.split_once('=') else {
            bail!("--connector `{arg}` must be ALIAS=PATH");
        };
        out.insert(alias.to_owned(), PathBuf::from(path));
    }
    Ok(out)
}

/// Writes `text` and a newline to stdout; a closed pipe (`| head`) is not
/// an error worth a panic.
fn emit(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

fn format_manifest(manifest: &crate::runtime::Manifest) -> String {
    let mut text = format!(
        "{} ({}) {}\nservices: {}\n{} operations:\n",
        manifest.title,
        manifest.name,
        manifest.version,
        manifest.services.join(", "),
        manifest.operations.len()
    );
    let width = manifest.operations.iter().map(|op| op.name.len()).max().unwrap_or(0);
    for op in &manifest.operations {
        text.push_str(&format!("  {:width$}  {}\n", op.name, op.title));
    }
    text
}

/// One step as the debug view shows it: header, input, then output or error.
pub fn format_step(i: usize, total: usize, report: &StepReport) -> String {
    let pretty = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
    let (label, body) = match &report.outcome {
        StepOutcome::Output(output) => ("Output", pretty(output)),
        StepOutcome::Error(error) => ("Error", pretty(error)),
    };
    format!(
        "── Step {}/{total}: {} ({}.{})\nInput:\n{}\n{label}:\n{body}\n",
        i + 1,
        report.id,
        report.connector,
        report.operation,
        pretty(&report.input)
    )
}

fn init_logging(filter: Option<&str>) {
    use tracing_subscriber::EnvFilter;
    let filter = match filter {
        Some(f) => EnvFilter::new(f),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,connectors=info")),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}
