//! Workflows beyond a straight line: inputs checked against the workflow's
//! schema, a step that goes on past its error, a condition that decides
//! whether a step runs, retries with back-off for errors that may pass,
//! and runs over HTTP that take inputs, with the record showing all of it.

use std::collections::BTreeMap;
use std::time::Duration;

use connector_host::workflow::{StepOutcome, StepReport, Workflow};
use connector_host::{ConnectorHost, RetryPolicy};
use connector_tests::capture::{CaptureServer, Reply};
use connector_tests::emulator::{Emulator, Kind};
use connector_tests::server::Server;
use connector_tests::{components, host_config, host_for, sdk_client, test_credentials};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_shipped-connector-host");

/// "Add this person to the pool; create the pool first if it does not
/// exist; tell the admins when the person is one": inputs, a lookup that
/// may fail and goes on, a step only when it failed with
/// ResourceNotFoundException, and one only for admin user names.
fn onboarding() -> Value {
    json!({
        "name": "Onboard",
        "inputs": {
            "type": "object",
            "properties": {
                "pool_id": {"type": "string", "minLength": 1},
                "pool_name": {"type": "string", "minLength": 1, "default": "Marketing Department"},
                "username": {"type": "string", "pattern": "^[a-zA-Z]+$"},
                "password": {"type": "string", "writeOnly": true}
            },
            "required": ["pool_id", "username"],
            "additionalProperties": false
        },
        "steps": [
            {"id": "existing", "connector": "cognito", "operation": "describe_user_pool",
             "input": {"user_pool_id": "{{inputs.pool_id}}"}, "on_error": "continue"},
            {"id": "pool", "connector": "cognito", "operation": "create_user_pool",
             "if": "steps.existing.status == 'failed' && steps.existing.error.code == 'ResourceNotFoundException'",
             "input": {"pool_name": "{{inputs.pool_name}}"}},
            {"id": "user", "connector": "cognito", "operation": "admin_create_user",
             "input": {"user_pool_id": "{{steps.pool.output.UserPool.Id}}", "username": "{{inputs.username}}",
                       "temporary_password": "{{inputs.password}}"}},
            {"id": "admins", "connector": "cognito", "operation": "list_users",
             "if": "inputs.username.startsWith('admin')",
             "input": {"user_pool_id": "{{steps.pool.output.UserPool.Id}}"}}
        ]
    })
}

#[tokio::test]
async fn inputs_a_continued_error_and_conditions_create_the_pool_only_when_it_is_missing() {
    let emulator = Emulator::start(Kind::Moto);
    let host = host_for(&emulator.endpoint()).await;
    let mut workflow = onboarding();
    workflow["connectors"] = json!({"cognito": "guest_cognito.wasm"});
    let workflow: Workflow = serde_json::from_value(workflow).unwrap();
    workflow.check().unwrap();

    // Inputs are checked before anything runs, each problem named.
    let refused = workflow.accept_inputs(Some(&json!({"pool_id": "", "username": "ann-1", "team": "x"}))).unwrap_err();
    for part in ["inputs/pool_id", "inputs/username", "team"] {
        assert!(refused.contains(part), "{part} in {refused}");
    }
    assert!(workflow.accept_inputs(None).unwrap_err().contains("\"pool_id\" is a required property"));
    let inputs = workflow
        .accept_inputs(Some(&json!({"pool_id": "us-east-1_doesNotExist", "username": "exampleUsername",
                                    "password": "Temp-Passw0rd!"})))
        .unwrap();
    assert_eq!(inputs["pool_name"], "Marketing Department", "the default is filled in");

    let components =
        BTreeMap::from([("cognito".to_owned(), std::path::PathBuf::from(components::GUEST_COGNITO).into())]);
    let connectors = connector_host::workflow::load_connectors(&host, &workflow, &components).await.unwrap();
    let reports = connector_host::workflow::run(&host, &workflow, &connectors, &inputs, |_, _: &StepReport| {}).await;
    let statuses: Vec<&str> = reports.iter().map(|r| r.outcome.status()).collect();
    assert_eq!(statuses, ["failed", "succeeded", "succeeded", "skipped"], "{reports:#?}");
    assert!(reports[0].continued && !reports[0].stopped_run());
    let StepOutcome::Error(lookup) = &reports[0].outcome else { unreachable!() };
    assert_eq!(lookup["code"], "ResourceNotFoundException");
    let StepOutcome::Skipped(skipped) = &reports[3].outcome else { unreachable!() };
    assert_eq!(skipped, &json!({"condition": "inputs.username.startsWith('admin')", "value": false}));
    assert_eq!(reports[2].input["temporary_password"], "***", "an input the schema marks writeOnly is hidden");

    // What the service holds, read with the official SDK.
    let StepOutcome::Output(pool) = &reports[1].outcome else { unreachable!() };
    let pool_id = pool["UserPool"]["Id"].as_str().unwrap();
    let sdk = sdk_client(&emulator.endpoint(), test_credentials());
    let user = sdk.admin_get_user().user_pool_id(pool_id).username("exampleUsername").send().await.unwrap();
    assert_eq!(user.username(), "exampleUsername");

    // With the pool there, the lookup succeeds and the create is skipped,
    // so the user step's reference to it fails, naming why.
    let inputs = workflow.accept_inputs(Some(&json!({"pool_id": pool_id, "username": "adminAnn"}))).unwrap();
    let reports = connector_host::workflow::run(&host, &workflow, &connectors, &inputs, |_, _: &StepReport| {}).await;
    let statuses: Vec<&str> = reports.iter().map(|r| r.outcome.status()).collect();
    assert_eq!(statuses, ["succeeded", "skipped", "failed"]);
    let StepOutcome::Error(error) = &reports[2].outcome else { unreachable!() };
    assert!(error["message"].as_str().unwrap().contains("step `pool` was skipped"), "{error}");
    assert!(reports[2].stopped_run(), "the default policy stops the run");
}

/// A host whose capability does not retry, so the workflow's policy is
/// what tries again, against a scripted loopback server.
async fn host_without_retries(server: &CaptureServer) -> ConnectorHost {
    let mut config = host_config(&server.endpoint(), test_credentials());
    config.retry = RetryPolicy { max_attempts: 1, ..RetryPolicy::default() };
    ConnectorHost::new(config).await.unwrap()
}

fn get_user_workflow(on_error: Value) -> Workflow {
    serde_json::from_value(json!({"steps": [
        {"id": "get", "connector": "cognito", "operation": "admin_get_user",
         "input": {"user_pool_id": "us-east-1_abc", "username": "exampleUsername"}, "on_error": on_error},
        {"id": "after", "connector": "cognito", "operation": "admin_get_user",
         "input": {"user_pool_id": "us-east-1_abc", "username": "{{steps.get.error.code}}"}}
    ]}))
    .unwrap()
}

#[tokio::test]
async fn a_retry_policy_tries_again_with_back_off_and_then_goes_on_or_stops() {
    let server = CaptureServer::start();
    let host = host_without_retries(&server).await;
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
    let connectors = BTreeMap::from([("cognito".to_owned(), cognito)]);
    let user = r#"{"Username":"exampleUsername","UserAttributes":[],"Enabled":true,"UserStatus":"CONFIRMED"}"#;
    let no_inputs = json!({});

    // Throttled twice, then answered: three tries, the first two errors kept.
    let retry =
        json!({"retry": {"max_attempts": 3, "backoff": {"initial_ms": 50, "max_ms": 100}, "on": ["throttling"]}});
    let workflow = get_user_workflow(retry.clone());
    workflow.check().unwrap();
    server.script(vec![
        Reply::aws_error(400, "ThrottlingException"),
        Reply::aws_error(400, "ThrottlingException"),
        Reply::json(200, user),
    ]);
    let started = std::time::Instant::now();
    let reports =
        connector_host::workflow::run(&host, &workflow, &connectors, &no_inputs, |_, _: &StepReport| {}).await;
    assert!(matches!(reports[0].outcome, StepOutcome::Output(_)), "{:?}", reports[0]);
    assert_eq!(reports[0].attempts, 3);
    let codes: Vec<&Value> = reports[0].retried_errors.iter().map(|e| &e["code"]).collect();
    assert_eq!(codes, ["ThrottlingException", "ThrottlingException"]);
    assert!(started.elapsed() >= Duration::from_millis(150), "waited 50 then 100 ms between the tries");
    // The second step's reference to an error of a step that did not fail
    // fails it.
    assert!(reports[1].stopped_run());
    assert_eq!(server.take().len(), 3, "the second step never sent a request");

    // An error the policy does not cover is not retried; `then: continue`
    // goes on, and the next step reads the error's code.
    let workflow = get_user_workflow(json!({"retry": {"max_attempts": 3, "on": ["throttling"]}, "then": "continue"}));
    server.script(vec![Reply::aws_error(400, "UserNotFoundException"), Reply::json(200, user)]);
    let reports =
        connector_host::workflow::run(&host, &workflow, &connectors, &no_inputs, |_, _: &StepReport| {}).await;
    assert_eq!((reports[0].attempts, reports[0].continued), (1, true));
    assert!(reports[0].retried_errors.is_empty());
    assert!(matches!(reports[1].outcome, StepOutcome::Output(_)));
    let sent = server.take();
    assert_eq!(sent.len(), 2);
    let body = String::from_utf8_lossy(&sent[1].body).into_owned();
    assert!(body.contains(r#""Username":"UserNotFoundException""#), "the error's code went on: {body}");

    // A try cut off after its request went out may have taken effect: a
    // read is tried again; adding a client secret is not, lest it add two.
    let transport = json!({"retry": {"max_attempts": 3, "backoff": {"initial_ms": 10}, "on": ["transport"]}});
    server.script(vec![Reply::Reset, Reply::json(200, user)]);
    let reports = connector_host::workflow::run(
        &host,
        &get_user_workflow(transport.clone()),
        &connectors,
        &no_inputs,
        |_, _: &StepReport| {},
    )
    .await;
    assert_eq!(reports[0].attempts, 2, "{:?}", reports[0]);
    server.take();
    let create: Workflow = serde_json::from_value(json!({"steps": [
        {"id": "create", "connector": "cognito", "operation": "add_user_pool_client_secret", "on_error": transport,
         "input": {"user_pool_id": "us-east-1_abc", "client_id": "client1"}}]}))
    .unwrap();
    server.script(vec![Reply::Reset]);
    let reports = connector_host::workflow::run(&host, &create, &connectors, &no_inputs, |_, _: &StepReport| {}).await;
    let StepOutcome::Error(error) = &reports[0].outcome else { panic!("{:?}", reports[0]) };
    assert_eq!((reports[0].attempts, error["may_have_taken_effect"].as_bool()), (1, Some(true)), "{error}");
    assert_eq!(server.take().len(), 1, "it was sent once");

    // Retries run out: the last error is the step's, and the run stops.
    let workflow = get_user_workflow(retry);
    server.script(vec![Reply::aws_error(400, "ThrottlingException"); 3]);
    let reports =
        connector_host::workflow::run(&host, &workflow, &connectors, &no_inputs, |_, _: &StepReport| {}).await;
    assert_eq!(reports.len(), 1);
    assert_eq!((reports[0].attempts, reports[0].retried_errors.len()), (3, 2));
    assert!(reports[0].stopped_run());
}

#[tokio::test]
async fn bad_policies_and_conditions_are_refused_before_a_run() {
    let refused = |step: Value| {
        let workflow: Result<Workflow, _> = serde_json::from_value(json!({"steps": [step]}));
        match workflow {
            Err(e) => e.to_string(),
            Ok(workflow) => format!("{:#}", workflow.check().unwrap_err()),
        }
    };
    let step = |extra: Value| {
        let mut step = json!({"id": "a", "connector": "c", "operation": "op"});
        step.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        step
    };
    for (extra, problem) in [
        (json!({"on_error": "sometimes"}), "on_error must be \"stop\", \"continue\""),
        (json!({"on_error": {"retry": {"max_attempts": 50}}}), "max_attempts is 50; it must be 2 to 10"),
        (json!({"on_error": {"retry": {"max_attempts": 2, "on": ["flaky"]}}}), "`flaky` is not an error class"),
        (json!({"if": "inputs.count >"}), "step 1 (`a`): if: the condition does not parse"),
        (json!({"if": "[1].all(x, [2].exists(y, y == x))"}), "inside another's body"),
        (json!({"if": "steps.typo.status == 'failed'"}), "reads step `typo`, which does not run before it"),
        (json!({"input": {"n": "{{inputs.count}}"}}), "reads the run's inputs, and the workflow declares none"),
        (json!({"input": {"n": "{{steps.b.error.code}}"}}), "refers to step `b`, which does not run before it"),
    ] {
        let message = refused(step(extra.clone()));
        assert!(message.contains(problem), "{extra}: {message}");
    }
}

#[tokio::test]
async fn serve_runs_take_inputs_refuse_bad_ones_and_record_them_hidden_where_secret() {
    let emulator = Emulator::start(Kind::Moto);
    let connectors = tempfile::tempdir().unwrap();
    std::fs::copy(components::GUEST_COGNITO, connectors.path().join("guest_cognito.wasm")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let endpoint = emulator.endpoint();
    let server = Server::start(BINARY, connectors.path(), data.path(), &["--endpoint-url", &endpoint], None).await;
    let mut workflow = onboarding();
    workflow["connectors"] = json!({"cognito": "aws-cognito"});

    let (status, body) = server.post("/v1/runs", &json!({"workflow": workflow, "inputs": {"username": "x y"}})).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (400, Some("invalid-inputs")), "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("pool_id") && message.contains("inputs/username"), "{message}");
    let (status, body) = server.post("/v1/runs", &json!({"workflow": workflow, "input": {}})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("`input` is neither"), "{body}");

    let inputs =
        json!({"pool_id": "us-east-1_doesNotExist", "username": "exampleUsername", "password": "Temp-Passw0rd!"});
    let (status, run) = server.post("/v1/runs", &json!({"workflow": workflow, "inputs": inputs})).await;
    assert_eq!(status, 200, "{run}");
    let (_, kept) = server.get(&format!("/v1/runs/{}", run["id"].as_str().unwrap())).await;
    assert_eq!(kept["status"], "succeeded", "a continued error and a skipped step do not fail the run: {kept}");
    assert_eq!(
        kept["inputs"],
        json!({"pool_id": "us-east-1_doesNotExist", "pool_name": "Marketing Department",
               "username": "exampleUsername", "password": "***"})
    );
    assert_eq!(kept["steps"][0]["continued"], true);
    assert_eq!(kept["steps"][3]["skipped"]["value"], false);
    assert!(!kept.to_string().contains("Temp-Passw0rd!"), "the secret input is nowhere in the record");
}

/// `(status, JSON body)` of `request`.
async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.expect("the server answers");
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// The HMAC-SHA256 of `body` keyed with `secret`, as `X-Signature-256` carries it.
fn signature(body: &[u8], secret: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let tag = ring::hmac::sign(&key, body);
    format!("sha256={}", tag.as_ref().iter().map(|b| format!("{b:02x}")).collect::<String>())
}

#[tokio::test]
async fn stored_workflows_are_versioned_run_by_name_and_started_by_their_webhooks() {
    const TOKEN: &str = "stored-workflows-token";
    let emulator = Emulator::start(Kind::Moto);
    let connectors = tempfile::tempdir().unwrap();
    std::fs::copy(components::GUEST_COGNITO, connectors.path().join("guest_cognito.wasm")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let endpoint = emulator.endpoint();
    let server =
        Server::start(BINARY, connectors.path(), data.path(), &["--endpoint-url", &endpoint], Some(TOKEN)).await;
    let mut workflow = onboarding();
    workflow["connectors"] = json!({"cognito": "aws-cognito"});
    let put =
        |body: &Value, name: &str| server.request(reqwest::Method::PUT, &format!("/v1/workflows/{name}")).json(body);

    // Saved twice: two versions, the latest listed.
    let (status, first) = answer(put(
        &json!({"name": "Old", "steps": workflow["steps"].clone(),
                                             "connectors": workflow["connectors"].clone(),
                                             "inputs": workflow["inputs"].clone()}),
        "onboard",
    ))
    .await;
    assert_eq!((status, first["version"].as_u64()), (201, Some(1)), "{first}");
    let (status, second) = answer(put(&workflow, "onboard")).await;
    assert_eq!((status, second["version"].as_u64(), second["steps"].as_u64()), (201, Some(2), Some(4)), "{second}");
    let (status, refused) = answer(put(&json!({"steps": []}), "onboard")).await;
    assert_eq!((status, refused["error"]["kind"].as_str()), (400, Some("invalid-workflow")), "{refused}");
    let (status, refused) = answer(put(&workflow, "bad%20name")).await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap().contains("cannot name a stored workflow"), "{refused}");
    let (_, listed) = server.get("/v1/workflows").await;
    assert_eq!(listed["workflows"].as_array().unwrap().len(), 1, "{listed}");
    assert_eq!(
        (listed["workflows"][0]["version"].as_u64(), &listed["workflows"][0]["title"]),
        (Some(2), &json!("Onboard"))
    );
    let (_, old) = server.get("/v1/workflows/onboard?version=1").await;
    assert_eq!((&old["title"], &old["versions"]), (&json!("Old"), &json!([1, 2])), "{old}");

    // Run by name: the body is the inputs; the record names the version.
    let inputs =
        json!({"pool_id": "us-east-1_doesNotExist", "username": "exampleUsername", "password": "Temp-Passw0rd!"});
    let (status, run) = server.post("/v1/workflows/onboard/runs", &inputs).await;
    assert_eq!(
        (status, run["status"].as_str(), run["workflow_version"].as_u64()),
        (200, Some("succeeded"), Some(2)),
        "{run}"
    );
    let (status, refused) = server.post("/v1/workflows/onboard/runs", &json!({"username": "x"})).await;
    assert_eq!((status, refused["error"]["kind"].as_str()), (400, Some("invalid-inputs")), "{refused}");
    assert_eq!(server.post("/v1/workflows/nope/runs", &inputs).await.0, 404);

    // A webhook: its secret is shown once, and proves the caller without
    // the API token, as a bearer token or as an HMAC of the body.
    let (status, hook) = server.post("/v1/workflows/onboard/hooks", &json!({})).await;
    assert_eq!(status, 201, "{hook}");
    let (path, secret) = (hook["path"].as_str().unwrap().to_owned(), hook["secret"].as_str().unwrap().to_owned());
    let (_, hooks) = server.get("/v1/workflows/onboard/hooks").await;
    assert_eq!(hooks["hooks"][0]["id"], hook["id"]);
    assert!(!hooks.to_string().contains(&secret), "listings never show a hook's secret");
    let client = reqwest::Client::new();
    let url = format!("{}{path}", server.base());
    let body = json!({"pool_id": "us-east-1_doesNotExist", "username": "hookUser", "password": "Temp-Passw0rd!"});
    let body = serde_json::to_vec(&body).unwrap();
    let post = |body: &[u8]| client.post(&url).header("content-type", "application/json").body(body.to_vec());
    assert_eq!(answer(post(&body)).await.0, 401, "no secret");
    assert_eq!(answer(post(&body).bearer_auth(TOKEN)).await.0, 401, "the API token is not the hook's secret");
    assert_eq!(
        answer(post(&body).header("x-signature-256", signature(b"{}", &secret))).await.0,
        401,
        "signed another body"
    );
    let (status, refused) = answer(post(b"{\"username\": 1}").bearer_auth(&secret)).await;
    assert_eq!((status, refused["error"]["kind"].as_str()), (400, Some("invalid-inputs")), "{refused}");
    let (status, started) = answer(post(&body).header("x-signature-256", signature(&body, &secret))).await;
    assert_eq!(status, 202, "{started}");
    let run_path = format!("/v1/runs/{}", started["id"].as_str().unwrap());
    server.wait_until(Duration::from_secs(30), async || server.get(&run_path).await.1["status"] == "succeeded").await;
    assert_eq!(server.get(&run_path).await.1["workflow_version"], 2);
    let (status, _) = answer(post(&body).bearer_auth(&secret)).await;
    assert_eq!(status, 202, "the secret as a bearer token");

    // Deleting the workflow deletes its versions and hooks.
    let (status, _) = answer(server.request(reqwest::Method::DELETE, "/v1/workflows/onboard")).await;
    assert_eq!(status, 204);
    assert_eq!(server.get("/v1/workflows/onboard").await.0, 404);
    assert_eq!(answer(post(&body).bearer_auth(&secret)).await.0, 401);
}

#[tokio::test]
async fn no_step_starts_past_the_runs_time_limit() {
    // Every answer takes 400 ms; the run may take 300.
    let slow = connector_tests::bench::start_fixed_server(Duration::from_millis(400)).await;
    let host = host_for(&slow).await;
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
    let connectors = BTreeMap::from([("cognito".to_owned(), cognito)]);
    let step = |id: &str| {
        json!({"id": id, "connector": "cognito", "operation": "admin_get_user",
               "input": {"user_pool_id": "us-east-1_abc", "username": "exampleUsername"}})
    };
    let workflow: Workflow =
        serde_json::from_value(json!({"max_duration_ms": 300, "steps": [step("first"), step("second")]})).unwrap();
    workflow.check().unwrap();
    let reports =
        connector_host::workflow::run(&host, &workflow, &connectors, &json!({}), |_, _: &StepReport| {}).await;
    assert!(matches!(reports[0].outcome, StepOutcome::Output(_)), "a step under way finishes");
    let StepOutcome::Error(error) = &reports[1].outcome else { panic!("{:?}", reports[1]) };
    assert_eq!(error["kind"], "run-time-limit");
    assert!(error["message"].as_str().unwrap().contains("time limit of 300 ms before step 2 (`second`)"), "{error}");
    let too_long: Workflow = serde_json::from_value(json!({"max_duration_ms": 0, "steps": [step("a")]})).unwrap();
    assert!(too_long.check().unwrap_err().to_string().contains("max_duration_ms is 0; it must be 1 to 86400000"));
}

#[tokio::test]
async fn a_loop_runs_its_step_per_item_with_its_condition_and_error_policy_per_iteration() {
    let emulator = Emulator::start(Kind::Moto);
    let host = host_for(&emulator.endpoint()).await;
    let people =
        json!([{"name": "ann", "admin": false}, {"name": "bob", "admin": true}, {"name": "cy", "admin": false}]);
    let workflow = |on_error: &str, concurrency: u32| -> Workflow {
        serde_json::from_value(json!({
            "connectors": {"cognito": "guest_cognito.wasm"},
            "inputs": {"type": "object", "properties": {"people": {"type": "array"}, "pool": {"type": "string"}}},
            "steps": [
                {"id": "users", "connector": "cognito", "operation": "admin_create_user",
                 "for_each": "{{inputs.people}}", "max_concurrency": concurrency, "if": "!item.admin",
                 "input": {"user_pool_id": "{{inputs.pool}}", "username": "{{item.name}}", "message_action": "SUPPRESS",
                           "client_metadata": {"position": "n{{index}}"}},
                 "on_error": on_error}
            ]
        }))
        .unwrap()
    };
    let components =
        BTreeMap::from([("cognito".to_owned(), std::path::PathBuf::from(components::GUEST_COGNITO).into())]);
    let looped = workflow("stop", 2);
    looped.check().unwrap();
    let connectors = connector_host::workflow::load_connectors(&host, &looped, &components).await.unwrap();
    let sdk = sdk_client(&emulator.endpoint(), test_credentials());
    let pool = sdk.create_user_pool().pool_name("Looped").send().await.unwrap();
    let pool_id = pool.user_pool().unwrap().id().unwrap().to_owned();
    let inputs = json!({"people": people, "pool": pool_id});

    let reports = connector_host::workflow::run(&host, &looped, &connectors, &inputs, |_, _: &StepReport| {}).await;
    let StepOutcome::Output(outputs) = &reports[0].outcome else { panic!("{:?}", reports[0]) };
    let outputs = outputs.as_array().unwrap();
    assert_eq!(outputs.len(), 3);
    assert!(outputs[0]["User"].is_object() && outputs[1].is_null() && outputs[2]["User"].is_object(), "{outputs:?}");
    let statuses: Vec<&str> = reports[0].iterations.iter().map(|i| i.outcome.status()).collect();
    assert_eq!(statuses, ["succeeded", "skipped", "succeeded"]);
    assert_eq!(reports[0].iterations[2].input["client_metadata"]["position"], "n2", "each iteration reads its index");
    for (name, exists) in [("ann", true), ("bob", false), ("cy", true)] {
        let found = sdk.admin_get_user().user_pool_id(&pool_id).username(name).send().await.is_ok();
        assert_eq!(found, exists, "{name}");
    }

    // Again: ann and cy exist now. Going on past a failed iteration keeps
    // the others; stopping ends the loop at the first failure.
    let inputs = json!({"people": [{"name": "dee", "admin": false}, {"name": "ann", "admin": false},
                                   {"name": "eve", "admin": false}], "pool": pool_id});
    let going_on = workflow("continue", 1);
    let reports = connector_host::workflow::run(&host, &going_on, &connectors, &inputs, |_, _: &StepReport| {}).await;
    let statuses: Vec<&str> = reports[0].iterations.iter().map(|i| i.outcome.status()).collect();
    assert_eq!(statuses, ["succeeded", "failed", "succeeded"]);
    assert!(reports[0].iterations[1].continued && !reports[0].stopped_run());
    let StepOutcome::Output(outputs) = &reports[0].outcome else { panic!("{:?}", reports[0]) };
    assert!(outputs[1].is_null());

    let inputs = json!({"people": [{"name": "fay", "admin": false}, {"name": "ann", "admin": false},
                                   {"name": "gus", "admin": false}], "pool": pool_id});
    let stopping = workflow("stop", 1);
    let reports = connector_host::workflow::run(&host, &stopping, &connectors, &inputs, |_, _: &StepReport| {}).await;
    assert_eq!(reports[0].iterations.len(), 2, "no iteration starts after one that stops the loop");
    let StepOutcome::Error(error) = &reports[0].outcome else { panic!("{:?}", reports[0]) };
    assert_eq!((error["kind"].as_str(), error["index"].as_u64()), (Some("iteration-failed"), Some(1)), "{error}");
    assert_eq!(error["error"]["code"], "UsernameExistsException");
    assert!(sdk.admin_get_user().user_pool_id(&pool_id).username("gus").send().await.is_err());

    // Too many items, and items that are not an array, fail the step.
    let inputs = json!({"people": {"name": "x"}, "pool": pool_id});
    let reports = connector_host::workflow::run(&host, &stopping, &connectors, &inputs, |_, _: &StepReport| {}).await;
    let StepOutcome::Error(error) = &reports[0].outcome else { panic!("{:?}", reports[0]) };
    assert!(error["message"].as_str().unwrap().contains("for_each must be an array, and is an object"), "{error}");
    let mut limited = json!({"steps": [{"id": "l", "connector": "c", "operation": "op", "for_each": [1, 2, 3],
                                        "max_items": 2}]});
    let small: Workflow = serde_json::from_value(limited.clone()).unwrap();
    small.check().unwrap();
    limited["steps"][0]["max_concurrency"] = json!(0);
    let bad: Workflow = serde_json::from_value(limited).unwrap();
    assert!(bad.check().unwrap_err().to_string().contains("max_concurrency is 0; it must be 1 to 16"));
    let outside: Workflow = serde_json::from_value(json!({"steps": [
        {"id": "a", "connector": "c", "operation": "op", "input": {"x": "{{item.name}}"}}]}))
    .unwrap();
    assert!(format!("{:#}", outside.check().unwrap_err()).contains("only a step's input in a for_each loop has one"));
}

/// The runs a server keeps of `workflow`.
async fn runs_of(server: &Server, workflow: &str) -> Vec<Value> {
    let (_, listed) = server.get("/v1/runs?limit=1000").await;
    listed["runs"].as_array().unwrap().iter().filter(|run| run["workflow"] == workflow).cloned().collect()
}

#[tokio::test]
async fn a_schedule_starts_runs_on_its_cron_once_each_and_reports_what_it_missed_while_down() {
    let emulator = Emulator::start(Kind::Moto);
    let connectors = tempfile::tempdir().unwrap();
    std::fs::copy(components::GUEST_COGNITO, connectors.path().join("guest_cognito.wasm")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let endpoint = emulator.endpoint();
    let args = ["--endpoint-url", endpoint.as_str()];
    let server = Server::start(BINARY, connectors.path(), data.path(), &args, None).await;
    let workflow = json!({
        "name": "Ticks",
        "connectors": {"cognito": "aws-cognito"},
        "inputs": {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
        "steps": [{"id": "list", "connector": "cognito", "operation": "list_user_pools", "input": {"max_results": "{{inputs.n}}"}}]
    });
    let put = |path: &str, body: &Value| server.request(reqwest::Method::PUT, path).json(body);
    assert_eq!(answer(put("/v1/workflows/ticks", &workflow)).await.0, 201);

    // Bad schedules are refused, naming why.
    for (schedule, problem) in [
        (json!({"cron": "61 * * * *"}), "is not a cron pattern"),
        (json!({"cron": "* * * * *", "timezone": "Mars/Olympus"}), "is not an IANA time zone"),
        (json!({"cron": "* * * * *", "inputs": {"n": "ten"}}), "inputs/n"),
        (json!({"cron": "* * * * *", "every": 5}), "unknown field `every`"),
    ] {
        let (status, body) = answer(put("/v1/workflows/ticks/schedule", &schedule)).await;
        assert_eq!(status, 400, "{schedule}: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains(problem), "{schedule}: {body}");
    }
    assert_eq!(answer(put("/v1/workflows/nope/schedule", &json!({"cron": "* * * * *"}))).await.0, 404);

    // Every second, in a time zone.
    let every_second = json!({"cron": "* * * * * *", "timezone": "Europe/Berlin", "inputs": {"n": 5}});
    let (status, set) = answer(put("/v1/workflows/ticks/schedule", &every_second)).await;
    assert_eq!(status, 200, "{set}");
    server.wait_until(Duration::from_secs(20), async || runs_of(&server, "Ticks").await.len() >= 3).await;
    let runs = runs_of(&server, "Ticks").await;
    let (_, first) = server.get(&format!("/v1/runs/{}", runs.last().unwrap()["id"].as_str().unwrap())).await;
    assert_eq!((first["status"].as_str(), first["workflow_version"].as_u64()), (Some("succeeded"), Some(1)), "{first}");
    assert_eq!(first["inputs"], json!({"n": 5}));

    // Down for about four seconds: the times passed are reported, and only
    // the latest runs.
    let before = runs_of(&server, "Ticks").await.len();
    assert!(server.stop(Duration::from_secs(30)).success());
    std::thread::sleep(Duration::from_secs(4));
    let server = Server::start(BINARY, connectors.path(), data.path(), &args, None).await;
    server
        .wait_until(Duration::from_secs(20), async || {
            server.get("/v1/workflows/ticks/schedule").await.1["missed_total"].as_u64() >= Some(2)
        })
        .await;
    let (_, schedule) = server.get("/v1/workflows/ticks/schedule").await;
    assert!(!schedule["missed"].as_array().unwrap().is_empty(), "{schedule}");
    // Removed: no run starts after it.
    let removed = answer(server.request(reqwest::Method::DELETE, "/v1/workflows/ticks/schedule")).await.0;
    assert_eq!(removed, 204);
    // A time claimed just before the removal may still start its run.
    std::thread::sleep(Duration::from_millis(1000));
    let after_removal = runs_of(&server, "Ticks").await.len();
    let missed = schedule["missed_total"].as_u64().unwrap() as usize;
    assert!(
        after_removal < before + missed,
        "the missed times did not all run: {before} + {missed} vs {after_removal}"
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(runs_of(&server, "Ticks").await.len(), after_removal, "no run after the schedule went");
    assert_eq!(server.get("/v1/workflows/ticks/schedule").await.0, 404);
}
