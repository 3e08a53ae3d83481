//! The guest's generated API table matches what its generator makes from the
//! pinned model and our descriptions.

use std::path::Path;
use std::process::Command;

#[test]
fn generated_model_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let output = Command::new("python3")
        .arg(root.join("guest-cognito/codegen/generate.py"))
        .arg("--check")
        .output()
        .expect("python3 runs the generator");
    assert!(
        output.status.success(),
        "guest-cognito/src/model.rs is out of date; run guest-cognito/codegen/generate.py\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
