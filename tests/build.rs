//! Builds the connector components the tests load (the workspace's, and the
//! test guests under tests/guests) for wasm32-wasip2, in release, with a
//! target directory of their own so the outer build's lock is not shared.
//! Writes their paths as constants to `$OUT_DIR/components.rs`.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Components to build: (workspace manifest relative to the repository,
/// package, output file stem, constant naming its path).
const COMPONENTS: &[(&str, &str, &str, &str)] = &[
    ("Cargo.toml", "guest-cloudwatch", "guest_cloudwatch", "GUEST_CLOUDWATCH"),
    ("Cargo.toml", "guest-cognito", "guest_cognito", "GUEST_COGNITO"),
    ("Cargo.toml", "guest-dynamodb", "guest_dynamodb", "GUEST_DYNAMODB"),
    ("Cargo.toml", "guest-ec2", "guest_ec2", "GUEST_EC2"),
    ("Cargo.toml", "guest-iam", "guest_iam", "GUEST_IAM"),
    ("Cargo.toml", "guest-http", "guest_http", "GUEST_HTTP"),
    ("Cargo.toml", "guest-lambda", "guest_lambda", "GUEST_LAMBDA"),
    ("Cargo.toml", "guest-s3", "guest_s3", "GUEST_S3"),
    ("Cargo.toml", "guest-sns", "guest_sns", "GUEST_SNS"),
    ("tests/guests/Cargo.toml", "no-export", "no-export", "NO_EXPORT"),
    ("tests/guests/Cargo.toml", "hostile", "hostile", "HOSTILE"),
    ("tests/guests/Cargo.toml", "future-contract", "future_contract", "FUTURE_CONTRACT"),
    ("tests/guests/Cargo.toml", "contract-0-1-0", "contract_0_1_0", "CONTRACT_0_1_0"),
    ("tests/guests/Cargo.toml", "events-v2", "events_v2", "EVENTS_V2"),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let workspace = manifest_dir.parent().unwrap().to_path_buf();
    let target_dir = workspace.join("target").join("guests");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());

    // The whole guest crate: its sources, manifest and build script (link
    // settings) all change the component. The workspace's guests are the
    // directories named like their packages; the others live in the SDK
    // (its example) and tests/guests.
    let guests = COMPONENTS.iter().map(|c| c.1).filter(|package| workspace.join(package).is_dir());
    let shared = ["wit", "connector-sdk", "Cargo.lock", "Cargo.toml", "tests/guests"];
    for watched in guests.chain(shared) {
        println!("cargo:rerun-if-changed={}", workspace.join(watched).display());
    }

    let mut constants = String::new();
    let mut manifests: Vec<&str> = COMPONENTS.iter().map(|c| c.0).collect();
    manifests.dedup();
    for manifest in manifests {
        let packages = COMPONENTS.iter().filter(|c| c.0 == manifest).map(|c| c.1);
        build(&cargo, &workspace.join(manifest), packages, &target_dir);
    }
    for (_, package, stem, constant) in COMPONENTS {
        let file = target_dir.join("wasm32-wasip2/release").join(format!("{stem}.wasm"));
        assert!(file.exists(), "{} was not built", file.display());
        constants.push_str(&format!(
            "/// Path of the `{package}` component.\npub const {constant}: &str = {:?};\n",
            file.display().to_string()
        ));
    }
    let out = Path::new(&env::var_os("OUT_DIR").unwrap()).join("components.rs");
    std::fs::write(out, constants).unwrap();
}

fn build<'a>(cargo: &str, manifest: &Path, packages: impl Iterator<Item = &'a str>, target_dir: &Path) {
    let mut command = Command::new(cargo);
    command.current_dir(manifest.parent().unwrap()).args(["build", "--release", "--target", "wasm32-wasip2"]);
    command.arg("--manifest-path").arg(manifest).arg("--target-dir").arg(target_dir);
    for package in packages {
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
    assert!(status.success(), "building {} failed ({status}); see the output above", manifest.display());
}
