//! The `connector-host` binary.

use std::process::ExitCode;

/// glibc's malloc serialises a busy multi-threaded host on its arena locks
/// and keeps trimming and faulting in its heap: with mimalloc, `serve`
/// answered 1.8 times the calls per second at 64 in flight (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    connector_host::cli::main_with_args(std::env::args_os()).await
}
