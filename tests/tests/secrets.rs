//! No secret is ever reachable: with known fake credentials, every kind of
//! call (signed workflow steps, service and input errors, retries, hostile
//! guests probing the capability and their sandbox) leaves no trace of the
//! secret key or session token in anything returned to the caller, anything
//! a connector can read, or any log line at trace level.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use connector_host::workflow::Workflow;
use connector_host::{ConnectorHost, Credentials, RetryPolicy};
use connector_tests::capture::{CaptureServer, Reply};
use connector_tests::emulator::{Emulator, Kind};
use connector_tests::{components, host_config};
use serde_json::json;

const SECRET: &str = "SECRETKEY-do-not-leak-7f3a9c1e";
const TOKEN: &str = "SESSIONTOKEN-do-not-leak-91b2e4d0";

#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn credentials() -> Credentials {
    Credentials::new("AKIDSECRETSCAN", SECRET, Some(TOKEN.to_owned()), None, "secret-scan")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_logs_outputs_errors_or_guests() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();
    let mut seen: Vec<String> = Vec::new();

    // Signed calls against an emulator: a workflow, errors of every kind.
    let emulator = Emulator::start(Kind::Moto);
    let host = ConnectorHost::new(host_config(&emulator.endpoint(), credentials())).await.unwrap();
    let workflow_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host/workflows/marketing-department.json");
    let components_by_alias = BTreeMap::from([("cognito".to_owned(), PathBuf::from(components::GUEST_COGNITO))]);
    let reports = connector_tests::run_workflow(
        &host,
        &Workflow::from_file(&workflow_path).unwrap(),
        &components_by_alias,
        |_, _| {},
    )
    .await
    .unwrap();
    seen.push(serde_json::to_string(&reports).unwrap());
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
    for (operation, input) in [
        ("describe_user_pool", json!({"user_pool_id": "us-east-1_missing"})),
        ("create_user_pool", json!({"pool_name": 3})),
        ("call_api", json!({"action": "ListUserPools", "input": {"MaxResults": 5}})),
        ("sign_up", json!({"client_id": "nope", "username": "u", "password": "Passw0rd!!"})),
    ] {
        seen.push(format!("{:?}", host.invoke(&cognito, operation, &input).await));
    }

    // A hostile connector probing everything it can reach.
    let hostile = host.load(components::HOSTILE).await.unwrap();
    for (operation, input) in [
        ("read_environment", json!({})),
        ("call_service", json!({"service": "cognito-idp"})),
        ("call_service", json!({"service": "sts"})),
        ("set_header", json!({"name": "Authorization"})),
        ("set_header", json!({"name": "X-Amz-Security-Token"})),
        ("use_path", json!({"path": "//169.254.169.254/latest/meta-data/"})),
        ("call_many", json!({"times": 3})),
        ("echo", json!({"probe": true})),
        ("panic", json!({})),
    ] {
        seen.push(format!("{:?}", host.invoke(&hostile, operation, &input).await));
    }

    // Retries and transport failures.
    let server = CaptureServer::start();
    server.script([Reply::aws_error(500, "InternalErrorException"), Reply::Reset, Reply::json(200, "{}")]);
    let mut config = host_config(&server.endpoint(), credentials());
    config.retry = RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    };
    let retrying = ConnectorHost::new(config).await.unwrap();
    let cognito_retrying = retrying.load(components::GUEST_COGNITO).await.unwrap();
    seen.push(format!("{:?}", retrying.invoke(&cognito_retrying, "list_user_pools", &json!({"max_results": 1})).await));
    let captured = server.take();
    assert_eq!(captured.len(), 3);
    assert!(captured.iter().all(|r| r.header("x-amz-security-token") == Some(TOKEN)), "the token is sent to AWS");
    let dead = ConnectorHost::new(host_config("http://127.0.0.1:9", credentials())).await.unwrap();
    let cognito_dead = dead.load(components::GUEST_COGNITO).await.unwrap();
    seen.push(format!("{:?}", dead.invoke(&cognito_dead, "list_user_pools", &json!({"max_results": 1})).await));

    let logs = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("signing request"), "the scan covers the signer's trace output");
    assert!(logs.contains("AKIDSECRETSCAN"), "the signer's trace names the (public) access key id");
    assert!(logs.contains("retrying signed-http request"), "the scan covers retries");
    assert!(logs.contains("panics on purpose"), "the scan covers connector stderr");
    assert!(
        logs.lines().any(|l| l.contains("panics on purpose")
            && l.contains("connector=hostile")
            && l.contains("stream=\"stderr\"")),
        "connector stderr is logged tagged with the connector's name"
    );
    assert!(seen.iter().any(|s| s.contains("Marketing Department")), "the scan covers workflow output");
    for secret in [SECRET, TOKEN] {
        assert!(!logs.contains(secret), "a log line holds a secret:\n{}", line_with(&logs, secret));
        for text in &seen {
            assert!(!text.contains(secret), "returned data holds a secret: {text}");
        }
    }
}

fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines().find(|l| l.contains(needle)).unwrap_or("")
}
