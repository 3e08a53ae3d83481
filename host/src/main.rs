//! The `connector-host` binary: the command line (`cli`), a thin shell over
//! the library, with the allocator and process limits a server wants.

mod cli;

use std::process::ExitCode;

/// glibc's malloc serialises a busy multi-threaded host on its arena locks
/// and keeps trimming and faulting in its heap: with mimalloc, `serve`
/// answered 1.8 times the calls per second at 64 in flight (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    raise_open_file_limit();
    cli::main_with_args(std::env::args_os()).await
}

/// Raises the soft open-file limit to the hard one, as servers do: the
/// soft default (often 1024) is what `serve` would otherwise fit its
/// connections, store, watch and outbound requests into.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit and setrlimit read and write the struct given.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}
