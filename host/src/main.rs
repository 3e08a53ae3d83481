//! The `connector-host` binary.

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    connector_host::cli::main_with_args(std::env::args_os()).await
}
