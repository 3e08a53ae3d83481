//! The `connector-host` command line as a user runs it.

use std::process::{Command, Output};

use connector_tests::emulator::{Emulator, Kind};
use connector_tests::{REGION, components};
use serde_json::Value;

fn cli(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_connector-host-test-cli"));
    command
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "AKIDCLITEST")
        .env("AWS_SECRET_ACCESS_KEY", "cli-test-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("XDG_CACHE_HOME", connector_tests::cache_dir().join("xdg"));
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().expect("the CLI runs")
}

fn stdout_json(output: &Output) -> Value {
    assert!(output.status.success(), "exit {:?}, stderr:\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn describe_json_lists_every_operation_with_its_schema() {
    let manifest = stdout_json(&cli(&["describe", components::GUEST_COGNITO, "--json"], &[]));
    assert_eq!(manifest["name"], "aws-cognito");
    assert_eq!(manifest["services"], serde_json::json!(["cognito-idp"]));
    let operations = manifest["operations"].as_array().unwrap();
    assert_eq!(operations.len(), 133, "the 132 API operations and call_api");
    assert!(operations.iter().any(|op| op["name"] == "call_api"));
    let create = operations.iter().find(|op| op["name"] == "create_user_pool").unwrap();
    assert_eq!(create["title"], "Create user pool");
    assert!(!create["description"].as_str().unwrap().is_empty());
    assert_eq!(create["input_schema"]["required"], serde_json::json!(["pool_name"]));
}

#[test]
fn describe_prints_a_table() {
    let output = cli(&["describe", components::GUEST_COGNITO], &[]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with("AWS Cognito (aws-cognito) "), "{text}");
    assert!(text.contains("133 operations:"), "{text}");
    assert!(text.lines().any(|l| l.trim_start().starts_with("admin_create_user ")), "{text}");
}

#[test]
fn invoke_prints_output_and_global_flags_go_anywhere() {
    let emulator = Emulator::start(Kind::Moto);
    let endpoint = emulator.endpoint();
    let created = stdout_json(&cli(
        &[
            "--region",
            REGION,
            "invoke",
            components::GUEST_COGNITO,
            "create_user_pool",
            "--input",
            r#"{"pool_name": "CLI Pool"}"#,
            "--endpoint-url",
            &endpoint,
        ],
        &[],
    ));
    let id = created["UserPool"]["Id"].as_str().unwrap();

    let input_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(input_file.path(), format!(r#"{{"user_pool_id": "{id}"}}"#)).unwrap();
    let input_arg = format!("@{}", input_file.path().display());
    // The endpoint from the SDK's per-service variable instead of the flag.
    let described = stdout_json(&cli(
        &["invoke", components::GUEST_COGNITO, "describe_user_pool", "--input", &input_arg, "--region", REGION],
        &[("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", &endpoint)],
    ));
    assert_eq!(described["UserPool"]["Name"], "CLI Pool");
}

#[test]
fn invoke_failures_name_the_kind_and_code() {
    let emulator = Emulator::start(Kind::Moto);
    let endpoint = emulator.endpoint();
    let base = ["invoke", components::GUEST_COGNITO, "--endpoint-url", &endpoint, "--region", REGION];

    let missing =
        cli(&[&base[..], &["describe_user_pool", "-i", r#"{"user_pool_id": "us-east-1_nothere"}"#]].concat(), &[]);
    assert_eq!(missing.status.code(), Some(1));
    let err = stderr(&missing);
    assert!(err.contains("[service]") && err.contains("ResourceNotFoundException"), "{err}");
    assert!(missing.stdout.is_empty());

    let invalid = cli(&[&base[..], &["create_user_pool", "-i", r#"{"pool_name": 7}"#]].concat(), &[]);
    assert_eq!(invalid.status.code(), Some(1));
    let err = stderr(&invalid);
    assert!(err.contains("[invalid-input]") && err.contains("pool_name: expected a string"), "{err}");

    let unknown = cli(&[&base[..], &["create_pool"]].concat(), &[]);
    assert!(stderr(&unknown).contains("[unknown-operation]"), "{}", stderr(&unknown));

    let not_json = cli(&[&base[..], &["create_user_pool", "-i", "{pool_name:"]].concat(), &[]);
    assert!(stderr(&not_json).contains("--input is not valid JSON"), "{}", stderr(&not_json));
}

#[test]
fn run_prints_each_step_with_the_pool_id_threaded_through() {
    let emulator = Emulator::start(Kind::Moto);
    let workflow = concat!(env!("CARGO_MANIFEST_DIR"), "/../host/workflows/marketing-department.json");
    let connector = format!("cognito={}", components::GUEST_COGNITO);
    let output = cli(
        &["run", workflow, "--connector", &connector, "--endpoint-url", &emulator.endpoint(), "--region", REGION],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("── Step 1/2: create_user_pool (aws-cognito.create_user_pool)"), "{text}");
    assert!(text.contains("── Step 2/2: create_user (aws-cognito.admin_create_user)"), "{text}");
    assert_eq!(text.matches("Input:").count(), 2);
    assert_eq!(text.matches("Output:").count(), 2);
    let pool_id = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("\"Id\": \"").map(|rest| rest.trim_end_matches(['"', ','])))
        .expect("step 1 prints the pool id");
    assert!(text.contains(&format!("\"user_pool_id\": \"{pool_id}\"")), "{text}");

    let json = stdout_json(&cli(
        &[
            "run",
            workflow,
            "--json",
            "--connector",
            &connector,
            "--endpoint-url",
            &emulator.endpoint(),
            "--region",
            REGION,
        ],
        &[],
    ));
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(json[1]["output"]["User"]["Username"], "exampleUsername");
}

#[test]
fn operator_grants_and_limits_apply() {
    let emulator = Emulator::start(Kind::Moto);
    let endpoint = emulator.endpoint();
    let base = ["invoke", components::GUEST_COGNITO, "list_user_pools", "-i", r#"{"max_results": 5}"#];
    let base = [&base[..], &["--endpoint-url", &endpoint, "--region", REGION]].concat();

    let denied = cli(&[&base[..], &["--grant", "aws-cognito="]].concat(), &[]);
    assert_eq!(denied.status.code(), Some(1));
    let err = stderr(&denied);
    assert!(err.contains("[capability]") && err.contains("`cognito-idp` is not granted"), "{err}");

    let limited = cli(
        &[
            &base[..],
            &[
                "--grant",
                "aws-cognito=cognito-idp",
                "--timeout-ms",
                "5000",
                "--memory-mib",
                "32",
                "--max-attempts",
                "1",
            ],
        ]
        .concat(),
        &[],
    );
    assert!(stdout_json(&limited)["UserPools"].is_array());

    let help = String::from_utf8(cli(&["--help"], &[]).stdout).unwrap();
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for default in ["[default: 60000]", "[default: 64]", "[default: 3]", "[default: 1000]"] {
        assert!(help.contains(default), "--help shows {default}: {help}");
    }
    let bad = cli(&[&base[..], &["--grant", "no-equals-sign"]].concat(), &[]);
    assert!(stderr(&bad).contains("--grant `no-equals-sign` must be CONNECTOR=SERVICE"), "{}", stderr(&bad));
}
