//! The capability under upstream faults: bounded retries with backoff for
//! what may pass, none for what will not, and a clear error for every
//! broken answer. A scripted loopback server counts the attempts.

use std::time::Duration;

use connector_host::{CallContext, CarriedOut, ConnectorHost, HttpLimits, InvokeError, RetryPolicy, SendError};
use connector_tests::capture::{CaptureServer, Reply};
use connector_tests::{components, host_config, test_credentials};
use serde_json::json;

const USER: &str = r#"{"Username":"exampleUsername","UserAttributes":[],"Enabled":true,"UserStatus":"CONFIRMED"}"#;

struct Faulty {
    server: CaptureServer,
    host: ConnectorHost,
    cognito: connector_host::Connector,
}

async fn faulty() -> Faulty {
    let server = CaptureServer::start();
    let mut config = host_config(&server.endpoint(), test_credentials());
    config.retry = RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
    };
    config.http =
        HttpLimits { request_timeout: Duration::from_millis(500), max_response_bytes: 4096, ..HttpLimits::default() };
    let host = ConnectorHost::new(config).await.unwrap();
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
    Faulty { server, host, cognito }
}

impl Faulty {
    /// Runs admin_get_user against `replies`; returns the outcome and how
    /// many attempts reached the server.
    async fn get_user(&self, replies: Vec<Reply>) -> (Result<serde_json::Value, InvokeError>, usize) {
        self.server.script(replies);
        let result =
            self.host.invoke(&self.cognito, "admin_get_user", &json!({"user_pool_id": "p_1", "username": "u"})).await;
        (result, self.server.take().len())
    }
}

#[tokio::test]
async fn server_errors_are_retried_until_one_succeeds() {
    let f = faulty().await;
    let (result, attempts) = f
        .get_user(vec![
            Reply::aws_error(500, "InternalErrorException"),
            Reply::json(502, "bad gateway"),
            Reply::json(200, USER),
        ])
        .await;
    assert_eq!(result.unwrap()["Username"], "exampleUsername");
    assert_eq!(attempts, 3);
}

#[tokio::test]
async fn throttling_is_retried_then_reported_as_retryable() {
    let f = faulty().await;
    let (result, attempts) =
        f.get_user(vec![Reply::aws_error(400, "ThrottlingException"), Reply::json(200, USER)]).await;
    assert!(result.is_ok());
    assert_eq!(attempts, 2);

    let (result, attempts) = f.get_user(vec![Reply::aws_error(400, "TooManyRequestsException"); 3]).await;
    match result {
        Err(InvokeError::Service { code, retryable, status, .. }) => {
            assert_eq!((code.as_str(), retryable, status), ("TooManyRequestsException", true, 400))
        }
        other => panic!("expected the throttling error, got {other:?}"),
    }
    assert_eq!(attempts, 3, "3 attempts by default, then the error");

    let (result, attempts) = f.get_user(vec![Reply::json(429, "{}"); 3]).await;
    assert!(matches!(result, Err(InvokeError::Service { status: 429, retryable: true, .. })), "{result:?}");
    assert_eq!(attempts, 3);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let f = faulty().await;
    for code in ["UserNotFoundException", "InvalidParameterException", "NotAuthorizedException"] {
        let (result, attempts) = f.get_user(vec![Reply::aws_error(400, code)]).await;
        assert!(
            matches!(&result, Err(InvokeError::Service { code: c, retryable: false, .. }) if c == code),
            "{result:?}"
        );
        assert_eq!(attempts, 1, "{code} is final");
    }
}

#[tokio::test]
async fn dropped_and_truncated_answers_are_retried() {
    let f = faulty().await;
    let (result, attempts) = f.get_user(vec![Reply::Reset, Reply::json(200, USER)]).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(attempts, 2);

    let truncated = Reply::Truncated { declared: 200, body: br#"{"Username":"exa"#.to_vec() };
    let (result, attempts) = f.get_user(vec![truncated, Reply::json(200, USER)]).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(attempts, 2);

    let (result, attempts) = f.get_user(vec![Reply::Reset; 3]).await;
    match result {
        Err(InvokeError::Capability(SendError::Transport(message))) => assert!(!message.is_empty()),
        other => panic!("expected a transport failure, got {other:?}"),
    }
    assert_eq!(attempts, 3);
}

/// A request of an operation that is not safe to repeat is not tried
/// again once it may have been carried out (a server fault, a connection
/// lost after sending): the call fails saying so, for a run to repeat its
/// step knowingly. What the service turned away (throttling) is still
/// tried again, and a call turned away throughout did nothing.
#[tokio::test]
async fn a_create_is_not_tried_again_once_it_may_have_been_done() {
    let f = faulty().await;
    let client = json!({"user_pool_id": "p_1", "client_name": "web"});
    let created = Reply::json(200, r#"{"UserPoolClient":{"ClientId":"c1"}}"#);
    let create = async |replies: Vec<Reply>| {
        f.server.script(replies);
        let outcome =
            f.host.invoke_outcome(&f.cognito, "create_user_pool_client", &client, &CallContext::default()).await;
        (outcome, f.server.take().len())
    };
    // Scripted alone: a second try would get the server's `200 {}`.
    for fault in [Reply::aws_error(500, "InternalErrorException"), Reply::Reset] {
        let (outcome, attempts) = create(vec![fault.clone()]).await;
        assert!(outcome.result.is_err(), "{fault:?}: {:?}", outcome.result);
        assert_eq!(outcome.carried_out, CarriedOut::Possibly, "{fault:?}");
        assert_eq!(attempts, 1, "{fault:?} may have created the client: not tried again");
    }
    let (outcome, attempts) = create(vec![Reply::aws_error(400, "ThrottlingException"), created.clone()]).await;
    assert_eq!(outcome.result.unwrap()["UserPoolClient"]["ClientId"], "c1");
    assert_eq!((outcome.carried_out, attempts), (CarriedOut::Possibly, 2));
    let (outcome, attempts) = create(vec![Reply::aws_error(400, "ThrottlingException"); 3]).await;
    assert!(matches!(outcome.result, Err(InvokeError::Service { retryable: true, .. })), "{:?}", outcome.result);
    assert_eq!((outcome.carried_out, attempts), (CarriedOut::No, 3), "turned away each time: nothing done");
    // An operation that only reads is tried again after a fault.
    let (result, attempts) =
        f.get_user(vec![Reply::aws_error(500, "InternalErrorException"), Reply::json(200, USER)]).await;
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(attempts, 2);
}

#[tokio::test]
async fn a_slow_body_times_out_each_attempt() {
    let f = faulty().await;
    let slow = Reply::SlowBody { delay: Duration::from_secs(2), body: USER.as_bytes().to_vec() };
    let (result, attempts) = f.get_user(vec![slow.clone(), slow.clone(), slow]).await;
    match result {
        Err(InvokeError::Capability(SendError::Transport(message))) => {
            assert!(message.contains("timed out"), "{message}")
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(attempts, 3);
}

#[tokio::test]
async fn oversized_and_garbage_bodies_fail_clearly_without_retry() {
    let f = faulty().await;
    let huge = format!(r#"{{"Username":"{}"}}"#, "x".repeat(10_000));
    let (result, attempts) = f.get_user(vec![Reply::json(200, &huge)]).await;
    match result {
        Err(InvokeError::Capability(SendError::LimitExceeded(message))) => {
            assert_eq!(message, "response body is over the 4096 byte limit")
        }
        other => panic!("expected the size limit, got {other:?}"),
    }
    assert_eq!(attempts, 1);

    let (result, attempts) = f.get_user(vec![Reply::json(200, "{\"Username\": tru")]).await;
    match result {
        Err(InvokeError::Connector(message)) => {
            assert!(message.contains("AdminGetUser returned a body that is not JSON"), "{message}")
        }
        other => panic!("expected a clear parse error, got {other:?}"),
    }
    assert_eq!(attempts, 1);

    let (result, _) = f.get_user(vec![Reply::json(503, "<html>Service Unavailable</html>"); 3]).await;
    assert!(matches!(result, Err(InvokeError::Service { status: 503, retryable: true, .. })), "{result:?}");
}
