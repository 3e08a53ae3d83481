//! Generated tables match what their generators make from the pinned
//! botocore data: the AWS connectors' API tables (with our descriptions)
//! and the host's table of AWS services and endpoints.

use std::path::Path;
use std::process::Command;

fn up_to_date(generator: &str, generated: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let output =
        Command::new("python3").arg(root.join(generator)).arg("--check").output().expect("python3 runs the generator");
    assert!(
        output.status.success(),
        "{generated} is out of date; run {generator}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn generated_connector_tables_are_up_to_date() {
    up_to_date("connector-sdk/codegen/aws.py", "each AWS connector's src/model.rs");
}

#[test]
fn generated_service_table_is_up_to_date() {
    up_to_date("host/codegen/services.py", "host/src/endpoints/services.rs");
}
