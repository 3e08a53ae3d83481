//! The embedding example (host/examples/embed.rs) builds and runs against
//! a local emulator, as its documentation says.

use connector_tests::emulator::{Emulator, Kind};
use connector_tests::{REGION, components, sdk_client, test_credentials};

#[tokio::test]
async fn the_embedding_example_runs() {
    let emulator = Emulator::start(Kind::Moto);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(components::GUEST_COGNITO, dir.path().join("guest_cognito.wasm")).unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_example-embed"))
        .arg(dir.path())
        .arg(emulator.endpoint())
        .env("AWS_REGION", REGION)
        .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLETEST")
        .env("AWS_SECRET_ACCESS_KEY", "example-test-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("XDG_CACHE_HOME", connector_tests::cache_dir().join("xdg"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("loaded aws-cognito (sha256:"), "{stdout}");
    let pool_id =
        stdout.lines().find_map(|l| l.strip_prefix("created pool ")).expect("the pool is reported").to_owned();
    assert!(
        stdout.contains("── Step 1/1: user (aws-cognito.admin_create_user)") && stdout.ends_with("done\n"),
        "{stdout}"
    );
    let sdk = sdk_client(&emulator.endpoint(), test_credentials());
    let user = sdk.admin_get_user().user_pool_id(pool_id).username("embedded-user").send().await.unwrap();
    assert_eq!(user.username(), "embedded-user");
}
