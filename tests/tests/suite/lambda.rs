//! The Lambda connector, generated from Lambda's API model (REST-JSON),
//! against moto: functions created from a zip, read, listed page by page,
//! reconfigured and tagged (an ARN in the path), deleted, a missing one a
//! typed service error, bad input refused before any request; what it did
//! read back with boto3.

use connector_host::InvokeError;
use connector_tests::emulator::{Emulator, Kind};
use connector_tests::{components, host_for};
use serde_json::{Value, json};

#[tokio::test]
async fn a_generated_rest_connector_creates_lists_updates_and_deletes_functions() {
    let emulator = Emulator::start(Kind::Moto);
    let endpoint = emulator.endpoint();
    // The role and the code come from boto3: an execution role in IAM, and
    // a zip holding one handler, as base64.
    let setup = emulator.boto3(
        r#"
role = client("iam").create_role(RoleName="runner", AssumeRolePolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
archive = io.BytesIO()
with zipfile.ZipFile(archive, "w") as z:
    z.writestr("index.py", "def handler(event, context):\n    return event\n")
print(json.dumps({"role": role["Role"]["Arn"], "zip": base64.b64encode(archive.getvalue()).decode()}))
"#,
        &[],
    );
    let host = host_for(&endpoint).await;
    let lambda = host.load(components::GUEST_LAMBDA).await.expect("the Lambda connector loads");
    assert_eq!(lambda.manifest().services, ["lambda"]);
    let call = |operation: &'static str, input: Value| {
        let (host, lambda) = (&host, &lambda);
        async move { host.invoke(lambda, operation, &input).await }
    };

    for name in ["hello", "world", "again"] {
        let created = call(
            "create_function",
            json!({"function_name": name, "runtime": "python3.12", "role": setup["role"], "handler": "index.handler",
                   "code": {"zip_file": setup["zip"]}, "description": format!("the {name} function")}),
        )
        .await
        .unwrap();
        assert_eq!(created["FunctionName"], name, "{created}");
    }
    let got = call("get_function", json!({"function_name": "hello"})).await.unwrap();
    assert_eq!(got["Configuration"]["Description"], "the hello function", "{got}");
    assert_eq!(got["Configuration"]["Handler"], "index.handler");

    // MaxItems in the query, the next page's Marker from the body.
    let all = call("list_functions", json!({"max_items": 1, "all_pages": true})).await.unwrap();
    let mut names: Vec<&str> =
        all["Functions"].as_array().unwrap().iter().map(|f| f["FunctionName"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["again", "hello", "world"], "{all}");

    let updated = call(
        "update_function_configuration",
        json!({"function_name": "hello", "timeout": 30, "environment": {"variables": {"STAGE": "test"}}}),
    )
    .await
    .unwrap();
    assert_eq!(updated["Timeout"], 30, "{updated}");
    // An ARN, colons and all, as a label of the path.
    let arn = got["Configuration"]["FunctionArn"].as_str().unwrap().to_owned();
    call("tag_resource", json!({"resource": arn, "tags": {"team": "growth"}})).await.unwrap();
    let tags = call("list_tags", json!({"resource": arn})).await.unwrap();
    assert_eq!(tags["Tags"], json!({"team": "growth"}), "{tags}");

    // Bad input is refused by the connector, naming the member, before
    // any request.
    let bad = [
        (json!({"function_name": "x", "memory_size": 1}), "memory_size: 1 is below the minimum 128"),
        (json!({"function_name": "x", "timeout": "long"}), "timeout: expected an integer"),
        (
            json!({"function_name": "x", "tracing_config": {"mode": "Sometimes"}}),
            "tracing_config.mode: `Sometimes` is not one of",
        ),
        (json!({"function_name": "x", "runtime": "python3.12", "colour": "red"}), "colour: unknown field"),
    ];
    for (input, problem) in bad {
        match call("update_function_configuration", input.clone()).await {
            Err(InvokeError::InvalidInput(message)) => assert!(message.contains(problem), "{input}: {message}"),
            other => panic!("{input} must be refused, got {other:?}"),
        }
    }

    let seen = emulator.boto3(
        r#"
lam = client("lambda")
config = lam.get_function_configuration(FunctionName="hello")
print(json.dumps({"timeout": config["Timeout"], "env": config["Environment"]["Variables"],
                  "tags": lam.list_tags(Resource=config["FunctionArn"])["Tags"]}))
"#,
        &[],
    );
    assert_eq!(seen, json!({"timeout": 30, "env": {"STAGE": "test"}, "tags": {"team": "growth"}}));

    call("delete_function", json!({"function_name": "hello"})).await.unwrap();
    match call("get_function", json!({"function_name": "hello"})).await {
        Err(InvokeError::Service { code, status, retryable, .. }) => {
            assert_eq!((code.as_str(), status, retryable), ("ResourceNotFoundException", 404, false))
        }
        other => panic!("a deleted function must be ResourceNotFoundException, got {other:?}"),
    }
}
