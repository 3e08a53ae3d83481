//! `connector-host invoke`: run one operation and print its output.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;

use crate::cli::{GlobalArgs, check_loaded, emit_json, new_host};
use connector_host::escape::escape_untrusted;
use connector_host::files::{read_capped, read_to_limit};
use connector_host::{CallContext, ComponentSource, LoadOptions};

/// Run one operation and print its output JSON.
#[derive(Debug, Args)]
pub(super) struct InvokeArgs {
    /// The connector component: a path (.wasm) or oci://REGISTRY/REPOSITORY:TAG|@sha256:DIGEST.
    #[arg(value_parser = ComponentSource::parse)]
    component: ComponentSource,
    /// Operation name, as `describe` lists it.
    operation: String,
    /// Input JSON, `@FILE` to read it from a file, or `-` for stdin.
    #[arg(long, short, default_value = "{}", value_name = "JSON|@FILE|-")]
    input: String,
    /// Sign with this named authentication (from --authentications)
    /// instead of the host's own credentials.
    #[arg(long, value_name = "NAME")]
    authentication: Option<String>,
}

pub(super) async fn run(global: &GlobalArgs, args: InvokeArgs) -> anyhow::Result<ExitCode> {
    let host = new_host(global).await?;
    let input = read_input(&args.input, host.max_input_bytes() as u64)?;
    let connector = host.load_source(&args.component, &LoadOptions::default()).await?;
    check_loaded(&host, [&connector])?;
    let mut context = CallContext::default();
    if let Some(authentication) = args.authentication {
        context = context.with_authentication(authentication);
    }
    match host.invoke_json(&connector, &args.operation, &input, &context).await {
        Ok(output) => {
            emit_json(&output)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error [{}]: {}", e.kind(), escape_untrusted(&e.to_string()));
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The `--input` argument's JSON text, at most `limit` bytes.
fn read_input(arg: &str, limit: u64) -> anyhow::Result<String> {
    let bytes = if arg == "-" {
        read_to_limit(std::io::stdin().lock(), limit)
            .context("could not read the input from stdin")?
            .with_context(|| format!("the input on stdin is over the limit of {limit} bytes (--max-input-bytes)"))?
    } else if let Some(file) = arg.strip_prefix('@') {
        read_capped(Path::new(file), limit, "input file", "--max-input-bytes")?
    } else {
        arg.as_bytes().to_vec()
    };
    let text = String::from_utf8(bytes).context("--input is not valid JSON: it is not UTF-8")?;
    serde_json::from_str::<serde_json::Value>(&text).context("--input is not valid JSON")?;
    Ok(text)
}
