//! A third-party author's path: `connector-host new` for Rust, Python and
//! JavaScript builds on this machine from the package registries and
//! passes `check`; the Rust project's own test script calls it against
//! moto. Plus the checks an author meets: memory too small, the compiled
//! cache's bound.

use std::path::Path;
use std::process::{Command, Output};

const BINARY: &str = env!("CARGO_BIN_EXE_shipped-connector-host");

fn host(args: &[&str], cache: &Path) -> Output {
    Command::new(BINARY)
        .args(args)
        .env("XDG_CACHE_HOME", cache)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("the CLI runs")
}

/// `host`, failing unless the command succeeded.
fn host_ok(args: &[&str], cache: &Path) -> Output {
    let output = host(args, cache);
    assert!(output.status.success(), "connector-host {args:?} failed: {}", text(&output.stderr));
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `program` in `dir`, failing with what it printed; a missing
/// program fails with the step that installs it.
fn run(dir: &Path, program: &str, args: &[&str], install: &str) {
    let output = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("CONNECTOR_HOST", BINARY)
        // The project builds on its own, not into this build's target.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env("XDG_CACHE_HOME", connector_tests::cache_dir().join("xdg"))
        .output()
        .unwrap_or_else(|e| panic!("could not run {program} ({e}); install it first: {install}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed:\n{}\n{}",
        text(&output.stdout),
        text(&output.stderr).lines().rev().take(40).collect::<Vec<_>>().join("\n")
    );
}

/// Creates a project of `lang` named `name` in a new directory.
fn new_project(lang: &str, name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let output = host(&["new", name, "--lang", lang, "--dir", dir.path().to_str().unwrap()], dir.path());
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains(&format!("created {}", dir.path().join(name).display())));
    dir
}

fn check(component: &Path) -> String {
    let cache = tempfile::tempdir().unwrap();
    let output = host(&["check", component.to_str().unwrap()], cache.path());
    assert!(output.status.success(), "check failed:\n{}{}", text(&output.stdout), text(&output.stderr));
    text(&output.stdout)
}

#[test]
fn a_new_rust_connector_builds_checks_and_runs_against_moto() {
    let dir = new_project("rust", "my-sts");
    let project = dir.path().join("my-sts");
    for file in ["Cargo.toml", "src/lib.rs", "test.sh", "wit/connector.wit", "connector-sdk/src/lib.rs", "README.md"] {
        assert!(project.join(file).is_file(), "{file}");
    }
    // test.sh: cargo build for wasm32-wasip2, check, then invoke against moto.
    run(&project, "./test.sh", &[], "Rust with the wasm32-wasip2 target, and Python 3 for moto");
    let component = project.join("target/wasm32-wasip2/release/my_sts.wasm");
    let report = check(&component);
    assert!(report.starts_with("my-sts 0.1.0") && report.contains("no problems found"), "{report}");
}

/// `new --api URL`: a Rust connector for an HTTP API, whose test script
/// calls httpbin through a connection with a bearer token the connector
/// never sees.
#[test]
fn a_new_rust_api_connector_builds_checks_and_calls_its_api() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["new", "my-github", "--lang", "rust", "--api", "https://api.github.com", "--dir"];
    let output = host(&[&args[..], &[dir.path().to_str().unwrap()]].concat(), dir.path());
    assert!(output.status.success(), "{}", text(&output.stderr));
    let project = dir.path().join("my-github");
    let source = std::fs::read_to_string(project.join("src/lib.rs")).unwrap();
    assert!(source.contains(r#"Request::get("github""#) && source.contains("https://api.github.com"), "{source}");
    run(&project, "./test.sh", &[], "Rust with the wasm32-wasip2 target, and Python 3 for httpbin");
    let component = project.join("target/wasm32-wasip2/release/my_github.wasm");
    let report = check(&component);
    assert!(report.starts_with("my-github 0.1.0") && report.contains("no problems found"), "{report}");
    let refused = host(&["new", "bad-api", "--lang", "rust", "--api", "ftp://x.example", "--dir", "/tmp"], dir.path());
    assert!(text(&refused.stderr).contains("must be an http(s) URL"), "{}", text(&refused.stderr));
}

/// `new --lang python|js --api URL`: connectors written against the WIT
/// alone (componentize-py's and componentize-js's bindings, no SDK),
/// declaring their API in `details`, call httpbin with a token they never
/// see.
#[test]
fn new_python_and_javascript_api_connectors_build_check_and_call_their_api() {
    for (lang, name, install) in [
        ("python", "py-weather", "Python 3.10+ with venv and pip, for componentize-py and httpbin"),
        ("js", "js-weather", "Node.js 20+ with npm for componentize-js, and Python 3 for httpbin"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let args = ["new", name, "--lang", lang, "--api", "https://api.weather.example/v2", "--dir"];
        let output = host(&[&args[..], &[dir.path().to_str().unwrap()]].concat(), dir.path());
        assert!(output.status.success(), "{}", text(&output.stderr));
        let project = dir.path().join(name);
        run(&project, "./test.sh", &[], install);
        let report = check(&project.join("connector.wasm"));
        assert!(report.contains(&format!("{name} 0.1.0")) && report.contains("no problems found"), "{report}");
    }
}

/// `new --aws-service`: a connector generated from an AWS API model
/// builds, passes `check` and reads from moto; a service the tests never
/// named, picked at random among those the generator speaks
/// (`CONNECTOR_TESTS_AWS_SERVICE` picks one), builds and passes `check`;
/// what it cannot make is refused, naming the service, leaving no
/// directory behind.
#[test]
fn new_aws_service_connectors_are_generated_from_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let at = dir.path().to_str().unwrap();
    // botocore's models are installed once, into the suite's cache.
    let models = connector_tests::cache_dir().join("xdg");
    let new = |name: &str, service: &str, extra: &[&str]| {
        let args = [&["new", name, "--lang", "rust", "--aws-service", service, "--dir", at][..], extra].concat();
        host(&args, &models)
    };

    let created = new("my-dynamo", "dynamodb", &[]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert!(text(&created.stdout).contains("(Amazon DynamoDB: 62 operations)"), "{}", text(&created.stdout));
    let project = dir.path().join("my-dynamo");
    let source = std::fs::read_to_string(project.join("src/model.rs")).unwrap();
    assert!(source.contains("botocore, Apache License 2.0") && source.contains("\"DynamoDB_20120810\""));
    // The suite's moto, where the script would install the same pin.
    std::os::unix::fs::symlink(connector_tests::emulator::venv(), project.join(".venv")).unwrap();
    run(&project, "./test.sh", &[], "Rust with the wasm32-wasip2 target, and Python 3 for moto");
    let report = check(&project.join("target/wasm32-wasip2/release/my_dynamo.wasm"));
    assert!(report.contains("services: dynamodb") && report.contains("operations: 63"), "{report}");

    let service = std::env::var("CONNECTOR_TESTS_AWS_SERVICE").unwrap_or_else(|_| untested_service());
    let picked = new("picked", &service, &[]);
    assert!(picked.status.success(), "--aws-service {service}: {}", text(&picked.stderr));
    let build = Command::new("cargo")
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .current_dir(dir.path().join("picked"))
        // Beside the first project's build: its dependencies are built.
        .env("CARGO_TARGET_DIR", project.join("target"))
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .output()
        .unwrap();
    assert!(build.status.success(), "--aws-service {service} does not build:\n{}", text(&build.stderr));
    assert!(!text(&build.stderr).contains("warning"), "--aws-service {service} warns:\n{}", text(&build.stderr));
    let report = check(&project.join("target/wasm32-wasip2/release/picked.wasm"));
    assert!(report.contains("no problems found"), "--aws-service {service}: {report}");

    let narrowed = new("narrow", "sqs", &["--operations", "list_*,get_queue_url"]);
    assert!(
        text(&narrowed.stdout).contains("(Amazon Simple Queue Service: 5 operations)"),
        "{}",
        text(&narrowed.stderr)
    );
    for (name, service, extra, problem) in [
        ("bad-one", "nothing-like-it", &[][..], "has no AWS service `nothing-like-it`"),
        ("bad-two", "cognito", &[], "no AWS service `cognito`; nearest: cognito-identity, cognito-idp"),
        ("bad-three", "sqs", &["--operations", "nothing_*"], "matches none of the 23 operations"),
    ] {
        let refused = new(name, service, extra);
        assert!(!refused.status.success() && text(&refused.stderr).contains(problem), "{}", text(&refused.stderr));
        assert!(!dir.path().join(name).exists(), "{name} was left behind");
    }
    let python = host(&["new", "py-sqs", "--lang", "python", "--aws-service", "sqs", "--dir", at], &models);
    assert!(text(&python.stderr).contains("use --lang rust"), "{}", text(&python.stderr));
}

/// A botocore service the generator makes a connector of and no test
/// names, at random; printed, so a failure can be replayed.
fn untested_service() -> String {
    // The generator's own list of what it makes, from the pinned botocore.
    let python = connector_tests::emulator::models_venv().join("bin/python");
    let data = Command::new(&python)
        .args(["-c", "import botocore, os; print(os.path.join(os.path.dirname(botocore.__file__), 'data'))"])
        .output()
        .unwrap();
    let generator = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../connector-sdk/codegen/aws.py");
    let listed =
        Command::new(&python).arg(generator).args(["--list", "--data", text(&data.stdout).trim()]).output().unwrap();
    let services: Vec<String> = text(&listed.stdout)
        .lines()
        .filter(|name| !["dynamodb", "sqs", "cognito-idp", "lambda", "sns", "s3", "ec2", "cloudwatch"].contains(name))
        .map(str::to_owned)
        .collect();
    assert!(services.len() > 350, "{}", text(&listed.stderr));
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let service = services[nanos as usize % services.len()].clone();
    println!("the untested service picked: {service} (CONNECTOR_TESTS_AWS_SERVICE={service} picks it again)");
    service
}

#[test]
fn a_new_python_connector_builds_and_checks() {
    let dir = new_project("python", "py-sts");
    let project = dir.path().join("py-sts");
    run(&project, "./build.sh", &[], "Python 3.10+ with venv and pip (apt-get install python3-venv)");
    let component = project.join("connector.wasm");
    let report = check(&component);
    assert!(report.contains("py-sts 0.1.0") && report.contains("no problems found"), "{report}");
    // An interpreter component needs more memory than a tight cap: named.
    let cache = tempfile::tempdir().unwrap();
    let tight = host(
        &["invoke", component.to_str().unwrap(), "hello", "--memory-mib", "4", "--region", "us-east-1"],
        cache.path(),
    );
    let err = text(&tight.stderr);
    assert!(err.contains("needs at least") && err.contains("raise --memory-mib to"), "{err}");
    let hello = host(
        &["invoke", component.to_str().unwrap(), "hello", "-i", r#"{"name": "py"}"#, "--region", "us-east-1"],
        cache.path(),
    );
    assert!(text(&hello.stdout).contains("Hello, py!"), "{}", text(&hello.stderr));
    let typo = host(
        &["invoke", component.to_str().unwrap(), "hello", "-i", r#"{"nme": "py"}"#, "--region", "us-east-1"],
        cache.path(),
    );
    assert!(text(&typo.stderr).contains("[invalid-input]"), "{}", text(&typo.stderr));
}

#[test]
fn a_new_javascript_connector_builds_and_checks() {
    let dir = new_project("js", "js-sts");
    let project = dir.path().join("js-sts");
    run(&project, "npm", &["install", "--no-audit", "--no-fund"], "Node.js 18+ with npm (apt-get install nodejs npm)");
    run(&project, "npm", &["run", "build"], "Node.js 18+ with npm");
    let report = check(&project.join("connector.wasm"));
    assert!(report.contains("js-sts 0.1.0") && report.contains("no problems found"), "{report}");
}

#[test]
fn new_refuses_bad_names_and_existing_directories() {
    let dir = tempfile::tempdir().unwrap();
    let at = dir.path().to_str().unwrap();
    let bad = host(&["new", "Bad Name", "--lang", "rust", "--dir", at], dir.path());
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("is not a connector name"), "{}", text(&bad.stderr));
    std::fs::create_dir(dir.path().join("taken")).unwrap();
    let taken = host(&["new", "taken", "--lang", "js", "--dir", at], dir.path());
    assert!(!taken.status.success());
    assert!(text(&taken.stderr).contains("already exists"), "{}", text(&taken.stderr));
}

/// `check` lists every problem of a manifest and exits non-zero.
#[test]
fn check_lists_every_problem() {
    let variants = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let bad = connector_tests::hostile_variant("bad-name", variants.path());
    let output = host(&["check", bad.to_str().unwrap()], cache.path());
    assert_eq!(output.status.code(), Some(1));
    let report = text(&output.stdout);
    assert!(
        report.contains("problems:") && report.contains(r"its name `evil\u{a}WARN forged` is not a machine name"),
        "{report}"
    );
    let json = host_ok(&["check", connector_tests::components::GUEST_COGNITO, "--json"], cache.path());
    let inspection: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(inspection["contract"], "connector:api/connector@0.1.3");
    assert_eq!(inspection["manifest"]["operations"].as_array().unwrap().len(), 133);
    assert_eq!(inspection["problems"], serde_json::json!([]));
}

/// Memory caps in one bucket share compiled artifacts, and the cache is
/// pruned to its bound.
#[test]
fn the_compiled_cache_is_shared_and_bounded() {
    let cache = tempfile::tempdir().unwrap();
    let component = connector_tests::components::HOSTILE;
    for memory in ["16", "32", "64"] {
        host_ok(&["describe", component, "--memory-mib", memory], cache.path());
    }
    let entries = |dir: &Path| std::fs::read_dir(dir.join("connector-host/compiled")).map_or(0, |d| d.count());
    assert_eq!(entries(cache.path()), 1, "16, 32 and 64 MiB share one compiled artifact");
    host_ok(&["describe", component, "--memory-mib", "100"], cache.path());
    assert_eq!(entries(cache.path()), 2, "128 MiB is another bucket");
    let pruned = host_ok(&["cache", "prune", "--to", "0"], cache.path());
    let pruned: serde_json::Value = serde_json::from_slice(&pruned.stdout).unwrap();
    let compiled = &pruned["compiled"];
    assert_eq!((compiled["removed"].as_u64(), compiled["kept"].as_u64()), (Some(2), Some(0)), "{pruned}");
    assert_eq!(pruned["oci"]["kept"], 0, "{pruned}");
    assert_eq!(entries(cache.path()), 0);
    // A bound smaller than one entry keeps the entry just written.
    host_ok(&["describe", component, "--cache-max-bytes", "1"], cache.path());
    host_ok(&["describe", component, "--memory-mib", "100", "--cache-max-bytes", "1"], cache.path());
    assert_eq!(entries(cache.path()), 1, "the older entry was evicted");
}
