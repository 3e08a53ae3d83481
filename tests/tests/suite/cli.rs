//! The `connector-host` command line as a user runs it.

use std::process::{Command, Output};

use connector_tests::capture::CaptureServer;
use connector_tests::emulator::{Emulator, Kind};
use connector_tests::{REGION, components};
use serde_json::Value;

fn cli(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_shipped-connector-host"));
    command
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER")
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "AKIDCLITEST")
        .env("AWS_SECRET_ACCESS_KEY", "cli-test-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("XDG_CACHE_HOME", connector_tests::cache_dir().join("xdg"));
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().expect("the CLI runs")
}

fn stdout_json(output: &Output) -> Value {
    assert!(output.status.success(), "exit {:?}, stderr:\n{}", output.status, String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn describe_json_lists_every_operation_with_its_schema() {
    let manifest = stdout_json(&cli(&["describe", components::GUEST_COGNITO, "--json"], &[]));
    assert_eq!(manifest["name"], "aws-cognito");
    assert_eq!(manifest["services"], serde_json::json!(["cognito-idp"]));
    let operations = manifest["operations"].as_array().unwrap();
    assert_eq!(operations.len(), 133, "the 132 API operations and call_api");
    assert!(operations.iter().any(|op| op["name"] == "call_api"));
    let create = operations.iter().find(|op| op["name"] == "create_user_pool").unwrap();
    assert_eq!(create["title"], "Create user pool");
    assert!(!create["description"].as_str().unwrap().is_empty());
    assert_eq!(create["input_schema"]["required"], serde_json::json!(["pool_name"]));
}

#[test]
fn describe_prints_a_table() {
    let output = cli(&["describe", components::GUEST_COGNITO], &[]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.starts_with("AWS Cognito (aws-cognito) "), "{text}");
    assert!(text.contains("133 operations:"), "{text}");
    assert!(text.lines().any(|l| l.trim_start().starts_with("admin_create_user ")), "{text}");
}

#[test]
fn invoke_prints_output_and_global_flags_go_anywhere() {
    let emulator = Emulator::start(Kind::Moto);
    let endpoint = emulator.endpoint();
    let created = stdout_json(&cli(
        &[
            "--region",
            REGION,
            "invoke",
            components::GUEST_COGNITO,
            "create_user_pool",
            "--input",
            r#"{"pool_name": "CLI Pool"}"#,
            "--endpoint-url",
            &endpoint,
        ],
        &[],
    ));
    let id = created["UserPool"]["Id"].as_str().unwrap();

    let input_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(input_file.path(), format!(r#"{{"user_pool_id": "{id}"}}"#)).unwrap();
    let input_arg = format!("@{}", input_file.path().display());
    // The endpoint from the SDK's per-service variable instead of the flag.
    let described = stdout_json(&cli(
        &["invoke", components::GUEST_COGNITO, "describe_user_pool", "--input", &input_arg, "--region", REGION],
        &[("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", &endpoint)],
    ));
    assert_eq!(described["UserPool"]["Name"], "CLI Pool");
}

#[test]
fn invoke_failures_name_the_kind_and_code() {
    let emulator = Emulator::start(Kind::Moto);
    let endpoint = emulator.endpoint();
    let base = ["invoke", components::GUEST_COGNITO, "--endpoint-url", &endpoint, "--region", REGION];

    let missing =
        cli(&[&base[..], &["describe_user_pool", "-i", r#"{"user_pool_id": "us-east-1_nothere"}"#]].concat(), &[]);
    assert_eq!(missing.status.code(), Some(1));
    let err = stderr(&missing);
    assert!(err.contains("[service]") && err.contains("ResourceNotFoundException"), "{err}");
    assert!(missing.stdout.is_empty());

    let invalid = cli(&[&base[..], &["create_user_pool", "-i", r#"{"pool_name": 7}"#]].concat(), &[]);
    assert_eq!(invalid.status.code(), Some(1));
    let err = stderr(&invalid);
    assert!(err.contains("[invalid-input]") && err.contains("pool_name: expected a string"), "{err}");

    let unknown = cli(&[&base[..], &["create_pool"]].concat(), &[]);
    assert!(stderr(&unknown).contains("[unknown-operation]"), "{}", stderr(&unknown));

    let not_json = cli(&[&base[..], &["create_user_pool", "-i", "{pool_name:"]].concat(), &[]);
    assert!(stderr(&not_json).contains("--input is not valid JSON"), "{}", stderr(&not_json));
}

#[test]
fn run_prints_each_step_with_the_pool_id_threaded_through() {
    let emulator = Emulator::start(Kind::Moto);
    let workflow = concat!(env!("CARGO_MANIFEST_DIR"), "/../host/workflows/marketing-department.json");
    let connector = format!("cognito={}", components::GUEST_COGNITO);
    let output = cli(
        &["run", workflow, "--connector", &connector, "--endpoint-url", &emulator.endpoint(), "--region", REGION],
        &[],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("── Step 1/2: create_user_pool (aws-cognito.create_user_pool)"), "{text}");
    assert!(text.contains("── Step 2/2: create_user (aws-cognito.admin_create_user)"), "{text}");
    assert_eq!(text.matches("Input:").count(), 2);
    assert_eq!(text.matches("Output:").count(), 2);
    let pool_id = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("\"Id\": \"").map(|rest| rest.trim_end_matches(['"', ','])))
        .expect("step 1 prints the pool id");
    assert!(text.contains(&format!("\"user_pool_id\": \"{pool_id}\"")), "{text}");

    let json = stdout_json(&cli(
        &[
            "run",
            workflow,
            "--json",
            "--connector",
            &connector,
            "--endpoint-url",
            &emulator.endpoint(),
            "--region",
            REGION,
        ],
        &[],
    ));
    assert_eq!(json.as_array().unwrap().len(), 2);
    // The model calls user names sensitive: hidden in the output as in the
    // input.
    assert_eq!(json[1]["output"]["User"]["Username"], "***");
    assert_eq!(json[1]["masked"], true);
    assert_eq!(json[1]["output"]["User"]["Enabled"], true);
}

/// `--grant` selects by what the operator controls: the component path
/// here (the connector's self-chosen name selects nothing, and saying so is
/// an error rather than a silent no-op).
#[test]
fn operator_grants_select_by_path_and_unmatched_grants_are_errors() {
    let emulator = Emulator::start(Kind::Moto);
    let endpoint = emulator.endpoint();
    let base = ["invoke", components::GUEST_COGNITO, "list_user_pools", "-i", r#"{"max_results": 5}"#];
    let base = [&base[..], &["--endpoint-url", &endpoint, "--region", REGION]].concat();

    let by_path = format!("{}=", components::GUEST_COGNITO);
    let denied = cli(&[&base[..], &["--grant", &by_path]].concat(), &[]);
    assert_eq!(denied.status.code(), Some(1));
    let err = stderr(&denied);
    assert!(err.contains("[capability]") && err.contains("`cognito-idp` is not granted"), "{err}");

    let by_name = cli(&[&base[..], &["--grant", "aws-cognito="]].concat(), &[]);
    assert_eq!(by_name.status.code(), Some(1));
    let err = stderr(&by_name);
    assert!(err.contains("--grant for alias `aws-cognito` selects no loaded connector"), "{err}");

    let allowed = cli(&[&base[..], &["--grant", &format!("{}=cognito-idp", components::GUEST_COGNITO)]].concat(), &[]);
    assert!(stdout_json(&allowed)["UserPools"].is_array());

    let bad = cli(&[&base[..], &["--grant", "no-equals-sign"]].concat(), &[]);
    assert!(stderr(&bad).contains("--grant `no-equals-sign` must be CONNECTOR=SERVICE"), "{}", stderr(&bad));
    let upper = cli(&[&base[..], &["--grant", &format!("{}=Cognito-IDP", components::GUEST_COGNITO)]].concat(), &[]);
    assert!(stderr(&upper).contains("`Cognito-IDP` is not a valid service name"), "{}", stderr(&upper));
}

/// In a workflow, the alias is what a grant selects; before, `--grant
/// mine=` did not restrict a connector whose manifest said another name.
#[test]
fn workflow_grants_select_the_alias() {
    let server = CaptureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let workflow = dir.path().join("workflow.json");
    std::fs::write(
        &workflow,
        serde_json::json!({
            "connectors": {"mine": components::HOSTILE},
            "steps": [{"id": "call", "connector": "mine", "operation": "call_service", "input": {"service": "cognito-idp"}}]
        })
        .to_string(),
    )
    .unwrap();
    let base = ["run", workflow.to_str().unwrap(), "--json", "--endpoint-url", &server.endpoint(), "--region", REGION];
    let narrowed = stdout_json(&cli(&[&base[..], &["--grant", "mine="]].concat(), &[]));
    let error = narrowed[0]["output"]["error"].as_str().unwrap();
    assert!(error.contains("`cognito-idp` is not granted to this connector (granted: none)"), "{error}");
    assert!(server.take().is_empty());

    let open = stdout_json(&cli(&base, &[]));
    assert_eq!(open[0]["output"]["status"], 200, "{open}");
}

/// `run --input` gives a workflow its inputs, as JSON or from a file; bad
/// inputs are refused before any step, naming the member.
#[test]
fn run_takes_inputs_and_refuses_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let workflow = dir.path().join("workflow.json");
    std::fs::write(
        &workflow,
        serde_json::json!({
            "connectors": {"h": components::HOSTILE},
            "inputs": {"type": "object", "properties": {"note": {"type": "string", "maxLength": 10}},
                       "required": ["note"]},
            "steps": [
                {"id": "say", "connector": "h", "operation": "echo", "input": {"note": "{{inputs.note}}!"}},
                {"id": "shout", "connector": "h", "operation": "echo", "input": {"note": "loud"},
                 "if": "inputs.note.size() > 3"}
            ]
        })
        .to_string(),
    )
    .unwrap();
    let path = workflow.to_str().unwrap();
    let ran = stdout_json(&cli(&["run", path, "--json", "--input", r#"{"note": "hi"}"#], &[]));
    assert_eq!(ran[0]["output"], serde_json::json!({"note": "hi!"}));
    assert_eq!(ran[1]["skipped"]["value"], false, "{ran}");
    let file = dir.path().join("inputs.json");
    std::fs::write(&file, r#"{"note": "hello"}"#).unwrap();
    let ran = stdout_json(&cli(&["run", path, "--json", "--input", &format!("@{}", file.display())], &[]));
    assert_eq!(ran[1]["output"], serde_json::json!({"note": "loud"}));

    for (input, problem) in [
        (r#"{"note": "far too long a note"}"#, "inputs/note"),
        ("{}", "\"note\" is a required property"),
        ("{note}", "--input is not JSON"),
    ] {
        let output = cli(&["run", path, "--input", input], &[]);
        assert_eq!(output.status.code(), Some(1), "{input}");
        assert!(stderr(&output).contains(problem), "{input}: {}", stderr(&output));
    }
}

/// Each limit flag is hit, not just parsed.
#[test]
fn limit_flags_are_enforced() {
    let server = CaptureServer::start();
    let endpoint = server.endpoint();
    let hostile = |operation: &str, input: &str, flags: &[&str]| {
        let args =
            [&["invoke", components::HOSTILE, operation, "-i", input, "--endpoint-url", &endpoint][..], flags].concat();
        let output = cli(&args, &[]);
        (output.status.code(), stderr(&output), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let (code, err, _) = hostile("loop_forever", "{}", &["--timeout-ms", "300"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("[timeout]") && err.contains("300 ms deadline"), "{err}");
    let (_, err, _) = hostile("allocate_forever", "{}", &["--memory-mib", "16"]);
    assert!(err.contains("[memory-limit]") && err.contains("16 MiB"), "{err}");
    let (_, err, _) = hostile("huge_output", r#"{"bytes": 5000}"#, &["--max-output-bytes", "1000"]);
    assert!(err.contains("[output-too-large]") && err.contains("1000 byte limit"), "{err}");
    let (_, err, _) = hostile("call_many", r#"{"times": 10}"#, &["--max-calls", "3", "--region", REGION]);
    assert!(err.contains("[capability]") && err.contains("more than 3 requests in one invocation"), "{err}");
    let (_, _, out) = hostile("many_headers", r#"{"count": 6}"#, &["--max-request-headers", "5", "--region", REGION]);
    assert!(out.contains("6 request headers are over the limit of 5"), "{out}");
    server.respond_with(200, &[b'x'; 100]);
    let (_, _, out) =
        hostile("call_service", r#"{"service": "cognito-idp"}"#, &["--max-response-bytes", "10", "--region", REGION]);
    assert!(out.contains("response body is over the 10 byte limit"), "{out}");
    let (_, err, _) = hostile("echo", r#"{"a": "long enough"}"#, &["--max-input-bytes", "10"]);
    assert!(err.contains("[invalid-input]") && err.contains("over the limit of 10 bytes"), "{err}");

    let help = String::from_utf8(cli(&["--help"], &[]).stdout).unwrap();
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    for default in ["[default: 60000]", "[default: 64]", "[default: 3]", "[default: 1000]", "[default: 16384]"] {
        assert!(help.contains(default), "--help shows {default}: {help}");
    }
    // Out-of-range values are refused, not wrapped: 2^44 MiB once became 0.
    for (flag, value) in [("--memory-mib", "17592186044416"), ("--memory-mib", "0"), ("--timeout-ms", "0")] {
        let out = cli(&["describe", components::HOSTILE, flag, value], &[]);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert!(stderr(&out).contains(&format!("invalid value '{value}' for '{flag}")), "{}", stderr(&out));
    }
}

/// Text a connector supplies is escaped before it reaches a terminal, and
/// `describe` stays linear in the manifest.
#[test]
fn connector_text_is_escaped_on_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let escaped =
        cli(&["describe", connector_tests::hostile_variant("escape-title", dir.path()).to_str().unwrap()], &[]);
    assert!(escaped.status.success(), "{}", stderr(&escaped));
    let text = String::from_utf8(escaped.stdout).unwrap();
    assert!(!text.contains('\x1b') && !text.contains('\r') && !text.contains('\x07'), "{text:?}");
    assert!(text.starts_with(r"\u{1b}[2J\u{1b}]0;pwned\u{7}Cleared\u{d}forged (hostile)"), "{text}");
    assert!(text.contains(r"\u{1b}[31mred\u{1b}[0m\u{a}WARN forged line"), "{text}");
    assert!(!text.lines().any(|l| l.starts_with("WARN")), "{text}");

    let long = cli(&["describe", connector_tests::hostile_variant("long-name", dir.path()).to_str().unwrap()], &[]);
    assert_eq!(long.status.code(), Some(1));
    let err = stderr(&long);
    assert!(err.contains("is not a machine name") && err.len() < 1000, "{err}");

    let server = CaptureServer::start();
    let failed = cli(&["invoke", components::HOSTILE, "escape_error", "--endpoint-url", &server.endpoint()], &[]);
    let err = stderr(&failed);
    assert!(err.contains(r"[connector]: connector error: \u{1b}[2J\u{1b}]0;pwned\u{7}boom"), "{err}");
    assert!(!err.contains('\x1b'), "{err:?}");
}

/// Files the CLI reads are regular files within a size cap: `/dev/zero`
/// was read until memory ran out, and a FIFO blocked forever.
#[test]
fn only_regular_files_within_limits_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.wasm");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let fifo = fifo.to_str().unwrap();
    let input_fifo = format!("@{fifo}");
    let workflow = dir.path().join("zero.json");
    std::os::unix::fs::symlink("/dev/zero", &workflow).unwrap();
    for (args, expected) in [
        (vec!["describe", "/dev/zero"], "the component /dev/zero is not a regular file (it is a device)"),
        (vec!["describe", fifo], "is not a regular file (it is a FIFO)"),
        (
            vec!["invoke", components::HOSTILE, "echo", "--input", "@/dev/zero"],
            "the input file /dev/zero is not a regular file",
        ),
        (vec!["invoke", components::HOSTILE, "echo", "--input", &input_fifo], "(it is a FIFO)"),
        (vec!["run", workflow.to_str().unwrap()], "is not a regular file (it is a device)"),
    ] {
        let started = std::time::Instant::now();
        let output = cli(&args, &[]);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(stderr(&output).contains(expected), "{args:?}: {}", stderr(&output));
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{args:?} answered at once");
    }
    let big = dir.path().join("big.wasm");
    std::fs::File::create(&big).unwrap().set_len(1 << 40).unwrap();
    let output = cli(&["describe", big.to_str().unwrap()], &[]);
    assert!(
        stderr(&output)
            .contains("is 1099511627776 bytes, over the limit of 134217728 (--max-component-bytes raises it)"),
        "{}",
        stderr(&output)
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_shipped-connector-host"))
        .args(["invoke", components::HOSTILE, "echo", "--input", "-", "--max-input-bytes", "5"])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), br#"{"far": "too long"}"#).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(stderr(&output).contains("the input on stdin is over the limit of 5 bytes"), "{}", stderr(&output));
}

/// Proxy variables are ignored, so they cannot divert signed requests past
/// the egress filter; `--proxy` opts in explicitly.
#[test]
fn proxies_are_used_only_when_given_explicitly() {
    let (endpoint, proxy) = (CaptureServer::start(), CaptureServer::start());
    let args =
        ["invoke", components::HOSTILE, "call_service", "-i", r#"{"service": "cognito-idp"}"#, "--region", REGION];
    let direct = cli(
        &[&args[..], &["--endpoint-url", &endpoint.endpoint()]].concat(),
        &[("HTTP_PROXY", &proxy.endpoint()), ("HTTPS_PROXY", &proxy.endpoint()), ("ALL_PROXY", &proxy.endpoint())],
    );
    assert_eq!(stdout_json(&direct)["status"], 200);
    assert_eq!((endpoint.take().len(), proxy.take().len()), (1, 0), "the environment's proxy is ignored");

    let proxied =
        cli(&[&args[..], &["--endpoint-url", &endpoint.endpoint(), "--proxy", &proxy.endpoint()]].concat(), &[]);
    assert_eq!(stdout_json(&proxied)["status"], 200);
    let through = proxy.take();
    assert_eq!(through.len(), 1, "--proxy is used");
    assert_eq!(through[0].path, format!("{}/", endpoint.endpoint()), "an absolute-form proxy request");
    assert!(endpoint.take().is_empty());
}
