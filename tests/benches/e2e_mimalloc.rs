//! The end-to-end driver of `e2e.rs` with mimalloc as the global allocator:
//! an A/B of the allocator against the system's, for the host and the
//! native SDK alike (they share the process).
//!
//!     cargo bench -p connector-tests --bench e2e_mimalloc [-- --calls N]

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "e2e.rs"]
mod e2e;

fn main() {
    e2e::main();
}
