//! Hostile connectors: each misbehaviour is stopped or refused with its own
//! error kind, nothing reaches the network that should not, the host never
//! panics, and a normal invocation running at the same time still succeeds.
//! The tests run on a multi-threaded runtime, as a server would.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use connector_host::{
    Connector, ConnectorHost, Grants, HostConfig, HttpLimits, InvokeError, LoadError, LoadOptions, SandboxLimits,
    SendError,
};
use connector_tests::capture::CaptureServer;
use connector_tests::{components, host_config, hostile_variant, test_credentials};
use serde_json::{Value, json};

const TIMEOUT: Duration = Duration::from_millis(1500);
const MAX_CALLS: u32 = 50;

struct Arena {
    server: CaptureServer,
    host: ConnectorHost,
    hostile: Connector,
    cognito: Connector,
}

fn arena_config(endpoint: &str) -> HostConfig {
    let mut config = host_config(endpoint, test_credentials());
    config.sandbox = SandboxLimits {
        timeout: TIMEOUT,
        memory_bytes: 32 * 1024 * 1024,
        max_output_bytes: 1024 * 1024,
        max_concurrent_invocations: 64,
        ..SandboxLimits::default()
    };
    config.http = HttpLimits { max_calls_per_invocation: MAX_CALLS, ..HttpLimits::default() };
    config
}

async fn arena_with(configure: impl FnOnce(&mut HostConfig, &str)) -> Arena {
    let server = CaptureServer::start();
    server.respond_with(200, br#"{"UserPool":{"Id":"us-east-1_fine","Name":"Fine"}}"#);
    let mut config = arena_config(&server.endpoint());
    configure(&mut config, &server.endpoint());
    let host = ConnectorHost::new(config).await.unwrap();
    let options = LoadOptions { alias: Some("hostile".into()), ..LoadOptions::default() };
    let hostile = host.load_with(components::HOSTILE, &options).await.unwrap();
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
    Arena { server, host, hostile, cognito }
}

async fn arena() -> Arena {
    arena_with(|_, _| {}).await
}

impl Arena {
    /// Runs a hostile operation while a normal Cognito invocation runs
    /// beside it on another task; the normal one must succeed.
    async fn hostile(&self, operation: &str, input: Value) -> Result<Value, InvokeError> {
        let (host, hostile, operation) = (self.host.clone(), self.hostile.clone(), operation.to_owned());
        let misbehaving = tokio::spawn(async move { host.invoke(&hostile, &operation, &input).await });
        let normal =
            self.host.invoke(&self.cognito, "describe_user_pool", &json!({"user_pool_id": "us-east-1_fine"})).await;
        assert_eq!(normal.expect("the normal invocation succeeds beside a hostile one")["UserPool"]["Name"], "Fine");
        misbehaving.await.expect("the hostile invocation's task does not panic")
    }

    /// Requests that reached the network, without the normal invocations'.
    fn hostile_requests(&self) -> usize {
        self.server.take().iter().filter(|r| r.header("x-amz-target").is_none()).count()
    }
}

/// The error text the hostile connector reports for a refused request.
fn refusal(seen: &Value) -> &str {
    seen["error"].as_str().unwrap_or_else(|| panic!("expected a refusal, got {seen}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_loop_is_stopped_at_the_deadline() {
    let arena = arena().await;
    let started = Instant::now();
    let result = arena.hostile("loop_forever", json!({})).await;
    assert!(matches!(result, Err(InvokeError::Timeout(t)) if t == TIMEOUT), "{result:?}");
    assert!(started.elapsed() < TIMEOUT + Duration::from_secs(2), "stopped promptly: {:?}", started.elapsed());
}

/// More spinning guests than worker threads (two, like this machine's
/// cores) must not stall an ordinary call: guests yield at every epoch
/// tick. Before they did, the ordinary call waited for a deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spinning_guests_do_not_starve_other_calls() {
    let arena = arena_with(|config, _| config.sandbox.timeout = Duration::from_secs(4)).await;
    let spinners: Vec<_> = (0..4)
        .map(|_| {
            let (host, hostile) = (arena.host.clone(), arena.hostile.clone());
            tokio::spawn(async move { host.invoke(&hostile, "loop_forever", &json!({})).await })
        })
        .collect();
    // Only once all four are running does the timing below mean anything.
    let deadline = Instant::now() + Duration::from_secs(3);
    while !arena.host.metrics_text().lines().any(|l| l == "connector_host_invocations_in_flight 4") {
        assert!(Instant::now() < deadline, "the spinners did not start:\n{}", arena.host.metrics_text());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = Instant::now();
    let echoed = arena.host.invoke(&arena.hostile, "echo", &json!({"beside": "spinners"})).await.unwrap();
    let waited = started.elapsed();
    assert_eq!(echoed, json!({"beside": "spinners"}));
    assert!(spinners.iter().all(|s| !s.is_finished()), "the spinners were still running");
    assert!(waited < Duration::from_secs(1), "an ordinary call beside 4 spinning guests took {waited:?}");
    for spinner in spinners {
        assert!(matches!(spinner.await.unwrap(), Err(InvokeError::Timeout(_))));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbounded_allocation_hits_the_memory_limit() {
    let arena = arena().await;
    let result = arena.hostile("allocate_forever", json!({})).await;
    assert!(matches!(result, Err(InvokeError::MemoryLimit(limit)) if limit == 32 * 1024 * 1024), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_overflow_is_a_trap() {
    let arena = arena().await;
    let result = arena.hostile("recurse_forever", json!({})).await;
    assert!(matches!(&result, Err(InvokeError::Trap(m)) if m.contains("stack overflow")), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_is_a_trap_with_its_message() {
    let arena = arena().await;
    let result = arena.hostile("panic", json!({})).await;
    assert!(matches!(&result, Err(InvokeError::Trap(m)) if m.contains("panics on purpose")), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_invalid_output_are_refused() {
    let arena = arena().await;
    let result = arena.hostile("huge_output", json!({"bytes": 2_000_000})).await;
    assert!(matches!(result, Err(InvokeError::OutputTooLarge { limit: 1_048_576, .. })), "{result:?}");
    let result = arena.hostile("invalid_json", json!({})).await;
    assert!(matches!(result, Err(InvokeError::InvalidOutput(_))), "{result:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ungranted_service_is_denied() {
    let arena = arena().await;
    let seen = arena.hostile("call_service", json!({"service": "s3"})).await.unwrap();
    let error = refusal(&seen);
    assert!(error.starts_with("SendError::Denied(") && error.contains("`s3` is not granted"), "{error}");
    assert_eq!(arena.hostile_requests(), 0);

    // The declared service is granted unless the operator narrows it.
    let seen = arena.hostile("call_service", json!({"service": "cognito-idp"})).await.unwrap();
    assert_eq!(seen["status"], 200);
    let narrowed = arena_with(|config, _| config.grants = Grants::parse(["hostile="]).unwrap()).await;
    let seen = narrowed.hostile("call_service", json!({"service": "cognito-idp"})).await.unwrap();
    assert!(refusal(&seen).contains("granted: none"), "{seen}");
    assert_eq!(narrowed.hostile_requests(), 0);
}

/// Grants key on what the operator controls. A connector calling itself
/// `aws-cognito` gets nothing of a grant meant for the Cognito component,
/// and the Cognito component is narrowed by its path whatever its name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_follow_the_component_not_its_self_chosen_name() {
    let dir = tempfile::tempdir().unwrap();
    let impostor_path = hostile_variant("as-cognito", dir.path());
    let cognito_grant = format!("{}=", components::GUEST_COGNITO);
    let arena = arena_with(|config, _| config.grants = Grants::parse([cognito_grant.as_str()]).unwrap()).await;
    let impostor = arena.host.load(&impostor_path).await.unwrap();
    assert_eq!(impostor.name(), "aws-cognito");
    let seen = arena.host.invoke(&impostor, "call_service", &json!({"service": "cognito-idp"})).await.unwrap();
    assert_eq!(seen["status"], 200, "the impostor keeps what it declares: {seen}");
    let denied = arena.host.invoke(&arena.cognito, "list_user_pools", &json!({"max_results": 1})).await;
    assert!(
        matches!(&denied, Err(InvokeError::Capability(SendError::Denied(m))) if m.contains("granted: none")),
        "{denied:?}"
    );

    // A digest selects exactly those bytes.
    let digest = impostor.digest().to_owned();
    let by_digest = arena_with(|config, _| config.grants = Grants::parse([format!("{digest}=")]).unwrap()).await;
    let impostor = by_digest.host.load(&impostor_path).await.unwrap();
    let seen = by_digest.host.invoke(&impostor, "call_service", &json!({"service": "cognito-idp"})).await.unwrap();
    assert!(refusal(&seen).contains("granted: none"), "{seen}");
    assert!(by_digest.host.unused_grants().is_empty());
    assert_eq!(by_digest.hostile_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_owned_headers_are_refused() {
    let arena = arena().await;
    for name in
        ["Authorization", "X-Amz-Security-Token", "Host", "x-amz-date", "X-Amz-Content-Sha256", "Content-Length"]
    {
        let seen = arena.hostile("set_header", json!({"name": name})).await.unwrap();
        let error = refusal(&seen);
        assert!(error.starts_with("SendError::InvalidRequest(") && error.contains(name), "{name}: {seen}");
    }
    assert_eq!(arena.hostile_requests(), 0);
}

/// 30,000 headers once panicked the host (`HeaderMap` capacity overflow),
/// signed or not; now the count is checked before any map is built.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_headers_is_a_limit_not_a_crash() {
    let arena = arena().await;
    for unsigned in [0, 1] {
        let seen = arena.hostile("many_headers", json!({"count": 30000, "unsigned": unsigned})).await.unwrap();
        let error = refusal(&seen);
        assert!(
            error.starts_with("SendError::LimitExceeded(")
                && error.contains("30000 request headers are over the limit of 64"),
            "{seen}"
        );
    }
    let seen = arena.hostile("many_headers", json!({"count": 10})).await.unwrap();
    assert_eq!(seen["status"], 200, "a few headers pass: {seen}");
    let sent: Vec<_> = arena.server.take().into_iter().filter(|r| r.header("x-amz-target").is_none()).collect();
    assert_eq!(sent.len(), 1, "only the small request reached the network");
    assert_eq!(sent[0].header("x-h-9"), Some("v"));
}

/// Headers that all alias one string are small in the guest's memory and
/// huge once copied out: the host copies no more than its transfer limit.
/// (This also pins wasmtime's message for it, which is not public API.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliased_data_is_not_amplified_into_the_host() {
    let arena = arena().await;
    // 50 headers of two 1 MiB aliases: 100 MiB once copied out, below
    // wasmtime's own default bound (128 MiB), above the host's.
    let result = arena.hostile("aliased_headers", json!({"count": 50, "bytes": 1_048_576})).await;
    assert!(matches!(result, Err(InvokeError::TransferLimit { .. })), "{result:?}");
    assert_eq!(arena.hostile_requests(), 0);
}

/// The transfer limit is told from other faults even when the host's only
/// instance slot is the failing call's (what tells it apart once needed a
/// free slot, and failed for good when there was none).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transfer_limit_is_named_with_a_pool_of_one() {
    let mut config = arena_config("http://127.0.0.1:9");
    config.sandbox.max_concurrent_invocations = 1;
    let host = ConnectorHost::new(config).await.unwrap();
    let hostile = host.load(components::HOSTILE).await.unwrap();
    for _ in 0..2 {
        let result = host.invoke(&hostile, "aliased_headers", &json!({"count": 50, "bytes": 1_048_576})).await;
        assert!(matches!(result, Err(InvokeError::TransferLimit { .. })), "{result:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn path_tricks_are_refused() {
    let arena = arena().await;
    for path in
        ["https://attacker.example/", "//attacker.example/x", "/a\r\nHost: attacker.example", "relative", "/a b"]
    {
        let seen = arena.hostile("use_path", json!({"path": path})).await.unwrap();
        assert!(refusal(&seen).starts_with("SendError::InvalidRequest("), "{path:?}: {seen}");
    }
    assert_eq!(arena.hostile_requests(), 0);
}

/// Below an endpoint with a base path, `..` (plain or percent-encoded)
/// once reached a sibling tenant's path, signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_segments_cannot_leave_the_endpoints_base_path() {
    let arena = arena_with(|config, endpoint| {
        config.endpoints = connector_host::Endpoints::all_services(&format!("{endpoint}/tenant-a/stage")).unwrap()
    })
    .await;
    for path in ["/../tenant-b/x", "/%2e%2e/tenant-b/x", "/%2E./x", "/./x", "/a/..", "/%2e%2e%2fadmin", "/..;/x"] {
        let seen = arena.hostile("use_path", json!({"path": path})).await.unwrap();
        let error = refusal(&seen);
        assert!(error.contains("has a `.` or `..` segment"), "{path}: {error}");
    }
    // Non-ASCII bytes once made the dot-segment check slice inside a
    // character and panic the host.
    for path in ["/éé", "/.%2é"] {
        let seen = arena.hostile("use_path", json!({"path": path})).await.unwrap();
        assert_eq!(seen["status"], 200, "{path}: {seen}");
    }
    let seen = arena.hostile("use_path", json!({"path": "/x/y"})).await.unwrap();
    assert_eq!(seen["status"], 200);
    let paths: Vec<String> = arena.server.take().into_iter().map(|r| r.path).collect();
    assert!(paths.contains(&"/tenant-a/stage/x/y".to_owned()), "{paths:?}");
    assert_eq!(paths.iter().filter(|p| !p.ends_with("/tenant-a/stage/")).count(), 3, "{paths:?}");
    assert!(paths.iter().all(|p| p.starts_with("/tenant-a/stage/")), "{paths:?}");
}

/// With an endpoint configured, service names were not checked at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_names_follow_one_rule_whatever_the_endpoint() {
    let arena = arena().await;
    for service in ["evil.com/x", "cognito-idp/..", "", "cognito-ïdp", "Cognito-IDP"] {
        let seen = arena.hostile("call_service", json!({"service": service})).await.unwrap();
        let error = refusal(&seen);
        assert!(
            error.starts_with("SendError::InvalidRequest(") && error.contains("not a valid service name"),
            "{service:?}: {error}"
        );
    }
    assert_eq!(arena.hostile_requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capability_calls_are_capped_per_invocation() {
    let arena = arena().await;
    let result = arena.hostile("call_many", json!({"times": 10_000})).await;
    match result {
        Err(InvokeError::Capability(SendError::LimitExceeded(message))) => {
            assert_eq!(message, format!("more than {MAX_CALLS} requests in one invocation"))
        }
        other => panic!("expected the call limit, got {other:?}"),
    }
    assert_eq!(arena.hostile_requests(), MAX_CALLS as usize);
}

/// A connector's `host` error is believed only when the host failed one of
/// its requests; otherwise it is the connector's own error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_cannot_forge_a_host_error() {
    let arena = arena().await;
    let result = arena.hostile("forge_host_error", json!({})).await;
    match result {
        Err(InvokeError::Connector(message)) => {
            assert!(message.contains("reported a host error, but the host refused or failed none"), "{message}")
        }
        other => panic!("expected a connector error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_keeps_serving_after_every_failure() {
    let arena = arena().await;
    type Expected = fn(&InvokeError) -> bool;
    let failures: [(&str, Expected); 4] = [
        ("panic", |e| matches!(e, InvokeError::Trap(_))),
        ("allocate_forever", |e| matches!(e, InvokeError::MemoryLimit(_))),
        ("recurse_forever", |e| matches!(e, InvokeError::Trap(m) if m.contains("stack overflow"))),
        ("invalid_json", |e| matches!(e, InvokeError::InvalidOutput(_))),
    ];
    for (operation, expected) in failures {
        let error = arena.host.invoke(&arena.hostile, operation, &json!({})).await.unwrap_err();
        assert!(expected(&error), "{operation}: {error:?}");
        let echo = arena.host.invoke(&arena.hostile, "echo", &json!({"still": "alive"})).await.unwrap();
        assert_eq!(echo, json!({"still": "alive"}), "a fresh instance after {operation}");
    }
}

/// A log writer for this test binary: every line the host logs, kept.
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || Sink(sink.clone()))
            .init();
        logs
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A connector's stdout and stderr reach the log escaped: no escape
/// sequence, carriage return or forged line gets through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connector_output_cannot_inject_into_the_log() {
    let logs = captured_logs();
    let arena = arena().await;
    arena.hostile("print_escapes", json!({})).await.unwrap();
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("pwned")).collect();
    assert_eq!(lines.len(), 2, "one line per stream: {text}");
    for line in &lines {
        assert!(line.contains(r"\u{d}\u{1b}[2J\u{1b}]0;pwned\u{7}forged"), "{line}");
        assert!(!line.contains('\x1b') && !line.contains('\r') && !line.contains('\x07'), "{line:?}");
    }
    assert!(
        !text.lines().any(|l| l.starts_with("WARN forged line")),
        "the forged line stays inside its log line: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_instance_pool_fails_only_the_extra_invocation() {
    let server = CaptureServer::start();
    let slow = connector_tests::capture::Reply::SlowBody { delay: Duration::from_millis(800), body: b"{}".to_vec() };
    server.script([slow.clone(), slow]);
    let mut config = host_config(&server.endpoint(), test_credentials());
    config.sandbox = SandboxLimits { max_concurrent_invocations: 2, ..SandboxLimits::default() };
    let host = ConnectorHost::new(config).await.unwrap();
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
    let input = json!({"max_results": 1});
    let held = || {
        let (host, cognito, input) = (host.clone(), cognito.clone(), input.clone());
        tokio::spawn(async move { host.invoke(&cognito, "list_user_pools", &input).await })
    };
    let (first, second) = (held(), held());
    // Both slots are taken once both requests wait on the slow server.
    server.wait_for_requests(2, Duration::from_secs(10)).await;
    let third = host.invoke(&cognito, "list_user_pools", &input).await;
    assert!(matches!(third, Err(InvokeError::Busy { slots: 2 })), "{third:?}");
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    assert!(first.is_ok() && second.is_ok(), "{first:?} {second:?}");
    assert!(host.invoke(&cognito, "list_user_pools", &input).await.is_ok(), "slots come back");
}

/// Every invocation starts from pristine memory, even in a reused pool
/// slot: whatever one call wrote on its stack, in the pages it grew past
/// its initial memory and in its data, the next call (which grows the same
/// pages before it looks) finds none of it, whether the host reset those
/// pages in place or gave them back to the kernel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_invocation_sees_what_an_earlier_one_left_in_memory() {
    let mut config = arena_config("http://127.0.0.1:9");
    // One slot, so every invocation reuses the memory of the one before.
    config.sandbox.max_concurrent_invocations = 1;
    let host = ConnectorHost::new(config).await.unwrap();
    let options = LoadOptions { alias: Some("hostile".into()), ..LoadOptions::default() };
    let hostile = host.load_with(components::HOSTILE, &options).await.unwrap();
    for call in 1..=3 {
        let seen = host.invoke(&hostile, "leave_traces", &json!({})).await.unwrap();
        let (before, painted, after) =
            (seen["before"].as_u64().unwrap(), seen["painted"].as_u64().unwrap(), seen["after"].as_u64().unwrap());
        assert_eq!(before, 0, "call {call} found traces of an earlier call: {seen}");
        // The count finds what was painted (a few stack words are reused
        // by the count itself), so a zero above is not a blind count.
        assert!(painted > 200_000 && after >= painted * 9 / 10, "call {call}: {seen}");
    }
}

/// A manifest is the connector's own words: names must be machine names of
/// bounded length, and a manifest too large to copy out is refused
/// (a 100,000-character operation name once panicked `describe`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_manifests_are_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    let host = ConnectorHost::new(arena_config("http://127.0.0.1:9")).await.unwrap();
    let long = host.load(hostile_variant("long-name", dir.path())).await.unwrap_err();
    assert!(matches!(long, LoadError::InvalidManifest { .. }), "{long:?}");
    let message = long.to_string();
    assert!(message.contains("is not a machine name") && message.len() < 500, "{message}");

    let bad = host.load(hostile_variant("bad-name", dir.path())).await.unwrap_err();
    assert!(bad.to_string().contains(r"its name `evil\u{a}WARN forged` is not a machine name"), "{bad}");

    let started = Instant::now();
    let many = host.load(hostile_variant("many-ops", dir.path())).await.unwrap_err();
    assert!(matches!(&many, LoadError::DescribeFailed { error: InvokeError::TransferLimit { .. }, .. }), "{many:?}");
    assert!(started.elapsed() < Duration::from_secs(30), "refused without copying 1.3 GB");

    let escaped = host.load(hostile_variant("escape-title", dir.path())).await.unwrap();
    assert!(escaped.manifest().title.contains('\x1b'), "kept as data; escaped where it is shown");

    // References that double at every level: 2^15 schemas once followed.
    let started = Instant::now();
    let bomb = host.load(hostile_variant("schema-bomb", dir.path())).await.unwrap_err();
    assert_eq!(bomb.kind(), "invalid-manifest", "{bomb}");
    assert!(
        bomb.to_string().contains("the input schema of operation `allocate_forever` expands to more than 50000 values"),
        "{bomb}"
    );
    assert!(started.elapsed() < Duration::from_secs(30), "refused without expanding it");
    // Members that each are the root again: recursion, kept as a reference
    // that nothing downstream unrolls.
    let to_root = host.load(hostile_variant("schema-to-root", dir.path())).await.unwrap();
    let schema = &to_root.manifest().operation("loop_forever").unwrap().input_schema;
    assert_eq!(schema["properties"]["m19"], serde_json::json!({"$ref": "#"}));
}

/// A component that instantiates one tiny module many times would take the
/// pool's core instances from every other call: refused when compiled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_component_cannot_take_the_pools_instances() {
    let instances: String = (0..40).map(|i| format!("(core instance $i{i} (instantiate $m))\n")).collect();
    let bytes = wat::parse_str(format!("(component (core module $m) {instances})")).unwrap();
    let host = ConnectorHost::new(arena_config("http://127.0.0.1:9")).await.unwrap();
    let refused = host.load_bytes(bytes, &LoadOptions::default()).await.unwrap_err();
    assert_eq!(refused.kind(), "invalid-component", "{refused}");
    assert!(
        refused.to_string().contains("40 core module instances, which exceeds the configured maximum of 32"),
        "{refused}"
    );
}

/// A call whose deadline passes while it waits inside a host call (a
/// request to an endpoint that accepts and never answers) is dropped
/// there: it ends as a timeout, gives its instance slot back, and the host
/// serves the next calls, as many at once as before. (Four times in ten,
/// one of the two calls after was once refused `busy`: freed memory slots
/// waited in a decommit batch that two allocations at once could miss.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_dropped_at_its_deadline_inside_a_host_call_leaves_the_host_serving() {
    // The kernel accepts connections for a listener nobody reads.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let mut config = arena_config(&endpoint);
    config.sandbox.timeout = Duration::from_secs(1);
    config.sandbox.max_concurrent_invocations = 2;
    config.http.request_timeout = Duration::from_secs(60);
    let host = ConnectorHost::new(config).await.unwrap();
    let hostile = host.load(components::HOSTILE).await.unwrap();
    let call = |operation: &'static str, input: Value| {
        let (host, hostile) = (host.clone(), hostile.clone());
        tokio::spawn(async move { host.invoke(&hostile, operation, &input).await })
    };
    let waiting: Vec<_> = (0..2).map(|_| call("call_service", json!({"service": "cognito-idp"}))).collect();
    for waiting in waiting {
        let result = waiting.await.unwrap();
        assert!(matches!(result, Err(InvokeError::Timeout(_))), "{result:?}");
    }
    assert!(host.metrics_text().lines().any(|l| l == "connector_host_invocations_in_flight 0"));
    let after: Vec<_> = (0..2).map(|i| call("echo", json!({"after": i}))).collect();
    for (i, call) in after.into_iter().enumerate() {
        assert_eq!(call.await.unwrap().expect("both slots are free again"), json!({"after": i}));
    }
    drop(silent);
}
