//! `connector-host serve` as a process over real HTTP on loopback: runs
//! recorded and kept across restarts, connectors swapped under load,
//! broken ones refused, the token, back-pressure and a clean SIGTERM.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use connector_tests::capture::{CaptureServer, Reply};
use connector_tests::emulator::{Emulator, Kind, clients_venv};
use connector_tests::server::Server;
use connector_tests::{components, hostile_variant, sdk_client, test_credentials};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_shipped-connector-host");

/// A directory holding copies of `components`.
fn connector_dir(components: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for component in components {
        let name = Path::new(component).file_name().unwrap();
        std::fs::copy(component, dir.path().join(name)).unwrap();
    }
    dir
}

/// The seed workflow with its connector alias naming the loaded connector.
#[tokio::test]
async fn runs_are_recorded_step_by_step_and_survive_a_restart() {
    let emulator = Emulator::start(Kind::Moto);
    let dir = connector_dir(&[components::GUEST_COGNITO]);
    let data = tempfile::tempdir().unwrap();
    let endpoint = emulator.endpoint();
    let args = ["--endpoint-url", endpoint.as_str()];
    let server = Server::start(BINARY, dir.path(), data.path(), &args, None).await;

    // The seed, plus a step that sets a password: recorded masked, used
    // for real.
    let mut workflow = connector_tests::served_seed_workflow();
    workflow["steps"].as_array_mut().unwrap().push(json!({
        "id": "set_password", "connector": "cognito", "operation": "admin_set_user_password",
        "input": {"user_pool_id": "{{steps.create_user_pool.output.UserPool.Id}}", "username": "exampleUsername",
                  "password": "Corr3ct-Horse-Battery!", "permanent": true}
    }));
    // A reference copies the password where the schema does not call it
    // secret: the record still hides it.
    workflow["steps"].as_array_mut().unwrap().push(json!({
        "id": "copy", "connector": "cognito", "operation": "create_group",
        "input": {"user_pool_id": "{{steps.create_user_pool.output.UserPool.Id}}", "group_name": "sales",
                  "description": "Sales {{steps.set_password.input.password}}"}
    }));
    let (status, run) = server.post("/v1/runs", &workflow).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    assert_eq!(run["workflow"], "Create the Marketing Department user pool and its first user");
    let steps = run["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 4);
    let pool_id = steps[0]["output"]["UserPool"]["Id"].as_str().unwrap();
    assert_eq!(steps[1]["input"]["user_pool_id"], pool_id, "step 2's recorded input holds step 1's pool id");
    assert_eq!(steps[1]["output"]["User"]["Username"], "***", "a user name is sensitive in the model");
    assert_eq!(steps[2]["input"]["password"], "***", "writeOnly members are masked in the record");
    assert_eq!(steps[3]["input"]["description"], "Sales ***", "copies are masked too");
    for step in steps {
        assert!(!step["input"].to_string().contains("Corr3ct-Horse-Battery!"), "no recorded input holds the password");
    }
    for step in steps {
        assert_eq!(step["connector"], "aws-cognito");
        assert!(step["digest"].as_str().unwrap().starts_with("sha256:"));
        assert!(step["started_at"].as_str().unwrap().ends_with('Z'));
        assert!(step["duration_ms"].is_u64());
    }
    let sdk = sdk_client(&endpoint, test_credentials());
    let user = sdk.admin_get_user().user_pool_id(pool_id).username("exampleUsername").send().await.unwrap();
    assert_eq!(user.user_status().map(|s| s.as_str()), Some("CONFIRMED"), "the real password was set");
    let group = sdk.get_group().user_pool_id(pool_id).group_name("sales").send().await.unwrap();
    let description = group.group().and_then(|g| g.description());
    assert_eq!(description, Some("Sales Corr3ct-Horse-Battery!"), "the operation got the real value");

    let id = run["id"].as_str().unwrap().to_owned();
    assert_eq!(server.get(&format!("/v1/runs/{id}")).await, (200, run.clone()));

    // Without waiting: 202 and an id; the run goes on and is recorded.
    let (status, accepted) = server.post("/v1/runs?wait=false", &connector_tests::served_seed_workflow()).await;
    assert_eq!(status, 202, "{accepted}");
    let second = accepted["id"].as_str().unwrap().to_owned();
    server
        .wait_until(Duration::from_secs(30), async || {
            server.get(&format!("/v1/runs/{second}")).await.1["status"] == "succeeded"
        })
        .await;
    let (_, listed) = server.get("/v1/runs?limit=5").await;
    let ids: Vec<&str> = listed["runs"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second.as_str(), id.as_str()], "newest first");
    assert_eq!(listed["runs"][1]["steps"], 4, "listings summarize: the step count");

    assert!(server.stop(Duration::from_secs(30)).success());
    let restarted = Server::start(BINARY, dir.path(), data.path(), &args, None).await;
    assert_eq!(restarted.get(&format!("/v1/runs/{id}")).await, (200, run), "kept across a restart");
}

#[tokio::test]
async fn bad_requests_get_clear_errors() {
    let dir = connector_dir(&[components::GUEST_COGNITO]);
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(BINARY, dir.path(), data.path(), &["--max-body-bytes", "4096"], None).await;
    let call = |op: &str| format!("/v1/connectors/aws-cognito/operations/{op}");
    let (status, body) = server.post(&call("create_user_pool"), &json!({"pool_name": 7})).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (400, Some("invalid-input")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("pool_name"), "{body}");
    let (status, body) = server.post(&call("no_such_operation"), &json!({})).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (404, Some("unknown-operation")), "{body}");
    let (status, body) = server.post("/v1/connectors/nobody/operations/x", &json!({})).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (404, Some("unknown-connector")), "{body}");
    let malformed = server
        .request(reqwest::Method::POST, &call("list_user_pools"))
        .header("content-type", "application/json")
        .body("{oops")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(malformed.json::<Value>().await.unwrap()["error"]["kind"], "invalid-json");
    let huge = json!({"pool_name": "x".repeat(10_000)});
    let (status, body) = server.post(&call("create_user_pool"), &huge).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (413, Some("body-too-large")), "{body}");
    let (status, body) = server.post("/v1/runs", &json!({"steps": []})).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (400, Some("invalid-workflow")), "{body}");
    let unknown = json!({"steps": [{"id": "a", "connector": "nobody", "operation": "x"}]});
    let (status, body) = server.post("/v1/runs", &unknown).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (404, Some("unknown-connector")), "{body}");
    assert_eq!(server.get("/v1/runs/no-such-run").await.0, 404);
    let bad_limit = server.request(reqwest::Method::GET, "/v1/runs?limit=many").send().await.unwrap();
    assert_eq!(bad_limit.status(), 400);
    assert_eq!(bad_limit.headers()["content-type"], "application/json");
    let body: Value = bad_limit.json().await.unwrap();
    assert_eq!(body["error"]["kind"], "invalid-query", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("limit"), "{body}");

    let (status, manifest) = server.get("/v1/connectors/aws-cognito").await;
    assert_eq!(status, 200);
    assert_eq!(manifest["operations"].as_array().unwrap().len(), 133);
    assert!(manifest["digest"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(server.status("/healthz").await, 200);
    let metrics = server.request(reqwest::Method::GET, "/metrics").send().await.unwrap().text().await.unwrap();
    for line in [
        r#"connector_host_invocations_total{connector="aws-cognito",operation="create_user_pool",outcome="invalid-input"} 1"#,
        "connector_host_connectors 1",
        "connector_host_loads_total 1",
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
}

/// A connector's schemas cannot make the server expand them without end:
/// one whose references double at every level is refused when it loads,
/// and one whose members each refer back to the root loads, with a form
/// and an OpenAPI document that stay small.
#[tokio::test]
async fn schemas_that_expand_without_end_cannot_hold_the_server() {
    let dir = tempfile::tempdir().unwrap();
    hostile_variant("schema-bomb", dir.path());
    hostile_variant("schema-to-root", dir.path());
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(BINARY, dir.path(), data.path(), &[], None).await;
    let (_, listed) = server.get("/v1/connectors").await;
    let errors = listed["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{listed}");
    assert!(errors[0]["file"].as_str().unwrap().ends_with("hostile-schema-bomb.wasm"), "{listed}");
    assert!(errors[0]["error"].as_str().unwrap().contains("expands to more than 50000 values"), "{listed}");

    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let form = client.get(format!("{}/connectors/hostile/operations/loop_forever", server.base())).send().await;
    let form = form.expect("the form page answers").text().await.unwrap();
    assert_eq!(form.matches("data-json=\"1\"").count(), 20, "each member back to the root is a JSON field");
    let openapi = client.get(format!("{}/openapi.json", server.base())).send().await.expect("the document answers");
    assert!(openapi.text().await.unwrap().len() < 1 << 20);
    assert_eq!(server.status("/healthz").await, 200);
}

/// Clients that open connections and never finish a request, or send a
/// body without end, cannot hold the server: heads and bodies have
/// deadlines, connections a cap, and `/mcp` the body cap too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_cut_off_and_connections_are_capped() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let dir = connector_dir(&[components::GUEST_COGNITO]);
    let data = tempfile::tempdir().unwrap();
    let args = ["--max-connections", "8", "--header-timeout", "1s", "--body-timeout", "1s", "--max-body-bytes", "4096"];
    let server = Server::start(BINARY, dir.path(), data.path(), &args, None).await;
    let address = server.base().strip_prefix("http://").unwrap().to_owned();
    let stalled: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut stream = TcpStream::connect(&address).unwrap();
            stream.write_all(b"GET /healthz HT").unwrap();
            stream
        })
        .collect();
    // Every slot is taken: a ninth client waits in the backlog.
    let quick = reqwest::Client::builder().timeout(Duration::from_millis(500)).build().unwrap();
    assert!(quick.get(format!("{}/healthz", server.base())).send().await.is_err(), "the ninth waits");
    // Half a request line is dropped at the header deadline, which frees
    // the slots.
    for mut stream in stalled {
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut buffer = [0u8; 64];
        let read = stream.read(&mut buffer);
        let closed = match &read {
            Ok(0) => true,
            Ok(_) => buffer.starts_with(b"HTTP/1.1 408"),
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        };
        assert!(closed, "closed by the server, not still open: {read:?}");
    }
    assert_eq!(server.status("/healthz").await, 200);

    // A body that stops halfway is answered 408 at the body deadline.
    let mut slow = TcpStream::connect(&address).unwrap();
    slow.write_all(
        b"POST /v1/connectors/aws-cognito/operations/list_user_pools HTTP/1.1\r\nHost: 127.0.0.1\r\n\
          Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"max_",
    )
    .unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("\"kind\":\"body-timeout\""), "{answer}");

    // `/mcp` takes no more than the body cap either. The server answers
    // and closes while the client may still be sending, which a loaded
    // machine sometimes turns into a reset before the answer is read: a
    // few tries, and one of them must read the 413.
    let big = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"pad": "x".repeat(8192)}});
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let sent = server
            .request(reqwest::Method::POST, "/mcp")
            .header("accept", "application/json, text/event-stream")
            .json(&big)
            .send()
            .await;
        match sent {
            Ok(response) => {
                statuses.push(response.status().as_u16());
                break;
            }
            Err(e) => assert!(e.is_request(), "only a cut-off send may fail: {e}"),
        }
    }
    assert_eq!(statuses, [413], "/mcp refuses a body over the cap");
}

/// A run's record is bounded in bytes: twenty steps that each copy one
/// large value forward once grew the store by twenty times that value.
/// Past `--max-run-bytes`, steps keep notes in place of their values.
#[tokio::test]
async fn a_run_record_is_bounded_in_bytes() {
    let dir = tempfile::tempdir().unwrap();
    hostile_variant("normal", dir.path());
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(BINARY, dir.path(), data.path(), &["--max-run-bytes", "300000"], None).await;
    let mut steps = vec![json!({"id": "s0", "connector": "hostile", "operation": "echo",
        "input": {"blob": "x".repeat(60_000)}})];
    for i in 1..20 {
        steps.push(json!({"id": format!("s{i}"), "connector": "hostile", "operation": "echo",
            "input": {"blob": "{{steps.s0.output.blob}}"}}));
    }
    let (status, run) = server.post("/v1/runs", &json!({"name": "copies", "steps": steps})).await;
    assert_eq!((status, run["status"].as_str()), (200, Some("succeeded")), "{run}");
    let (_, kept) = server.get(&format!("/v1/runs/{}", run["id"].as_str().unwrap())).await;
    let steps = kept["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 20);
    assert_eq!(steps[0]["output"]["blob"].as_str().map(str::len), Some(60_000), "the first steps are whole");
    let note = json!({"recorded": "cut: the run's record is full", "run_bytes": 300_000});
    assert_eq!(steps[19]["input"], note);
    assert_eq!(steps[19]["output"], note);
    let recorded: usize = steps.iter().map(|s| s.to_string().len()).sum();
    assert!(recorded <= 300_000 + 20 * 200, "{recorded} bytes recorded");
}

/// A client that sends requests and never reads the answers stalls the
/// server's writes; past the body timeout the connection closes and its
/// slot is free again. And a request without the token is refused before
/// its body is read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_nobody_reads_free_their_connection() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let dir = connector_dir(&[components::GUEST_COGNITO]);
    let data = tempfile::tempdir().unwrap();
    let args = ["--max-connections", "2", "--body-timeout", "1s", "--header-timeout", "1s"];
    let server = Server::start(BINARY, dir.path(), data.path(), &args, Some("t0ken")).await;
    let address = server.base().strip_prefix("http://").unwrap().to_owned();
    let request = b"GET /openapi.json HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer t0ken\r\n\r\n";
    let flooders: Vec<_> = (0..2)
        .map(|_| {
            let address = address.clone();
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(address).unwrap();
                stream.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
                // Requests without end, answers never read: the server's
                // writes stall once the buffers fill.
                loop {
                    if let Err(e) = stream.write_all(request) {
                        // Our own write timeout means the server never
                        // closed; a reset or a broken pipe means it did.
                        return !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut);
                    }
                }
            })
        })
        .collect();
    for flooder in flooders {
        assert!(flooder.join().unwrap(), "the server closed the connection it could not write to");
    }
    let after = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let healthz = after.get(format!("{}/healthz", server.base())).send().await.expect("a slot is free again");
    assert_eq!(healthz.status(), 200);

    // Without the token, a declared body is never waited for: the answer
    // is 401, not the 408 of a body read until its deadline.
    drop(after);
    let mut bare = TcpStream::connect(&address).unwrap();
    bare.write_all(
        b"POST /v1/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n",
    )
    .unwrap();
    bare.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut answer = [0u8; 12];
    bare.read_exact(&mut answer).expect("an answer");
    assert_eq!(String::from_utf8_lossy(&answer), "HTTP/1.1 401");
}

/// Files come and go while the server runs: a broken one is refused and
/// listed, a second file claiming a loaded name is refused, and a removed
/// file's connector is unloaded.
#[tokio::test]
async fn the_directory_is_watched() {
    let dir = connector_dir(&[components::GUEST_COGNITO]);
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(BINARY, dir.path(), data.path(), &[], None).await;
    let listing = async || server.get("/v1/connectors").await.1;

    std::fs::write(dir.path().join("broken.wasm"), b"\0asm\x0d\0\x01\0not really").unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
    std::fs::copy(components::GUEST_COGNITO, dir.path().join("second-cognito.wasm")).unwrap();
    server.wait_until(Duration::from_secs(30), async || listing().await["errors"].as_array().unwrap().len() == 2).await;
    let now = listing().await;
    let errors = now["errors"].as_array().unwrap();
    let broken = errors.iter().find(|e| e["file"].as_str().unwrap().ends_with("broken.wasm")).expect("listed");
    assert!(broken["error"].as_str().unwrap().contains("is not a valid WebAssembly component"), "{broken}");
    let second = errors.iter().find(|e| e["file"].as_str().unwrap().ends_with("second-cognito.wasm")).expect("listed");
    assert!(second["error"].as_str().unwrap().contains("names itself `aws-cognito`, which"), "{second}");
    assert_eq!(now["connectors"].as_array().unwrap().len(), 1, "{now}");
    let (status, _) =
        server.post("/v1/connectors/aws-cognito/operations/create_user_pool", &json!({"pool_name": 1})).await;
    assert_eq!(status, 400, "the loaded connector keeps serving");
    // The file refused for its name waits for a change: reading it to load
    // it is not one (it once reloaded several times a second).
    let attempts = async || {
        let metrics = server.request(reqwest::Method::GET, "/metrics").send().await.unwrap().text().await.unwrap();
        let count = |name: &str| {
            let line = metrics.lines().find(|l| l.starts_with(&format!("{name} "))).expect("the metric");
            line.rsplit(' ').next().unwrap().parse::<u64>().unwrap()
        };
        count("connector_host_loads_total") + count("connector_host_load_failures_total")
    };
    let before = attempts().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(attempts().await, before, "no load without a change");

    // A rename keeps the connector: the renamed file takes the name over.
    std::fs::rename(dir.path().join("guest_cognito.wasm"), dir.path().join("renamed.wasm")).unwrap();
    server
        .wait_until(Duration::from_secs(30), async || {
            let now = listing().await;
            now["errors"].as_array().unwrap().len() == 2
                && now["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|e| !e["file"].as_str().unwrap().ends_with("renamed.wasm"))
        })
        .await;
    let (status, _) =
        server.post("/v1/connectors/aws-cognito/operations/create_user_pool", &json!({"pool_name": 1})).await;
    assert_eq!(status, 400, "served from the renamed file");
    std::fs::rename(dir.path().join("renamed.wasm"), dir.path().join("guest_cognito.wasm")).unwrap();

    // The first file goes: its name passes to the second.
    std::fs::remove_file(dir.path().join("guest_cognito.wasm")).unwrap();
    std::fs::remove_file(dir.path().join("broken.wasm")).unwrap();
    server
        .wait_until(Duration::from_secs(30), async || {
            let now = listing().await;
            now["errors"].as_array().unwrap().is_empty() && now["connectors"].as_array().unwrap().len() == 1
        })
        .await;
    std::fs::remove_file(dir.path().join("second-cognito.wasm")).unwrap();
    server
        .wait_until(Duration::from_secs(30), async || listing().await["connectors"].as_array().unwrap().is_empty())
        .await;
    let (status, body) = server.post("/v1/connectors/aws-cognito/operations/list_user_pools", &json!({})).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (404, Some("unknown-connector")));

    // An entry that is no file (a link to a device) is listed with its
    // reason, not skipped in silence; it is never opened.
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("device.wasm")).unwrap();
    server.wait_until(Duration::from_secs(30), async || listing().await["errors"].as_array().unwrap().len() == 1).await;
    let device = &listing().await["errors"][0];
    assert!(device["file"].as_str().unwrap().ends_with("device.wasm"), "{device}");
    assert!(device["error"].as_str().unwrap().contains("is not a regular file (it is a device)"), "{device}");
}

/// Sixteen callers call without pause while the component file is replaced
/// again and again (same code, different bytes): no call fails, and the
/// listing ends on the last version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connectors_are_swapped_under_load_without_a_failed_call() {
    let variants = tempfile::tempdir().unwrap();
    let versions: Vec<PathBuf> = (1..=5).map(|v| hostile_variant(&format!("v{v}"), variants.path())).collect();
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("hostile.wasm");
    std::fs::copy(&versions[0], &live).unwrap();
    let data = tempfile::tempdir().unwrap();
    let server = Arc::new(Server::start(BINARY, dir.path(), data.path(), &[], None).await);

    let stop = Arc::new(AtomicBool::new(false));
    let (calls, failures) = (Arc::new(AtomicUsize::new(0)), Arc::new(Mutex::new(Vec::new())));
    let callers: Vec<_> = (0..16)
        .map(|caller| {
            let (server, stop, calls, failures) = (server.clone(), stop.clone(), calls.clone(), failures.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let input = json!({"caller": caller});
                    let (status, body) = server.post("/v1/connectors/hostile/operations/echo", &input).await;
                    calls.fetch_add(1, Ordering::Relaxed);
                    if status != 200 || body != input {
                        failures.lock().unwrap().push(format!("{status} {body}"));
                    }
                }
            })
        })
        .collect();

    for (round, version) in versions.iter().enumerate().skip(1) {
        tokio::time::sleep(Duration::from_millis(400)).await;
        if round % 2 == 0 {
            // Written in place, so the watcher may see it half-written.
            std::fs::write(&live, std::fs::read(version).unwrap()).unwrap();
        } else {
            // Copied under another name and renamed over, as deploys do.
            let temp = dir.path().join(".hostile.wasm.partial");
            std::fs::copy(version, &temp).unwrap();
            std::fs::rename(&temp, &live).unwrap();
        }
    }
    let last_version = json!("5.0.0");
    server
        .wait_until(Duration::from_secs(60), async || {
            let (_, listing) = server.get("/v1/connectors").await;
            listing["connectors"][0]["version"] == last_version
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for caller in callers {
        caller.await.unwrap();
    }
    let failures = failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "{} of {} calls failed: {:?}",
        failures.len(),
        calls.load(Ordering::Relaxed),
        &failures[..failures.len().min(5)]
    );
    assert!(calls.load(Ordering::Relaxed) > 100, "the callers kept calling: {}", calls.load(Ordering::Relaxed));
    let (_, listing) = server.get("/v1/connectors").await;
    let expected = format!("sha256:{}", sha256_hex(&std::fs::read(&versions[4]).unwrap()));
    assert_eq!(listing["connectors"][0]["digest"], expected.as_str(), "{listing}");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout).unwrap().split_whitespace().next().unwrap().to_owned()
}

/// More CPU-bound calls than cores do not hold up an ordinary call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spinning_connectors_do_not_delay_ordinary_calls() {
    let dir = connector_dir(&[components::HOSTILE]);
    let data = tempfile::tempdir().unwrap();
    let server = Arc::new(Server::start(BINARY, dir.path(), data.path(), &["--timeout-ms", "5000"], None).await);
    let spinners: Vec<_> = (0..4)
        .map(|_| {
            let server = server.clone();
            tokio::spawn(async move { server.post("/v1/connectors/hostile/operations/loop_forever", &json!({})).await })
        })
        .collect();
    // Only once all four are running does the timing below mean anything.
    server
        .wait_until(Duration::from_secs(3), async || {
            let metrics = server.request(reqwest::Method::GET, "/metrics").send().await.unwrap().text().await.unwrap();
            metrics.lines().any(|l| l == "connector_host_invocations_in_flight 4")
        })
        .await;
    let started = Instant::now();
    let (status, _) = server.post("/v1/connectors/hostile/operations/echo", &json!({"quick": true})).await;
    let waited = started.elapsed();
    assert_eq!(status, 200);
    assert!(spinners.iter().all(|s| !s.is_finished()), "the spinners were still running");
    assert!(waited < Duration::from_millis(1500), "an ordinary call beside 4 spinning ones took {waited:?}");
    for spinner in spinners {
        let (status, body) = spinner.await.unwrap();
        assert_eq!((status, body["error"]["kind"].as_str()), (504, Some("timeout")), "{body}");
    }
}

/// The token guards `/v1`; a full pool answers 503 at once; SIGTERM lets
/// the calls in flight finish and exits 0.
#[tokio::test]
async fn token_back_pressure_and_a_clean_stop() {
    let upstream = CaptureServer::start();
    let slow = Reply::SlowBody { delay: Duration::from_millis(1500), body: br#"{"UserPools":[]}"#.to_vec() };
    upstream.script([slow.clone(), slow]);
    let dir = connector_dir(&[components::GUEST_COGNITO]);
    let data = tempfile::tempdir().unwrap();
    let endpoint = upstream.endpoint();
    let args = ["--endpoint-url", endpoint.as_str(), "--max-concurrent", "2"];
    let server = Arc::new(Server::start(BINARY, dir.path(), data.path(), &args, Some("open-sesame")).await);

    let anonymous = reqwest::Client::new();
    let url = format!("{}/v1/connectors", server.base());
    assert_eq!(anonymous.get(&url).send().await.unwrap().status(), 401);
    let wrong = anonymous.get(&url).bearer_auth("open-sesamE").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.text().await.unwrap().is_empty(), "no detail");
    assert_eq!(server.status("/v1/connectors").await, 200);
    assert_eq!(anonymous.get(format!("{}/healthz", server.base())).send().await.unwrap().status(), 200);

    let list = "/v1/connectors/aws-cognito/operations/list_user_pools";
    let held: Vec<_> = (0..2)
        .map(|_| {
            let server = server.clone();
            tokio::spawn(async move { server.post(list, &json!({"max_results": 1})).await })
        })
        .collect();
    upstream.wait_for_requests(2, Duration::from_secs(30)).await;
    let busy = server.request(reqwest::Method::POST, list).json(&json!({"max_results": 1})).send().await.unwrap();
    assert_eq!(busy.status(), 503);
    assert_eq!(busy.headers()["retry-after"], "1");
    assert_eq!(busy.json::<Value>().await.unwrap()["error"]["kind"], "busy");

    // SIGTERM with both calls in flight: they complete, then the process
    // exits 0.
    let pid = server.pid();
    // SAFETY: kill(2) on the server's pid.
    unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    for call in held {
        let (status, body) = call.await.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let server = Arc::try_unwrap(server).ok().expect("no other handle");
    assert!(server.wait_for_exit(Duration::from_secs(30)).success(), "exit 0 after SIGTERM");
}

/// Guessing the token by trying: five wrong tries from an address are
/// free, then it waits longer after each (429 with `Retry-After`, its
/// token not even looked at), on the API and the console's sign-in alike,
/// while other addresses are served; the right token after the wait
/// clears it.
#[tokio::test]
async fn an_address_that_guesses_tokens_is_held_back() {
    let dir = connector_dir(&[]);
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(BINARY, dir.path(), data.path(), &[], Some("open-sesame")).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let url = format!("{}/v1/connectors", server.base());
    for guess in 0..6 {
        let wrong = client.get(&url).bearer_auth(format!("guess-{guess}")).send().await.unwrap();
        assert_eq!(wrong.status(), 401, "try {guess}");
    }
    let held = client.get(&url).bearer_auth("open-sesame").send().await.unwrap();
    assert_eq!(held.status(), 429, "held back, even with the right token");
    assert_eq!(held.headers()["retry-after"], "2");
    let login = format!("{}/login", server.base());
    let signing_in = client.post(&login).form(&[("token", "open-sesame")]).send().await.unwrap();
    assert_eq!(signing_in.status(), 429, "the console's sign-in too");
    let elsewhere: std::net::IpAddr = "127.0.0.2".parse().unwrap();
    let other = reqwest::Client::builder().local_address(elsewhere).build().unwrap();
    assert_eq!(other.get(&url).bearer_auth("open-sesame").send().await.unwrap().status(), 200, "others are served");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(client.get(&url).bearer_auth("open-sesame").send().await.unwrap().status(), 200);
    for guess in 0..5 {
        let wrong = client.post(&login).form(&[("token", format!("guess-{guess}"))]).send().await.unwrap();
        assert_eq!(wrong.status(), 401, "the right token cleared the address: try {guess} is free");
    }
    let wrong = client.post(&login).form(&[("token", "guess-5")]).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let held = client.post(&login).form(&[("token", "guess-6")]).send().await.unwrap();
    assert_eq!(held.status(), 429, "wrong sign-ins count as wrong tokens");
}

#[tokio::test]
async fn without_a_token_only_loopback_is_served() {
    let dir = connector_dir(&[]);
    let output = std::process::Command::new(BINARY)
        .args(["serve", "--listen", "0.0.0.0:0", "--connectors"])
        .arg(dir.path())
        .env_remove("CONNECTOR_HOST_API_TOKEN")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("refusing to listen on 0.0.0.0:0 without an API token"), "{err}");
}

/// The OpenAPI document is valid OpenAPI 3.1 for a third-party validator,
/// with one path per operation carrying its input schema.
#[tokio::test]
async fn the_openapi_document_validates() {
    let dir = connector_dir(&[components::GUEST_COGNITO, components::HOSTILE]);
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(BINARY, dir.path(), data.path(), &[], None).await;
    let (status, document) = server.get("/openapi.json").await;
    assert_eq!(status, 200);
    let paths = document["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 133 + connector_tests::HOSTILE_OPERATIONS);
    let create = &paths["/v1/connectors/aws-cognito/operations/create_user_pool"]["post"];
    assert_eq!(create["operationId"], "aws-cognito__create_user_pool");
    assert_eq!(create["requestBody"]["content"]["application/json"]["schema"]["required"], json!(["pool_name"]));

    let file = data.path().join("openapi.json");
    std::fs::write(&file, document.to_string()).unwrap();
    let clients = clients_venv();
    let check = std::process::Command::new(clients.join("bin/python"))
        .args([
            "-c",
            "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
}

/// Without a token the server is on loopback, and web pages must not reach
/// it: a cross-site "simple" POST and a rebound Host are refused.
#[tokio::test]
async fn web_pages_cannot_drive_a_server_without_a_token() {
    let dir = connector_dir(&[components::GUEST_COGNITO]);
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(BINARY, dir.path(), data.path(), &[], None).await;
    let client = reqwest::Client::new();
    let url = format!("{}/v1/runs", server.base());
    let simple = client.post(&url).header("content-type", "text/plain").body("{}").send().await.unwrap();
    assert_eq!(simple.status(), 415);
    let rebound =
        client.get(format!("{}/v1/runs", server.base())).header("host", "attacker.example").send().await.unwrap();
    assert_eq!(rebound.status(), 403);
    let fine = client.get(format!("{}/v1/runs", server.base())).send().await.unwrap();
    assert_eq!(fine.status(), 200);
}

/// Steps are recorded as they end; a run going on at SIGTERM finishes
/// before the process exits; `--max-runs` answers 503 at once; grants
/// select a directory's connector by its file name.
#[tokio::test]
async fn runs_in_progress_are_recorded_and_finish_at_shutdown() {
    let upstream = CaptureServer::start();
    let slow = Reply::SlowBody { delay: Duration::from_millis(2000), body: b"{}".to_vec() };
    upstream.script([slow]);
    let dir = connector_dir(&[components::HOSTILE]);
    let data = tempfile::tempdir().unwrap();
    let endpoint = upstream.endpoint();
    let args = ["--endpoint-url", endpoint.as_str(), "--max-runs", "1", "--grant", "hostile=cognito-idp"];
    let server = Server::start(BINARY, dir.path(), data.path(), &args, None).await;
    let workflow = json!({"name": "slow", "steps": [
        {"id": "quick", "connector": "hostile", "operation": "echo", "input": {"n": 1}},
        {"id": "slow", "connector": "hostile", "operation": "call_service", "input": {"service": "cognito-idp"}}
    ]});
    let (status, accepted) = server.post("/v1/runs?wait=false", &workflow).await;
    assert_eq!(status, 202);
    let id = accepted["id"].as_str().unwrap().to_owned();
    upstream.wait_for_requests(1, Duration::from_secs(30)).await;
    let (_, midway) = server.get(&format!("/v1/runs/{id}")).await;
    assert_eq!(midway["status"], "running");
    assert_eq!(midway["steps"].as_array().unwrap().len(), 1, "step 1 is recorded before step 2 ends: {midway}");
    let (status, body) = server.post("/v1/runs", &workflow).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (503, Some("busy")), "{body}");

    assert!(server.stop(Duration::from_secs(60)).success());
    let restarted = Server::start(BINARY, dir.path(), data.path(), &args, None).await;
    let (_, finished) = restarted.get(&format!("/v1/runs/{id}")).await;
    assert_eq!(finished["status"], "succeeded", "the run finished before the process exited: {finished}");
    assert_eq!(finished["steps"][1]["output"]["status"], 200);
    drop(restarted);

    // A grant naming no file of the directory stops the server at start.
    let output = std::process::Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--grant", "nobody=", "--connectors"])
        .arg(dir.path())
        .arg("--data-dir")
        .arg(data.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("--grant for alias `nobody` selects no connector served"), "{err}");
}
