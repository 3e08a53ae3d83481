//! Scaling out: `serve --queue` and `worker` processes around a real
//! nats-server with JetStream (Debian's package), against moto. Runs
//! survive a worker killed mid-flight, each step runs at most once more
//! than needed, every record reads back through the serve node, a worker
//! without a connector hands runs back with the reason, a step that keeps
//! failing fails its run after the delivery bound, and a step tried again
//! tells its connector which try it is.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use connector_tests::components;
use connector_tests::emulator::{Emulator, Kind};
use connector_tests::nats::NatsServer;
use connector_tests::server::{Server, WorkerProcess};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_shipped-connector-host");

/// A directory holding a copy of the Cognito connector.
fn cognito_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let component = Path::new(components::GUEST_COGNITO);
    std::fs::copy(component, dir.path().join(component.file_name().unwrap())).unwrap();
    dir
}

/// Two steps: a pool named `name`, then a user in it, by the id the
/// first step returned.
fn pool_workflow(name: &str) -> Value {
    json!({
        "name": name,
        "connectors": {"cognito": "aws-cognito"},
        "steps": [
            {"id": "pool", "connector": "cognito", "operation": "create_user_pool", "input": {"pool_name": name}},
            {"id": "user", "connector": "cognito", "operation": "admin_create_user",
             "input": {"user_pool_id": "{{steps.pool.output.UserPool.Id}}", "username": "first-user",
                       "message_action": "SUPPRESS"}}
        ]
    })
}

/// Waits until run `id` has ended, and returns its record.
async fn finished(server: &Server, id: &str, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let (status, run) = server.get(&format!("/v1/runs/{id}")).await;
        assert_eq!(status, 200, "{run}");
        if run["status"] == "succeeded" || run["status"] == "failed" {
            return run;
        }
        assert!(Instant::now() < deadline, "run {id} did not end within {timeout:?}: {run}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `starting step` lines of a worker's log, as (run id, step id).
fn steps_started(log: &str) -> Vec<(String, String)> {
    log.lines()
        .filter(|line| line.contains("starting step"))
        .map(|line| (field(line, "run{id=").to_owned(), field(line, " step=").to_owned()))
        .collect()
}

/// The value after `key` in a log line, up to a space or `}`.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    let start = line.find(key).unwrap_or_else(|| panic!("no {key} in {line}")) + key.len();
    let rest = &line[start..];
    &rest[..rest.find([' ', '}']).unwrap_or(rest.len())]
}

/// Sixty two-step runs (a pool, then a user in it) through two workers,
/// one of them killed three times in the middle of its share and started
/// again: every run succeeds, and each pool and user exists once, as boto3
/// reads them back, however often their steps ran.
#[tokio::test(flavor = "multi_thread")]
async fn sixty_runs_do_each_thing_once_through_three_kills() {
    let nats = NatsServer::start();
    let emulator = Emulator::start(Kind::Moto);
    let endpoint = emulator.endpoint();
    let dir = cognito_dir();
    let data = tempfile::tempdir().unwrap();
    let connectors = dir.path().to_str().unwrap();
    // A short deadline, so the runs of the killed worker come back soon.
    let worker_args =
        ["--connectors", connectors, "--endpoint-url", &endpoint, "--concurrency", "4", "--timeout-ms", "4000"];
    let server = Server::start_serving(BINARY, data.path(), &["--queue", &nats.url()], None).await;
    let mut killed = WorkerProcess::start(BINARY, &nats.url(), "w1-0", data.path(), &worker_args);
    let mut steady = WorkerProcess::start(BINARY, &nats.url(), "w2", data.path(), &worker_args);

    // One run waited for: the record comes back when it ends.
    let (status, run) = server.post("/v1/runs", &pool_workflow("waited")).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["steps"][1]["input"]["user_pool_id"], run["steps"][0]["output"]["UserPool"]["Id"]);

    // A run with inputs travels to the worker with them; a skipped step
    // does not fail it.
    let mut with_inputs = pool_workflow("from inputs");
    with_inputs["inputs"] = json!({"type": "object", "properties": {"pool": {"type": "string"}}, "required": ["pool"]});
    with_inputs["steps"][0]["input"]["pool_name"] = json!("{{inputs.pool}}");
    with_inputs["steps"][1]["if"] = json!("inputs.pool == 'never'");
    let (status, run) = server.post("/v1/runs", &json!({"workflow": with_inputs, "inputs": {"pool": "queued"}})).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!((run["status"].as_str(), &run["inputs"]), (Some("succeeded"), &json!({"pool": "queued"})), "{run}");
    assert_eq!(run["steps"][0]["output"]["UserPool"]["Name"], "queued");
    assert_eq!(run["steps"][1]["skipped"]["value"], false);

    // Stored in the queue's shared library, run by name.
    let put = server.request(reqwest::Method::PUT, "/v1/workflows/pools").json(&with_inputs).send().await.unwrap();
    assert_eq!(put.status(), 201);
    let (status, run) = server.post("/v1/workflows/pools/runs", &json!({"pool": "stored"})).await;
    assert_eq!(
        (status, run["status"].as_str(), run["workflow_version"].as_u64()),
        (200, Some("succeeded"), Some(1)),
        "{run}"
    );
    assert_eq!(run["steps"][0]["output"]["UserPool"]["Name"], "stored");

    let mut ids = Vec::new();
    for n in 0..60 {
        let (status, accepted) = server.post("/v1/runs?wait=false", &pool_workflow(&format!("scale-{n}"))).await;
        assert_eq!(status, 202, "{accepted}");
        ids.push(accepted["id"].as_str().unwrap().to_owned());
    }
    // Three times: kill the worker once it has started a few steps, and
    // start it again.
    for kill in 1..=3 {
        let deadline = Instant::now() + Duration::from_secs(60);
        while steps_started(&killed.log()).len() < 4 {
            assert!(Instant::now() < deadline, "the worker took no runs:\n{}", killed.log());
            std::thread::sleep(Duration::from_millis(2));
        }
        killed.kill();
        killed = WorkerProcess::start(BINARY, &nats.url(), &format!("w1-{kill}"), data.path(), &worker_args);
    }

    let (mut repeated, mut twice) = (0, 0);
    for (n, id) in ids.iter().enumerate() {
        let run = finished(&server, id, Duration::from_secs(180)).await;
        assert_eq!(run["status"], "succeeded", "{run}");
        assert_eq!(run["workflow"], format!("scale-{n}"));
        let steps = run["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 2, "{run}");
        assert_eq!(steps[1]["input"]["user_pool_id"], steps[0]["output"]["UserPool"]["Id"], "{run}");
        for step in steps {
            // Each step says how many tries it took (1 when absent).
            repeated += usize::from(step["attempts"].as_u64().unwrap_or(1) > 1);
            twice += usize::from(step["may_have_taken_effect_twice"] == true);
        }
    }
    eprintln!("{repeated} steps ran more than once across three kills");
    // Each kill comes while the worker has steps started (their start is
    // recorded before the log line the test waits for).
    assert!(repeated > 0, "the kills cut steps short, which ran again");
    assert_eq!(twice, 0, "both operations find what an earlier try made");
    // Exactly once each, however often a step ran.
    assert_eq!(emulator.census("scale-"), (60, 60), "pools and users, read back with boto3");
    let (status, listed) = server.get("/v1/runs?limit=100").await;
    assert_eq!(status, 200);
    let listed: BTreeSet<&str> = listed["runs"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(ids.iter().all(|id| listed.contains(id.as_str())), "every run is listed");

    // The surviving worker drains on SIGTERM and exits cleanly.
    assert!(steady.stop(Duration::from_secs(30)).success(), "{}", steady.log());
    assert!(steady.log().contains("runs in flight stop after their current step"));
    assert!(killed.stop(Duration::from_secs(30)).success(), "{}", killed.log());
    let metrics = server.request(reqwest::Method::GET, "/metrics").send().await.unwrap().text().await.unwrap();
    assert!(metrics.lines().any(|l| l == "connector_host_queue_runs_submitted_total 63"), "{metrics}");
    drop(server);
}

/// An operation that cannot tell a repeat (the hostile connector's call
/// to a service), killed mid-step and run again, is recorded as possibly
/// done twice, with its attempts.
#[tokio::test]
async fn a_step_that_cannot_tell_a_repeat_is_marked_when_it_runs_again() {
    let nats = NatsServer::start();
    let slow = connector_tests::bench::start_fixed_server(Duration::from_millis(1500)).await;
    let dir = tempfile::tempdir().unwrap();
    connector_tests::hostile_variant("normal", dir.path());
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_serving(BINARY, data.path(), &["--queue", &nats.url()], None).await;
    let args = ["--connectors", dir.path().to_str().unwrap(), "--endpoint-url", &slow, "--timeout-ms", "3000"];
    let mut first = WorkerProcess::start(BINARY, &nats.url(), "w1", data.path(), &args);
    let workflow = json!({"name": "unsure", "steps": [
        {"id": "call", "connector": "hostile", "operation": "call_service", "input": {"service": "cognito-idp"}},
        {"id": "echo", "connector": "hostile", "operation": "echo", "input": {"note": "after"}}]});
    let (_, accepted) = server.post("/v1/runs?wait=false", &workflow).await;
    let id = accepted["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while steps_started(&first.log()).is_empty() {
        assert!(Instant::now() < deadline, "the worker did not start the run:\n{}", first.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill();
    let _second = WorkerProcess::start(BINARY, &nats.url(), "w2", data.path(), &args);
    let run = finished(&server, id, Duration::from_secs(60)).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["steps"][0]["attempts"], 2, "{run}");
    assert_eq!(run["steps"][0]["may_have_taken_effect_twice"], true, "{run}");
    assert!(run["steps"][1].get("attempts").is_none(), "the next step ran once: {run}");
    assert!(run["steps"][1].get("may_have_taken_effect_twice").is_none(), "{run}");
    // The console's run page says so too.
    let page = reqwest::get(format!("{}/runs/{id}", server.base())).await.unwrap().text().await.unwrap();
    assert!(page.contains("an earlier try may have done this already"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_a_worker_cannot_finish_fail_after_the_delivery_bound_with_the_reason() {
    let nats = NatsServer::start();
    let dir = cognito_dir();
    std::fs::copy(components::HOSTILE, dir.path().join("hostile.wasm")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_serving(BINARY, data.path(), &["--queue", &nats.url(), "--max-runs", "2"], None).await;

    // A connector no worker has, and a step whose service never answers.
    let mut missing = pool_workflow("missing");
    missing["connectors"]["cognito"] = json!("aws-iam");
    let (status, missing) = server.post("/v1/runs?wait=false", &missing).await;
    assert_eq!(status, 202, "{missing}");
    let (status, unreachable) = server.post("/v1/runs?wait=false", &pool_workflow("unreachable")).await;
    assert_eq!(status, 202, "{unreachable}");
    // Back-pressure: the queue holds two runs, and no worker takes any.
    let (status, refused) = server.post("/v1/runs?wait=false", &pool_workflow("third")).await;
    assert_eq!(status, 503, "{refused}");
    assert_eq!(refused["error"]["kind"], "busy", "{refused}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let unreachable_endpoint = format!("http://{closed}");
    let worker_args = [
        "--connectors",
        dir.path().to_str().unwrap(),
        "--endpoint-url",
        &unreachable_endpoint,
        "--max-attempts",
        "1",
        "--max-deliveries",
        "3",
    ];
    let worker = WorkerProcess::start(BINARY, &nats.url(), "w1", data.path(), &worker_args);

    let run = finished(&server, missing["id"].as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["deliveries"], 3, "{run}");
    let error = run["error"].as_str().unwrap();
    assert!(error.starts_with("gave up after 3 deliveries: connector `aws-iam` is not loaded on worker w1"), "{error}");
    assert!(run["steps"].as_array().unwrap().is_empty(), "no step ran: {run}");
    // A late write of another delivery cannot turn the ended run back.
    let queue = connector_host::queue::Queue::connect(
        &nats.url(),
        "test",
        connector_host::queue::QueueBounds { max_pending: 2, ..Default::default() },
        connector_host::queue::ExistingBounds::Keep,
    )
    .await
    .unwrap();
    let mut record = queue.records().get(missing["id"].as_str().unwrap()).await.unwrap().unwrap();
    record.status = connector_host::workflow::RunStatus::Running;
    let late = queue.records().put(&record).await.unwrap_err();
    assert!(late.is::<connector_host::queue::RunEnded>(), "{late:#}");

    let run = finished(&server, unreachable["id"].as_str().unwrap(), Duration::from_secs(60)).await;
    assert_eq!(run["status"], "failed", "{run}");
    assert_eq!(run["deliveries"], 3, "{run}");
    let error = run["error"].as_str().unwrap();
    assert!(error.starts_with("gave up after 3 deliveries: step `pool` failed"), "{error}");
    assert_eq!(run["steps"][0]["error"]["reason"], "transport", "{run}");

    let log = worker.log();
    assert!(
        log.contains("handing a run back to the queue")
            && log.contains("connector `aws-iam` is not loaded on worker w1"),
        "the worker says why it hands a run back:\n{log}"
    );
    // Each run was tried three times, on this one worker.
    assert_eq!(steps_started(&log).len(), 3, "{log}");

    // Messages that are not runs, published by whoever can reach the
    // queue, are dropped; the worker goes on.
    let client = async_nats::connect(nats.url()).await.unwrap();
    let jetstream = async_nats::jetstream::new(client);
    // One at a time: the queue holds two runs, and a message leaves it
    // only once the worker has settled it.
    let hostile_messages = [&b"not JSON"[..], br#"{"id": "a.b.>", "workflow": {"steps": []}}"#, br#"{"id": 7}"#];
    for (dropped, hostile) in hostile_messages.into_iter().enumerate() {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match jetstream.publish("connector-host.runs", hostile.to_vec().into()).await.unwrap().await {
                Ok(_) => break,
                // Still full: the runs above are recorded before their
                // messages are acknowledged.
                Err(e) => assert!(Instant::now() < deadline, "the queue stays full: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        while worker.log().matches("dropped a queue message").count() <= dropped {
            assert!(Instant::now() < deadline, "the worker did not drop a hostile message:\n{}", worker.log());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    // A step that fails in a way that may pass runs again, and the
    // connector sees the run, the step and which try it is.
    let flaky = json!({"steps": [{"id": "flaky", "connector": "hostile", "operation": "invocation",
                                  "input": {"fail_until": "2"}}]});
    let (status, run) = server.post("/v1/runs", &flaky).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["deliveries"], 2, "{run}");
    assert_eq!(run["steps"][0]["output"], json!({"run_id": run["id"], "step_id": "flaky", "attempt": 2}));
}

/// SIGTERM while a run is in its first of three slow steps: the worker
/// finishes that step, records it, hands the rest back and exits 0; the
/// next worker resumes at the second step.
#[tokio::test(flavor = "multi_thread")]
async fn a_draining_worker_hands_the_rest_of_a_run_to_another() {
    let nats = NatsServer::start();
    let slow = connector_tests::bench::start_fixed_server(Duration::from_millis(1500)).await;
    let dir = cognito_dir();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_serving(BINARY, data.path(), &["--queue", &nats.url()], None).await;
    let args = ["--connectors", dir.path().to_str().unwrap(), "--endpoint-url", &slow];
    let mut first = WorkerProcess::start(BINARY, &nats.url(), "w1", data.path(), &args);
    let step = |id: &str| {
        json!({"id": id, "connector": "aws-cognito", "operation": "admin_get_user",
               "input": {"user_pool_id": "us-east-1_slow", "username": "exampleUsername"}})
    };
    let workflow = json!({"name": "slow", "steps": [step("s1"), step("s2"), step("s3")]});
    let (status, accepted) = server.post("/v1/runs?wait=false", &workflow).await;
    assert_eq!(status, 202, "{accepted}");
    let id = accepted["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while steps_started(&first.log()).is_empty() {
        assert!(Instant::now() < deadline, "the first worker did not start the run:\n{}", first.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(first.stop(Duration::from_secs(30)).success(), "{}", first.log());
    let (_, handed_back) = server.get(&format!("/v1/runs/{id}")).await;
    assert_eq!(handed_back["status"], "queued", "{handed_back}");
    assert_eq!(handed_back["steps"].as_array().unwrap().len(), 1, "the step in flight was finished and recorded");

    let second = WorkerProcess::start(BINARY, &nats.url(), "w2", data.path(), &args);
    let run = finished(&server, id, Duration::from_secs(60)).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["deliveries"], 2, "{run}\n{}\n{}", first.log(), second.log());
    assert_eq!(run["steps"].as_array().unwrap().len(), 3, "{run}");
    let on = |log: &str| steps_started(log).into_iter().map(|(_, step)| step).collect::<Vec<_>>();
    assert_eq!(on(&first.log()), ["s1"]);
    assert_eq!(on(&second.log()), ["s2", "s3"], "the second worker resumed after the recorded step");
}

/// The shared run records are bounded in runs (and steps in bytes): past
/// `--keep-runs`, the oldest runs go; a `serve` node sets the bounds of
/// buckets that exist.
#[tokio::test]
async fn shared_run_records_are_bounded() {
    use connector_host::queue::{ExistingBounds, Queue, QueueBounds};
    use connector_host::workflow::{RunRecord, RunStatus, StoreLimits};
    let nats = NatsServer::start();
    let worker_side = Queue::connect(&nats.url(), "w", QueueBounds::default(), ExistingBounds::Keep).await.unwrap();
    let records = StoreLimits { keep_runs: 3, ..StoreLimits::default() };
    let bounds = QueueBounds { max_pending: 10, records };
    let queue = Queue::connect(&nats.url(), "serve", bounds, ExistingBounds::Replace).await.unwrap();
    for i in 0..5 {
        let record = RunRecord {
            id: format!("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5{i}"),
            workflow: "w".into(),
            status: RunStatus::Succeeded,
            started_at: "2026-12-04T00:00:00.000Z".into(),
            finished_at: Some("2026-12-04T00:00:01.000Z".into()),
            inputs: None,
            workflow_version: None,
            steps: Vec::new(),
            error: None,
            deliveries: None,
            tries: Vec::new(),
        };
        queue.records().put(&record).await.unwrap();
    }
    let kept: Vec<String> = worker_side.records().list(10).await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(kept.len(), 3, "{kept:?}");
    assert!(kept[0].ends_with("a54") && kept[2].ends_with("a52"), "the newest stay: {kept:?}");
}

/// A worker always stops: with the queue gone it ends within the
/// invocation deadline and a few seconds, non-zero, naming the run it
/// could not hand back (the queue delivers it again later), and so does
/// `serve --queue`; a second SIGTERM ends a worker at once.
#[tokio::test]
async fn workers_and_serve_stop_when_the_queue_is_gone() {
    let mut nats = NatsServer::start();
    let slow = connector_tests::bench::start_fixed_server(Duration::from_millis(1500)).await;
    let dir = cognito_dir();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_serving(BINARY, data.path(), &["--queue", &nats.url()], None).await;
    let args = ["--connectors", dir.path().to_str().unwrap(), "--endpoint-url", &slow, "--timeout-ms", "3000"];
    let step = |id: &str| {
        json!({"id": id, "connector": "aws-cognito", "operation": "admin_get_user",
               "input": {"user_pool_id": "us-east-1_slow", "username": "exampleUsername"}})
    };
    let workflow = json!({"name": "slow", "steps": [step("s1"), step("s2"), step("s3"), step("s4")]});

    // A second SIGTERM does not wait for the step in flight.
    let mut impatient = WorkerProcess::start(BINARY, &nats.url(), "w0", data.path(), &args);
    let (_, first) = server.post("/v1/runs?wait=false", &workflow).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while steps_started(&impatient.log()).is_empty() {
        assert!(Instant::now() < deadline, "the worker did not start the run:\n{}", impatient.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    let status = impatient.stop_at_once(Duration::from_secs(10));
    assert_eq!(status.code(), Some(128 + libc::SIGTERM), "{}", impatient.log());
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());

    // The queue goes away while a run is in flight.
    let mut worker = WorkerProcess::start(BINARY, &nats.url(), "w1", data.path(), &args);
    let deadline = Instant::now() + Duration::from_secs(60);
    while steps_started(&worker.log()).is_empty() {
        assert!(Instant::now() < deadline, "the worker did not take the run:\n{}", worker.log());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    nats.stop();
    let started = Instant::now();
    let status = worker.stop(Duration::from_secs(40));
    let log = worker.log();
    assert!(!status.success(), "{log}");
    assert!(log.contains("stopped without handing back 1 run(s)"), "{log}");
    assert!(log.contains(first["id"].as_str().unwrap()), "names the run: {log}");
    assert!(started.elapsed() < Duration::from_secs(3 + 12 + 3), "{:?}", started.elapsed());
    let status = server.stop(Duration::from_secs(20));
    assert!(status.success(), "serve --queue stops too");
}
