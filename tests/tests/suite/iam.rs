//! The second connector, written with connector-sdk (AWS IAM and STS over
//! the query protocol with XML replies), through the CLI against moto,
//! its endpoints set only by the SDKs' per-service variables.

use std::process::{Command, Output};

use connector_tests::emulator::{Emulator, Kind, venv};
use connector_tests::{REGION, components};
use serde_json::Value;

fn invoke(emulator: &Emulator, operation: &str, input: &str, extra_env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shipped-connector-host"));
    command
        .args(["invoke", components::GUEST_IAM, operation, "--input", input, "--region", REGION])
        .env_remove("AWS_ENDPOINT_URL")
        .env("AWS_ENDPOINT_URL_IAM", emulator.endpoint())
        .env("AWS_ENDPOINT_URL_STS", emulator.endpoint())
        .env("AWS_ACCESS_KEY_ID", "AKIDIAMTEST")
        .env("AWS_SECRET_ACCESS_KEY", "iam-test-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("XDG_CACHE_HOME", connector_tests::cache_dir().join("xdg"));
    for (k, v) in extra_env {
        command.env(k, v);
    }
    command.output().expect("the CLI runs")
}

fn output_json(output: &Output) -> Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("JSON output")
}

#[test]
fn an_sdk_connector_speaks_the_query_protocol() {
    let emulator = Emulator::start(Kind::Moto);
    let created = output_json(&invoke(&emulator, "create_user", r#"{"user_name": "ann", "path": "/marketing/"}"#, &[]));
    assert_eq!(created["User"]["UserName"], "ann");
    assert_eq!(created["User"]["Path"], "/marketing/");
    output_json(&invoke(&emulator, "create_user", r#"{"user_name": "bo"}"#, &[]));

    // (moto answers the whole list whatever MaxItems says.)
    let page = output_json(&invoke(&emulator, "list_users", r#"{"max_items": 10}"#, &[]));
    let names: Vec<&str> = page["Users"].as_array().unwrap().iter().map(|u| u["UserName"].as_str().unwrap()).collect();
    assert_eq!(names, ["ann", "bo"]);
    let marketing = output_json(&invoke(&emulator, "list_users", r#"{"path_prefix": "/marketing/"}"#, &[]));
    assert_eq!(marketing["Users"].as_array().unwrap().len(), 1, "{marketing}");

    // An independent client (boto3) sees what the connector did.
    let script = "import boto3, sys, json\n\
        iam = boto3.client('iam', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='a', aws_secret_access_key='b')\n\
        print(json.dumps(sorted(u['UserName'] for u in iam.list_users()['Users'])))";
    let seen = Command::new(venv().join("bin/python")).args(["-c", script, &emulator.endpoint()]).output().unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&seen.stdout).unwrap(), serde_json::json!(["ann", "bo"]));

    output_json(&invoke(&emulator, "delete_user", r#"{"user_name": "ann"}"#, &[]));
    let gone = invoke(&emulator, "get_user", r#"{"user_name": "ann"}"#, &[]);
    assert_eq!(gone.status.code(), Some(1));
    let err = String::from_utf8_lossy(&gone.stderr);
    assert!(err.contains("[service]") && err.contains("NoSuchEntity") && err.contains("HTTP 404"), "{err}");

    let identity = output_json(&invoke(&emulator, "get_caller_identity", "{}", &[]));
    assert!(identity["Arn"].as_str().unwrap().starts_with("arn:aws:"), "{identity}");

    let invalid = invoke(&emulator, "create_user", r#"{"user_name": ""}"#, &[]);
    let err = String::from_utf8_lossy(&invalid.stderr);
    assert!(err.contains("[invalid-input]") && err.contains("user_name: shorter than the minimum of 1"), "{err}");

    // A variable for a service no loaded connector declares is named.
    let warned = invoke(&emulator, "get_caller_identity", "{}", &[("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:9")]);
    let err = String::from_utf8_lossy(&warned.stderr);
    assert!(err.contains("AWS_ENDPOINT_URL_DYNAMODB names no service the loaded connectors declare"), "{err}");
}
