//! Hostile connectors: each misbehaviour is stopped or refused with its own
//! error kind, nothing reaches the network that should not, and a normal
//! invocation running at the same time still succeeds.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use connector_host::{Connector, ConnectorHost, HttpLimits, InvokeError, SandboxLimits};
use connector_tests::capture::CaptureServer;
use connector_tests::{components, host_config, test_credentials};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_millis(1500);
const MAX_CALLS: u32 = 50;

struct Arena {
    server: CaptureServer,
    host: ConnectorHost,
    hostile: Connector,
    cognito: Connector,
}

async fn arena_with(grants: BTreeMap<String, BTreeSet<String>>) -> Arena {
    let server = CaptureServer::start();
    server.respond_with(200, br#"{"UserPool":{"Id":"us-east-1_fine","Name":"Fine"}}"#);
    let mut config = host_config(&server.endpoint(), test_credentials());
    config.sandbox = SandboxLimits {
        timeout: TIMEOUT,
        memory_bytes: 32 * 1024 * 1024,
        max_output_bytes: 1024 * 1024,
        max_concurrent_invocations: 64,
        ..SandboxLimits::default()
    };
    config.http = HttpLimits { max_calls_per_invocation: MAX_CALLS, ..HttpLimits::default() };
    config.grants = grants;
    let host = ConnectorHost::new(config).await.unwrap();
    let hostile = host.load(components::HOSTILE).await.unwrap();
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
    Arena { server, host, hostile, cognito }
}

async fn arena() -> Arena {
    arena_with(BTreeMap::new()).await
}

impl Arena {
    /// Runs a hostile operation while a normal Cognito invocation runs
    /// beside it; the normal one must succeed.
    async fn hostile(&self, operation: &str, input: Value) -> Result<Value, InvokeError> {
        let normal = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            self.host.invoke(&self.cognito, "describe_user_pool", &json!({"user_pool_id": "us-east-1_fine"})).await
        };
        let (hostile, normal) = tokio::join!(self.host.invoke(&self.hostile, operation, &input), normal);
        assert_eq!(normal.expect("the normal invocation succeeds beside a hostile one")["UserPool"]["Name"], "Fine");
        hostile
    }

    /// Requests that reached the network, without the normal invocations'.
    fn hostile_requests(&self) -> usize {
        self.server.take().iter().filter(|r| r.header("x-amz-target").is_none()).count()
    }
}

#[tokio::test]
async fn an_endless_loop_is_stopped_at_the_deadline() {
    let arena = arena().await;
    let started = std::time::Instant::now();
    let result = arena.hostile("loop_forever", json!({})).await;
    assert!(matches!(result, Err(InvokeError::Timeout(t)) if t == TIMEOUT), "{result:?}");
    assert!(started.elapsed() < TIMEOUT + Duration::from_secs(2), "stopped promptly: {:?}", started.elapsed());
}

#[tokio::test]
async fn unbounded_allocation_hits_the_memory_limit() {
    let arena = arena().await;
    let result = arena.hostile("allocate_forever", json!({})).await;
    assert!(matches!(result, Err(InvokeError::MemoryLimit(limit)) if limit == 32 * 1024 * 1024), "{result:?}");
}

#[tokio::test]
async fn a_stack_overflow_is_a_trap() {
    let arena = arena().await;
    let result = arena.hostile("recurse_forever", json!({})).await;
    assert!(matches!(&result, Err(InvokeError::Trap(m)) if m.contains("stack overflow")), "{result:?}");
}

#[tokio::test]
async fn a_panic_is_a_trap_with_its_message() {
    let arena = arena().await;
    let result = arena.hostile("panic", json!({})).await;
    assert!(matches!(&result, Err(InvokeError::Trap(m)) if m.contains("panics on purpose")), "{result:?}");
}

#[tokio::test]
async fn oversized_and_invalid_output_are_refused() {
    let arena = arena().await;
    let result = arena.hostile("huge_output", json!({"bytes": 2_000_000})).await;
    assert!(matches!(result, Err(InvokeError::OutputTooLarge { limit: 1_048_576, .. })), "{result:?}");
    let result = arena.hostile("invalid_json", json!({})).await;
    assert!(matches!(result, Err(InvokeError::InvalidOutput(_))), "{result:?}");
}

#[tokio::test]
async fn an_ungranted_service_is_denied() {
    let arena = arena().await;
    let seen = arena.hostile("call_service", json!({"service": "s3"})).await.unwrap();
    let error = seen["error"].as_str().unwrap();
    assert!(error.starts_with("SendError::Denied(") && error.contains("`s3` is not granted"), "{error}");
    assert_eq!(arena.hostile_requests(), 0);

    // The declared service is granted unless the operator narrows it.
    let seen = arena.hostile("call_service", json!({"service": "cognito-idp"})).await.unwrap();
    assert_eq!(seen["status"], 200);
    let narrowed = arena_with(BTreeMap::from([("hostile".to_owned(), BTreeSet::new())])).await;
    let seen = narrowed.hostile("call_service", json!({"service": "cognito-idp"})).await.unwrap();
    assert!(seen["error"].as_str().unwrap().contains("granted: none"), "{seen}");
    assert_eq!(narrowed.hostile_requests(), 0);
}

#[tokio::test]
async fn host_owned_headers_are_refused() {
    let arena = arena().await;
    for name in
        ["Authorization", "X-Amz-Security-Token", "Host", "x-amz-date", "X-Amz-Content-Sha256", "Content-Length"]
    {
        let seen = arena.hostile("set_header", json!({"name": name})).await.unwrap();
        let error = seen["error"].as_str().unwrap_or_default();
        assert!(error.starts_with("SendError::InvalidRequest(") && error.contains(name), "{name}: {seen}");
    }
    assert_eq!(arena.hostile_requests(), 0);
}

#[tokio::test]
async fn path_tricks_are_refused() {
    let arena = arena().await;
    for path in
        ["https://attacker.example/", "//attacker.example/x", "/a\r\nHost: attacker.example", "relative", "/a b"]
    {
        let seen = arena.hostile("use_path", json!({"path": path})).await.unwrap();
        let error = seen["error"].as_str().unwrap_or_default();
        assert!(error.starts_with("SendError::InvalidRequest("), "{path:?}: {seen}");
    }
    assert_eq!(arena.hostile_requests(), 0);
}

#[tokio::test]
async fn capability_calls_are_capped_per_invocation() {
    let arena = arena().await;
    let result = arena.hostile("call_many", json!({"times": 10_000})).await;
    match result {
        Err(InvokeError::Capability(message)) => {
            assert!(
                message.contains(&format!("call {}", MAX_CALLS + 1)) && message.contains("LimitExceeded"),
                "{message}"
            )
        }
        other => panic!("expected the call limit, got {other:?}"),
    }
    assert_eq!(arena.hostile_requests(), MAX_CALLS as usize);
}

#[tokio::test]
async fn no_environment_files_or_sockets() {
    let arena = arena().await;
    let seen = arena.hostile("read_environment", json!({})).await.unwrap();
    assert_eq!(seen["env"], json!([]), "no environment variables: {seen}");
    assert_eq!(seen["args"], json!([]), "no arguments: {seen}");
    for file in seen["files"].as_array().unwrap() {
        assert!(!file.as_str().unwrap().contains("read "), "no file is readable: {seen}");
    }
    let socket = arena.hostile("open_socket", json!({})).await.unwrap();
    assert!(socket.as_str().unwrap().starts_with("refused"), "{socket}");
}

#[tokio::test]
async fn the_host_keeps_serving_after_every_failure() {
    let arena = arena().await;
    for (operation, input) in [
        ("panic", json!({})),
        ("allocate_forever", json!({})),
        ("recurse_forever", json!({})),
        ("invalid_json", json!({})),
    ] {
        assert!(arena.host.invoke(&arena.hostile, operation, &input).await.is_err());
        let echo = arena.host.invoke(&arena.hostile, "echo", &json!({"still": "alive"})).await.unwrap();
        assert_eq!(echo, json!({"still": "alive"}), "a fresh instance after {operation}");
    }
}

#[tokio::test]
async fn a_full_instance_pool_fails_only_the_extra_invocation() {
    let server = CaptureServer::start();
    let slow = connector_tests::capture::Reply::SlowBody { delay: Duration::from_millis(800), body: b"{}".to_vec() };
    server.script([slow.clone(), slow]);
    let mut config = host_config(&server.endpoint(), test_credentials());
    config.sandbox = SandboxLimits { max_concurrent_invocations: 2, ..SandboxLimits::default() };
    let host = ConnectorHost::new(config).await.unwrap();
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
    let input = json!({"max_results": 1});
    let held = || host.invoke(&cognito, "list_user_pools", &input);
    let extra = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        host.invoke(&cognito, "list_user_pools", &input).await
    };
    let (first, second, third) = tokio::join!(held(), held(), extra);
    assert!(first.is_ok() && second.is_ok(), "{first:?} {second:?}");
    match third {
        Err(InvokeError::Host(e)) => assert!(e.to_string().contains("no free instance slot"), "{e}"),
        other => panic!("expected a full pool, got {other:?}"),
    }
    assert!(host.invoke(&cognito, "list_user_pools", &input).await.is_ok(), "slots come back");
}
