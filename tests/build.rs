//! Builds the connector components the tests load (guest-cognito, and the
//! test guests under tests/guests) for wasm32-wasip2, in release, with a
//! target directory of their own so the outer build's lock is not shared.
//! Writes their paths as constants to `$OUT_DIR/components.rs`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Packages to build and the constant naming each component's path.
const COMPONENTS: &[(&str, &str, &str)] = &[
    // (manifest dir relative to the workspace, package, constant)
    ("guest-cognito", "guest-cognito", "GUEST_COGNITO"),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap().to_path_buf();
    let target_dir = workspace.join("target").join("guests");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());

    for watched in ["wit", "guest-cognito/src", "guest-cognito/Cargo.toml", "Cargo.lock", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={}", workspace.join(watched).display());
    }

    let mut command = Command::new(&cargo);
    command
        .current_dir(&workspace)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .arg("--target-dir")
        .arg(&target_dir);
    for (_, package, _) in COMPONENTS {
        command.args(["-p", package]);
    }
    // The outer build's flags and wrappers (clippy, coverage) are for the
    // host target, not for the guests.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        command.env_remove(var);
    }
    let status = command.status().expect("could not run cargo to build the guest components");
    assert!(status.success(), "building the guest components failed ({status}); see the output above");

    let mut constants = String::new();
    for (_, package, constant) in COMPONENTS {
        let file = target_dir.join("wasm32-wasip2/release").join(format!("{}.wasm", package.replace('-', "_")));
        assert!(file.exists(), "{} was not built", file.display());
        constants.push_str(&format!(
            "/// Path of the `{package}` component.\npub const {constant}: &str = {:?};\n",
            file.display().to_string()
        ));
    }
    let out = Path::new(&env::var_os("OUT_DIR").unwrap()).join("components.rs");
    std::fs::write(out, constants).unwrap();
}
