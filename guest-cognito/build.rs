//! Link settings for the component: a 256 KiB shadow stack instead of
//! Rust's default 1 MiB, and 640 KiB of initial memory, which leaves the
//! heap about 256 KiB before it must grow. The stack sits at the bottom of
//! linear memory, so this shrinks the memory every instance starts with (and
//! the host resets between invocations) without making a typical invocation
//! call `memory.grow`, which costs the host a system call to map pages and
//! another to unmap them. The connector's deepest recursion is serde_json's
//! (128 levels at most), far below the stack size.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_FAMILY").as_deref() == Ok("wasm") {
        println!("cargo:rustc-link-arg-cdylib=-zstack-size=262144");
        println!("cargo:rustc-link-arg-cdylib=--initial-memory=655360");
    }
}
