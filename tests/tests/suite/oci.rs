//! Connectors from an OCI registry: the CNCF distribution server (Debian's
//! `docker-registry`) on loopback, with oras (the ORAS project's Python
//! client) as the third-party client on the other side. Push with ours and
//! pull with oras, and the reverse; describe and invoke by digest; digests
//! verified; a moved tag never changes what a digest loads; pulled
//! components load offline; registry credentials from the Docker config
//! file; `serve --connector` resolves a tag only when asked.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use connector_tests::emulator::{Emulator, Kind, clients_venv};
use connector_tests::registry::Registry;
use connector_tests::server::Server;
use connector_tests::{components, sdk_client, test_credentials};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_shipped-connector-host");

/// The CLI with its caches (compiled components, pulled blobs) in `cache`,
/// so what it pulled is this test's alone.
fn cli(cache: &Path, args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env_remove("DOCKER_CONFIG")
        .env("HOME", cache)
        .env("XDG_CACHE_HOME", cache)
        .env("AWS_ACCESS_KEY_ID", "AKIDOCITEST")
        .env("AWS_SECRET_ACCESS_KEY", "oci-test-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().expect("the CLI runs")
}

fn stdout(output: &Output) -> String {
    assert!(output.status.success(), "exit {:?}, stderr:\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).unwrap().trim().to_owned()
}

fn failure(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure, got:\n{}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `connector-host push FILE REFERENCE`: the pinned reference it prints.
fn push(cache: &Path, component: &str, reference: &str) -> String {
    let pinned = stdout(&cli(cache, &["push", component, reference], &[]));
    let (repository, digest) = pinned.split_once('@').expect("a pinned reference");
    assert_eq!(repository, reference.rsplit_once(':').unwrap().0);
    assert!(digest.starts_with("sha256:") && digest.len() == 71, "{pinned}");
    pinned
}

fn describe(cache: &Path, reference: &str) -> Value {
    serde_json::from_str(&stdout(&cli(cache, &["describe", reference, "--json"], &[]))).unwrap()
}

fn oras(args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/oras_client.py");
    let output = Command::new(clients_venv().join("bin/python")).arg(script).args(args).output().unwrap();
    assert!(output.status.success(), "oras {args:?} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn pushed_by_us_pulled_by_oras_and_the_reverse_then_invoked_by_digest() {
    let registry = Registry::start();
    let cache = tempfile::tempdir().unwrap();
    let ours = push(cache.path(), components::GUEST_COGNITO, &format!("{}:1.0", registry.reference("team/cognito")));

    // oras reads our layout: the wasm config and one application/wasm layer
    // holding the very bytes.
    let out = tempfile::tempdir().unwrap();
    let pulled = oras(&["pull", &ours, out.path().to_str().unwrap()]);
    assert_eq!(pulled["manifest"]["config"]["mediaType"], "application/vnd.wasm.config.v0+json");
    assert_eq!(pulled["manifest"]["layers"].as_array().unwrap().len(), 1);
    assert_eq!(pulled["manifest"]["layers"][0]["mediaType"], "application/wasm");
    let file = pulled["files"][0].as_str().unwrap();
    assert_eq!(std::fs::read(file).unwrap(), std::fs::read(components::GUEST_COGNITO).unwrap());

    // What oras pushed, we describe and invoke by digest.
    let theirs = format!(
        "{}@{}",
        registry.reference("vendor/iam"),
        oras(&["push", &format!("{}:2.1", registry.reference("vendor/iam")), components::GUEST_IAM])["digest"]
            .as_str()
            .unwrap()
    );
    assert_eq!(describe(cache.path(), &theirs)["name"], "aws-iam");
    let text = stdout(&cli(cache.path(), &["describe", &ours], &[]));
    assert!(text.ends_with(&format!("from {ours}")), "describe names the pinned reference:\n{text}");

    let emulator = Emulator::start(Kind::Moto);
    let created = stdout(&cli(
        cache.path(),
        &[
            "invoke",
            &ours,
            "create_user_pool",
            "--input",
            r#"{"pool_name": "Pulled By Digest"}"#,
            "--endpoint-url",
            &emulator.endpoint(),
            "--region",
            connector_tests::REGION,
        ],
        &[],
    ));
    let created: Value = serde_json::from_str(&created).unwrap();
    let id = created["UserPool"]["Id"].as_str().unwrap().to_owned();
    let sdk = sdk_client(&emulator.endpoint(), test_credentials());
    let pool = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(sdk.describe_user_pool().user_pool_id(&id).send())
        .expect("the SDK reads the pool back");
    assert_eq!(pool.user_pool().unwrap().name(), Some("Pulled By Digest"));

    // A workflow's connector may be a reference too.
    let seed = connector_tests::seed_workflow_path();
    let connector = format!("cognito={ours}");
    let endpoint = emulator.endpoint();
    let seed = seed.to_str().unwrap();
    let args = ["run", seed, "--connector", &connector, "--json", "--endpoint-url", &endpoint, "--region", "us-east-1"];
    let steps: Value = serde_json::from_str(&stdout(&cli(cache.path(), &args, &[]))).unwrap();
    assert_eq!(steps[1]["output"]["User"]["Enabled"], true, "{steps}");
}

#[test]
fn digests_pin_what_loads_and_what_does_not_match_is_refused() {
    let mut registry = Registry::start();
    let cache = tempfile::tempdir().unwrap();
    let stable = format!("{}:stable", registry.reference("team/connector"));
    let first = push(cache.path(), components::GUEST_COGNITO, &stable);
    let second = push(cache.path(), components::GUEST_IAM, &stable);
    assert_ne!(first, second);
    assert_eq!(describe(cache.path(), &first)["name"], "aws-cognito", "the digest still loads what it named");
    assert_eq!(describe(cache.path(), &stable)["name"], "aws-iam", "the tag moved");

    // A digest the registry does not have.
    let missing = format!("{}@sha256:{}", registry.reference("team/connector"), "0".repeat(64));
    let error = failure(&cli(cache.path(), &["describe", &missing], &[]));
    assert!(error.contains("could not pull") && error.contains("manifest unknown"), "{error}");

    // Not the wasm layout: a layer of another media type.
    let plain = oras(&[
        "push",
        &format!("{}:1", registry.reference("team/plain")),
        components::GUEST_COGNITO,
        "application/octet-stream",
    ]);
    let plain = format!("{}@{}", registry.reference("team/plain"), plain["digest"].as_str().unwrap());
    let error = failure(&cli(cache.path(), &["describe", &plain], &[]));
    assert!(
        error.contains("not a connector component") && error.contains("exactly one application/wasm layer"),
        "{error}"
    );

    // The registry serves other bytes under the component's digest: caught
    // before anything compiles them (a fresh cache, so nothing is stored).
    let altered = push(cache.path(), components::GUEST_COGNITO, &format!("{}:1", registry.reference("team/altered")));
    let layer = oras(&["pull", &altered, tempfile::tempdir().unwrap().path().to_str().unwrap()])["manifest"]["layers"]
        [0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let blob = registry.blob_file(&layer);
    let mut bytes = std::fs::read(&blob).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let error = failure(&cli(fresh.path(), &["describe", &altered], &[]));
    assert!(error.contains("digest") && error.contains(&layer), "{error}");
    assert!(!error.contains("not a valid WebAssembly"), "refused before compiling: {error}");

    // Once pulled, a digest loads without the registry; a tag cannot.
    registry.stop();
    assert_eq!(describe(cache.path(), &first)["name"], "aws-cognito");
    let error = failure(&cli(cache.path(), &["describe", &stable], &[]));
    assert!(error.contains("could not pull") && error.contains(&stable), "{error}");
}

#[test]
fn registry_credentials_come_from_the_docker_config_file() {
    let registry = Registry::start_with_user("tester", "s3cret-registry-pass");
    let cache = tempfile::tempdir().unwrap();
    let reference = format!("{}:1", registry.reference("private/cognito"));
    let error = failure(&cli(cache.path(), &["push", components::GUEST_COGNITO, &reference], &[]));
    assert!(error.contains("401") || error.contains("authentication required"), "{error}");

    let docker = tempfile::tempdir().unwrap();
    let auth = aws_smithy_types::base64::encode("tester:s3cret-registry-pass");
    std::fs::write(
        docker.path().join("config.json"),
        json!({"auths": {(registry.address()): {"auth": auth}}}).to_string(),
    )
    .unwrap();
    let docker_config = docker.path().to_str().unwrap();
    let pushed = stdout(&cli(
        cache.path(),
        &["push", components::GUEST_COGNITO, &reference],
        &[("DOCKER_CONFIG", docker_config)],
    ));
    let described = cli(cache.path(), &["describe", &reference, "--json"], &[("DOCKER_CONFIG", docker_config)]);
    assert_eq!(serde_json::from_str::<Value>(&stdout(&described)).unwrap()["name"], "aws-cognito");
    let error = failure(&cli(cache.path(), &["describe", &reference], &[]));
    assert!(error.contains("Not authorized") || error.contains("401"), "{error}");
    assert!(!error.contains("s3cret"), "no password in errors: {error}");
    assert!(pushed.contains("@sha256:"));
}

/// The connectors `serve` lists: name to source.
async fn served(server: &Server) -> Vec<(String, String)> {
    let (status, listing) = server.get("/v1/connectors").await;
    assert_eq!(status, 200, "{listing}");
    listing["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_owned(), c["source"].as_str().unwrap_or_default().to_owned()))
        .collect()
}

#[tokio::test]
async fn serve_resolves_a_tag_at_start_and_again_only_when_asked() {
    let registry = Registry::start();
    let cache = tempfile::tempdir().unwrap();
    let live = format!("{}:live", registry.reference("team/connector"));
    let first = push(cache.path(), components::GUEST_COGNITO, &live);
    let data = tempfile::tempdir().unwrap();
    let server = Server::start_serving(BINARY, data.path(), &["--connector", &live], None).await;
    assert_eq!(served(&server).await, vec![("aws-cognito".to_owned(), first.clone())]);

    // The tag moves; the server keeps what it resolved, and asks the
    // registry nothing, whatever uses the connector meanwhile.
    let second = push(cache.path(), components::GUEST_IAM, &live);
    let tag = "/v2/team/connector/manifests/live";
    let asked = registry.requests_for(tag);
    assert!(asked > 0, "the access log shows the pushes' and the start's requests");
    assert_eq!(server.get("/v1/connectors/aws-cognito").await.0, 200);
    let (status, _) = server.post("/v1/connectors/aws-cognito/operations/create_user_pool", &json!({})).await;
    assert_eq!(status, 400, "a call to the connector");
    assert_eq!(reqwest::get(format!("{}/connectors/aws-cognito", server.base())).await.unwrap().status(), 200);
    assert_eq!(served(&server).await, vec![("aws-cognito".to_owned(), first.clone())], "never silently");
    assert_eq!(registry.requests_for(tag), asked, "the tag was not resolved again");

    // Asked, it resolves the tag again and serves the new bytes.
    let (status, reloaded) = server.post("/v1/connectors/reload", &json!({})).await;
    assert_eq!(status, 200, "{reloaded}");
    assert_eq!(reloaded["references"][0]["changed"], true, "{reloaded}");
    assert_eq!(reloaded["references"][0]["pinned"], second.as_str());
    assert_eq!(served(&server).await, vec![("aws-iam".to_owned(), second.clone())]);
    assert!(registry.requests_for(tag) > asked, "a reload asks the registry");
    let (_, again) = server.post("/v1/connectors/reload", &json!({})).await;
    assert_eq!(again["references"][0]["changed"], false, "{again}");

    // SIGHUP asks too.
    let third = push(cache.path(), components::GUEST_COGNITO, &live);
    // SAFETY: kill with a valid pid and signal has no other preconditions.
    assert_eq!(unsafe { libc::kill(server.pid() as i32, libc::SIGHUP) }, 0);
    server
        .wait_until(Duration::from_secs(30), async || {
            served(&server).await == vec![("aws-cognito".to_owned(), third.clone())]
        })
        .await;
    server.stop(Duration::from_secs(30));
}
