//! The seed workflow shipped in host/workflows: a user pool, then a user in
//! it, the second step taking the pool id from the first step's output.

use std::collections::BTreeMap;
use std::path::PathBuf;

use connector_host::workflow::{StepOutcome, Workflow};
use connector_tests::emulator::{Emulator, Kind};
use connector_tests::{components, host_for, sdk_client, test_credentials};

fn seed_workflow() -> Workflow {
    let path = connector_tests::seed_workflow_path();
    Workflow::from_file(&path).expect("the seed workflow parses")
}

async fn run_seed(kind: Kind) {
    let emulator = Emulator::start(kind);
    let host = host_for(&emulator.endpoint()).await;
    let components = BTreeMap::from([("cognito".to_owned(), PathBuf::from(components::GUEST_COGNITO))]);
    let mut seen = Vec::new();
    let reports = connector_tests::run_workflow(&host, &seed_workflow(), &components, |i, report| {
        seen.push((i, report.id.clone()))
    })
    .await
    .expect("the workflow runs");
    assert_eq!(seen, [(0, "create_user_pool".to_owned()), (1, "create_user".to_owned())]);

    let StepOutcome::Output(pool) = &reports[0].outcome else { panic!("step 1 failed: {:?}", reports[0].outcome) };
    let StepOutcome::Output(user) = &reports[1].outcome else { panic!("step 2 failed: {:?}", reports[1].outcome) };
    let pool_id = pool["UserPool"]["Id"].as_str().expect("UserPool.Id");
    assert_eq!(reports[0].input["pool_name"], "Marketing Department");
    assert_eq!(reports[1].input["user_pool_id"], pool_id, "step 2's input carries step 1's pool id");
    // The model calls user names sensitive: the record hides it; the SDK
    // reads the user back below.
    assert_eq!(user["User"]["Username"], "***");

    let sdk = sdk_client(&emulator.endpoint(), test_credentials());
    let described = sdk.describe_user_pool().user_pool_id(pool_id).send().await.unwrap();
    assert_eq!(described.user_pool().unwrap().name(), Some("Marketing Department"));
    let fetched = sdk.admin_get_user().user_pool_id(pool_id).username("exampleUsername").send().await.unwrap();
    assert_eq!(fetched.username(), "exampleUsername");
    let email = fetched.user_attributes().iter().find(|a| a.name() == "email").and_then(|a| a.value());
    assert_eq!(email, Some("example@example.com"));
}

#[tokio::test]
async fn seed_workflow_on_moto() {
    run_seed(Kind::Moto).await;
}

#[tokio::test]
async fn seed_workflow_on_ministack() {
    run_seed(Kind::Ministack { auth: false }).await;
}

#[tokio::test]
async fn a_failing_step_stops_the_workflow_with_its_error() {
    let emulator = Emulator::start(Kind::Moto);
    let host = host_for(&emulator.endpoint()).await;
    let mut workflow = seed_workflow();
    workflow.steps.insert(
        0,
        serde_json::from_value(serde_json::json!({
            "id": "missing", "connector": "cognito", "operation": "describe_user_pool",
            "input": {"user_pool_id": "us-east-1_doesnotexist"}
        }))
        .unwrap(),
    );
    let components = BTreeMap::from([("cognito".to_owned(), PathBuf::from(components::GUEST_COGNITO))]);
    let reports = connector_tests::run_workflow(&host, &workflow, &components, |_, _| {}).await.unwrap();
    assert_eq!(reports.len(), 1, "later steps do not run");
    let StepOutcome::Error(error) = &reports[0].outcome else { panic!("expected an error") };
    assert_eq!(error["kind"], "service");
    assert_eq!(error["code"], "ResourceNotFoundException");
}

/// A run picked up again keeps the steps it recorded, but one whose
/// recorded output had secrets hidden runs again when a later step uses
/// its output: the record's `"***"` cannot stand in for the real value.
#[tokio::test]
async fn a_resumed_run_runs_again_a_masked_step_whose_output_is_used() {
    use connector_host::CallContext;
    use connector_host::workflow::{StepReport, resume};
    let host = host_for("http://127.0.0.1:9").await;
    let hostile = host.load(components::HOSTILE).await.unwrap();
    let connectors = BTreeMap::from([("h".to_owned(), hostile)]);
    let workflow: Workflow = serde_json::from_value(serde_json::json!({"steps": [
        {"id": "plain", "connector": "h", "operation": "echo", "input": {"note": "n"}},
        {"id": "secret", "connector": "h", "operation": "echo", "input": {"token": "tok-abcdef-123"}},
        {"id": "uses", "connector": "h", "operation": "echo", "input": {"note": "{{steps.secret.output.token}}"}}
    ]}))
    .unwrap();
    let no_inputs = serde_json::json!({});
    let first = connector_host::workflow::run(&host, &workflow, &connectors, &no_inputs, |_, _: &StepReport| {}).await;
    assert_eq!((first[0].masked, first[1].masked, first[2].masked), (false, true, true));
    let mut ran = Vec::new();
    let mut observer = |_: usize, report: &StepReport| ran.push(report.id.clone());
    let resumed =
        resume(&host, &workflow, &connectors, &no_inputs, first[..2].to_vec(), &CallContext::default(), &mut observer)
            .await;
    assert_eq!(ran, ["secret", "uses"], "the masked step whose output is used runs again; the plain one does not");
    let StepOutcome::Output(last) = &resumed[2].outcome else { panic!("the last step failed: {:?}", resumed[2]) };
    assert_eq!(last, &serde_json::json!({"note": "***"}));
    assert!(resumed[2].masked, "the real token reached the last step");
}

/// A step that failed and went on stands as recorded when a run resumes,
/// even though its input still does not resolve: the steps after it are
/// not run again.
#[tokio::test]
async fn a_resumed_run_keeps_a_continued_failure_and_what_came_after() {
    use connector_host::CallContext;
    use connector_host::workflow::{StepReport, resume};
    let host = host_for("http://127.0.0.1:9").await;
    let hostile = host.load(components::HOSTILE).await.unwrap();
    let connectors = BTreeMap::from([("h".to_owned(), hostile)]);
    let workflow: Workflow = serde_json::from_value(serde_json::json!({"steps": [
        {"id": "first", "connector": "h", "operation": "echo", "input": {"note": "n"}},
        {"id": "broken", "connector": "h", "operation": "echo", "input": {"note": "{{steps.first.output.missing}}"},
         "on_error": "continue"},
        {"id": "last", "connector": "h", "operation": "echo", "input": {"note": "{{steps.first.output.note}}"}}
    ]}))
    .unwrap();
    let no_inputs = serde_json::json!({});
    let first = connector_host::workflow::run(&host, &workflow, &connectors, &no_inputs, |_, _: &StepReport| {}).await;
    let statuses: Vec<&str> = first.iter().map(|r| r.outcome.status()).collect();
    assert_eq!(statuses, ["succeeded", "failed", "succeeded"]);
    let mut ran = Vec::new();
    let mut observer = |_: usize, report: &StepReport| ran.push(report.id.clone());
    let resumed =
        resume(&host, &workflow, &connectors, &no_inputs, first.clone(), &CallContext::default(), &mut observer).await;
    assert!(ran.is_empty(), "nothing ran again: {ran:?}");
    assert_eq!(resumed.len(), 3);
}

/// A finished loop stands when its run resumes (its input, read per item,
/// is not resolved again without one), and its output hides what the
/// operation's output schema marks secret in every item, however short.
#[tokio::test]
async fn a_resumed_run_keeps_a_finished_loop_whose_output_hides_short_secrets() {
    use connector_host::CallContext;
    use connector_host::workflow::{StepReport, resume};
    let host = host_for("http://127.0.0.1:9").await;
    let hostile = host.load(components::HOSTILE).await.unwrap();
    let connectors = BTreeMap::from([("h".to_owned(), hostile)]);
    let workflow: Workflow = serde_json::from_value(serde_json::json!({"steps": [
        {"id": "each", "connector": "h", "operation": "echo", "for_each": [{"t": "abc"}, {"t": "xyz"}],
         "input": {"token": "{{item.t}}"}},
        {"id": "after", "connector": "h", "operation": "echo", "input": {"note": "done"}}
    ]}))
    .unwrap();
    let no_inputs = serde_json::json!({});
    let first = connector_host::workflow::run(&host, &workflow, &connectors, &no_inputs, |_, _: &StepReport| {}).await;
    let StepOutcome::Output(shown) = &first[0].outcome else { panic!("{:?}", first[0]) };
    assert_eq!(shown, &serde_json::json!([{"token": "***"}, {"token": "***"}]));
    let mut ran = Vec::new();
    let mut observer = |_: usize, report: &StepReport| ran.push(report.id.clone());
    let resumed =
        resume(&host, &workflow, &connectors, &no_inputs, first.clone(), &CallContext::default(), &mut observer).await;
    assert!(ran.is_empty(), "nothing ran again: {ran:?}");
    assert_eq!(resumed.len(), 2);
}
