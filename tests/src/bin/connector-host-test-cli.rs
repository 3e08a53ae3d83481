//! The `connector-host` command line, built inside the tests crate so the
//! CLI tests can run it as a process (`CARGO_BIN_EXE_*` only names a
//! package's own binaries).

#[tokio::main]
async fn main() -> std::process::ExitCode {
    connector_host::cli::main_with_args(std::env::args_os()).await
}
