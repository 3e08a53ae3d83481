//! Named authentications against ministack with AUTH=true, which enforces
//! SigV4, IAM policies and AssumeRole: each step and call signs as the
//! identity it names, the host alone holds the secrets, and every mistake
//! is an error before anything is sent.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use connector_tests::capture::CaptureServer;
use connector_tests::emulator::{Emulator, Kind, MINISTACK_ROOT, TenantIdentities};
use connector_tests::server::Server;
use connector_tests::{REGION, components, sdk_client};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_shipped-connector-host");

/// Writes the authentications file for `ids` into `dir`: `a` static from
/// the environment, `b` static from a file, `r` the role assumed as `b`.
fn authentications_file(dir: &Path, ids: &TenantIdentities) -> std::path::PathBuf {
    let secret_file = dir.join("b.secret");
    std::fs::write(&secret_file, format!("{}\n", ids.b.1)).unwrap();
    let private = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600);
    std::fs::set_permissions(&secret_file, private).unwrap();
    let file = dir.join("authentications.toml");
    std::fs::File::create(&file).unwrap();
    std::fs::set_permissions(&file, <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600))
        .unwrap();
    std::fs::write(
        &file,
        format!(
            r#"
[authentications.a]
kind = "static"
access_key_id = "{}"
secret_access_key_env = "TENANT_A_SECRET"
region = "{REGION}"

[authentications.b]
kind = "static"
access_key_id = "{}"
secret_access_key_file = "b.secret"
region = "{REGION}"

[authentications.r]
kind = "assume_role"
role_arn = "{}"
source = "b"
session_name = "connector-host-test"
region = "{REGION}"
"#,
            ids.a.0, ids.b.0, ids.role_arn
        ),
    )
    .unwrap();
    file
}

fn cli(args: &[&str], envs: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "AKIDNOBODY")
        .env("AWS_SECRET_ACCESS_KEY", "nobody-secret")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("XDG_CACHE_HOME", connector_tests::cache_dir().join("xdg"));
    for (k, v) in envs {
        command.env(k, v);
    }
    command.output().expect("the CLI runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn each_step_signs_as_its_authentication() {
    let emulator = Emulator::start(Kind::Ministack { auth: true });
    let ids = emulator.create_tenant_identities();
    let dir = tempfile::tempdir().unwrap();
    let file = authentications_file(dir.path(), &ids);
    let endpoint = emulator.endpoint();
    let env = [("TENANT_A_SECRET", ids.a.1.as_str())];
    let global = ["--authentications", file.to_str().unwrap(), "--endpoint-url", &endpoint, "--region", REGION];

    let workflow = dir.path().join("tenants.json");
    let pool = |id: &str, name: &str, auth: &str| {
        json!({"id": id, "connector": "cognito", "operation": "create_user_pool", "authentication": auth,
               "input": {"pool_name": name}})
    };
    std::fs::write(
        &workflow,
        json!({
            "name": "Three tenants",
            "connectors": {"cognito": components::GUEST_COGNITO},
            "steps": [pool("by_a", "Pool of A", "a"), pool("by_r", "Pool of R", "r"), pool("by_b", "Pool of B", "b")]
        })
        .to_string(),
    )
    .unwrap();
    let run = cli(&[&["run", workflow.to_str().unwrap(), "--json", "--log", "trace"][..], &global].concat(), &env);
    assert_eq!(run.status.code(), Some(1), "step 3 fails: {}", text(&run.stderr));
    let reports: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(reports[0]["authentication"], "a");
    assert_eq!(reports[0]["output"]["UserPool"]["Name"], "Pool of A");
    assert_eq!(reports[1]["authentication"], "r");
    assert_eq!(reports[1]["output"]["UserPool"]["Name"], "Pool of R", "{}", reports[1]);
    assert_eq!(reports[2]["authentication"], "b");
    assert_eq!(reports[2]["error"]["code"], "AccessDeniedException", "{}", reports[2]);

    let root = connector_host::Credentials::new(MINISTACK_ROOT.0, MINISTACK_ROOT.1, None, None, "root");
    let pools = sdk_client(&endpoint, root).list_user_pools().max_results(60).send().await.unwrap();
    let mut names: Vec<&str> = pools.user_pools().iter().filter_map(|p| p.name()).collect();
    names.sort();
    assert_eq!(names, ["Pool of A", "Pool of R"]);

    let who_a = cli(&[&["auth", "test", "a"][..], &global].concat(), &env);
    let who_a: Value = serde_json::from_slice(&who_a.stdout).unwrap_or_else(|_| panic!("{}", text(&who_a.stderr)));
    assert!(who_a["Arn"].as_str().unwrap().ends_with(":user/tenant-a"), "{who_a}");
    let who_r = cli(&[&["auth", "test", "r"][..], &global].concat(), &env);
    let who_r: Value = serde_json::from_slice(&who_r.stdout).unwrap_or_else(|_| panic!("{}", text(&who_r.stderr)));
    let arn = who_r["Arn"].as_str().unwrap();
    assert!(arn.contains(":assumed-role/tenant-r/connector-host-test"), "{who_r}");
    assert!(!who_r["Account"].as_str().unwrap().is_empty() && !who_r["UserId"].as_str().unwrap().is_empty());

    let list = cli(&[&["auth", "list"][..], &global].concat(), &[]);
    let listed: Value = serde_json::from_slice(&list.stdout).unwrap_or_else(|_| panic!("{}", text(&list.stderr)));
    assert_eq!(listed.as_array().unwrap().len(), 3);
    assert_eq!(listed[0]["name"], "a");
    assert_eq!(listed[0]["kind"], "static");
    let shortened = listed[0]["access_key_id"].as_str().unwrap();
    assert!(shortened.contains('…') && shortened != ids.a.0, "{shortened}");
    assert_eq!(listed[2]["source"], "b");

    // No secret anywhere: trace logs, reports, listings, identities. (Key
    // ids are no secret: they are in every signature's scope.)
    for output in [&run, &list] {
        let everything = format!("{}{}", text(&output.stdout), text(&output.stderr));
        for secret in [&ids.a.1, &ids.b.1] {
            assert!(!everything.contains(secret.as_str()), "a secret leaked");
        }
    }
    assert!(text(&run.stderr).contains("TRACE"), "the scan saw trace-level logs");
    assert!(!text(&list.stdout).contains(&ids.a.0), "the listing shortens key ids");
}

/// `serve` picks the authentication per call (`?authentication=`) and per
/// step in runs, and records which one each step used.
#[tokio::test]
async fn the_server_signs_each_call_as_it_asks() {
    let emulator = Emulator::start(Kind::Ministack { auth: true });
    let ids = emulator.create_tenant_identities();
    let dir = tempfile::tempdir().unwrap();
    let file = authentications_file(dir.path(), &ids);
    let connectors = tempfile::tempdir().unwrap();
    std::fs::copy(components::GUEST_COGNITO, connectors.path().join("cognito.wasm")).unwrap();
    let data = tempfile::tempdir().unwrap();
    // SAFETY: set before the server process starts; it inherits the
    // environment of this test process.
    unsafe { std::env::set_var("TENANT_A_SECRET", &ids.a.1) };
    let endpoint = emulator.endpoint();
    let args = ["--authentications", file.to_str().unwrap(), "--endpoint-url", &endpoint];
    let server = Server::start(BINARY, connectors.path(), data.path(), &args, None).await;

    let create = "/v1/connectors/aws-cognito/operations/create_user_pool";
    let (status, body) =
        server.post(&format!("{create}?authentication=r"), &json!({"pool_name": "Served for R"})).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server.post(&format!("{create}?authentication=b"), &json!({"pool_name": "Never"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("AccessDeniedException")), "{body}");
    let (status, body) = server.post(&format!("{create}?authentication=nobody"), &json!({"pool_name": "Never"})).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (400, Some("unknown-authentication")), "{body}");

    let workflow = json!({
        "name": "Tenant A by default", "authentication": "a",
        "steps": [
            {"id": "pool", "connector": "aws-cognito", "operation": "create_user_pool", "input": {"pool_name": "Run of A"}},
            {"id": "again", "connector": "aws-cognito", "operation": "describe_user_pool", "authentication": "r",
             "input": {"user_pool_id": "{{steps.pool.output.UserPool.Id}}"}}
        ]
    });
    let (status, run) = server.post("/v1/runs", &workflow).await;
    assert_eq!((status, run["status"].as_str()), (200, Some("succeeded")), "{run}");
    assert_eq!(run["steps"][0]["authentication"], "a");
    assert_eq!(run["steps"][1]["authentication"], "r");
    assert_eq!(run["steps"][1]["output"]["UserPool"]["Name"], "Run of A");
    let record = server.get(&format!("/v1/runs/{}", run["id"].as_str().unwrap())).await.1.to_string();
    assert!(!record.contains(&ids.a.1) && !record.contains(&ids.b.1), "no secret in the record");
    let unknown = json!({"authentication": "nobody",
        "steps": [{"id": "x", "connector": "aws-cognito", "operation": "list_user_pools", "input": {"max_results": 1}}]});
    let (status, body) = server.post("/v1/runs", &unknown).await;
    assert_eq!((status, body["error"]["kind"].as_str()), (400, Some("unknown-authentication")), "{body}");
    assert!(server.stop(Duration::from_secs(30)).success());
}

/// Mistakes in the file or on the command line are errors before anything
/// reaches the network.
#[test]
fn mistakes_are_errors_before_anything_is_sent() {
    let upstream = CaptureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let good = write(
        "good.toml",
        "[authentications.env]\nkind = \"static\"\naccess_key_id = \"AKIDGOOD\"\nsecret_access_key_env = \"GOOD_SECRET\"\n",
    );
    let missing_env = write(
        "missing-env.toml",
        "[authentications.tenant]\nkind = \"static\"\naccess_key_id = \"AKID\"\nsecret_access_key_env = \"CONNECTOR_TEST_UNSET\"\n",
    );
    let missing_file = write(
        "missing-file.toml",
        "[authentications.tenant]\nkind = \"static\"\naccess_key_id = \"AKID\"\nsecret_access_key_file = \"nowhere/secret\"\n",
    );
    let cycle = write(
        "cycle.toml",
        "[authentications.x]\nkind = \"assume_role\"\nrole_arn = \"arn:aws:iam::1:role/x\"\nsource = \"y\"\n\
         [authentications.y]\nkind = \"assume_role\"\nrole_arn = \"arn:aws:iam::1:role/y\"\nsource = \"x\"\n",
    );
    let literal = write(
        "literal.toml",
        "[authentications.t]\nkind = \"static\"\naccess_key_id = \"AKID\"\nsecret_access_key = \"plain-text-secret\"\n",
    );
    let endpoint = upstream.endpoint();
    let invoke = |file: &str, extra: &[&str]| {
        let args = [
            &["invoke", components::GUEST_COGNITO, "list_user_pools", "-i", r#"{"max_results": 1}"#][..],
            &["--authentications", file, "--endpoint-url", &endpoint, "--region", REGION],
            extra,
        ]
        .concat();
        let output = cli(&args, &[("GOOD_SECRET", "good-secret")]);
        (output.status.code(), text(&output.stderr))
    };
    for (file, extra, expected) in [
        (
            &good,
            &["--authentication", "nobody"][..],
            "unknown authentication: there is no authentication called `nobody`",
        ),
        (&missing_env, &[][..], "authentication `tenant`: the environment variable CONNECTOR_TEST_UNSET is not set"),
        (&missing_file, &[][..], "authentication `tenant`: could not open the secret file"),
        (&cycle, &[][..], "cycle of sources: x → y → x"),
        (&literal, &[][..], "`secret_access_key` holds a literal secret"),
    ] {
        let (code, err) = invoke(file, extra);
        assert_eq!(code, Some(1), "{file}: {err}");
        assert!(err.contains(expected), "{file}: {err}");
        assert!(!err.contains("plain-text-secret"), "{err}");
    }
    assert!(upstream.take().is_empty(), "nothing was sent");
    // The good file works (warning that it is shared), and signs as the
    // authentication it names.
    let (code, err) = invoke(&good, &["--authentication", "env"]);
    assert!(err.contains("the authentications file can be read by other users"), "a shared file warns: {err}");
    assert_eq!(code, Some(0), "{err}");
    let sent = upstream.take();
    assert!(sent[0].header("authorization").unwrap().contains("Credential=AKIDGOOD/"), "{:?}", sent[0].headers);
}

/// An authentication limited to some connectors refuses the others.
#[test]
fn an_authentication_serves_only_its_connectors() {
    let upstream = CaptureServer::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("auth.toml");
    std::fs::write(
        &file,
        format!(
            "[authentications.only_cognito]\nkind = \"static\"\naccess_key_id = \"AKIDONLY\"\n\
             secret_access_key_env = \"ONLY_SECRET\"\nconnectors = [\"{}\"]\n",
            components::GUEST_COGNITO
        ),
    )
    .unwrap();
    let call = |component: &str, operation: &str, input: &str| {
        let output = cli(
            &[
                "invoke",
                component,
                operation,
                "-i",
                input,
                "--authentication",
                "only_cognito",
                "--authentications",
                file.to_str().unwrap(),
                "--endpoint-url",
                &upstream.endpoint(),
                "--region",
                REGION,
            ],
            &[("ONLY_SECRET", "only-secret")],
        );
        (output.status.code(), text(&output.stderr))
    };
    assert_eq!(call(components::GUEST_COGNITO, "list_user_pools", r#"{"max_results": 1}"#).0, Some(0));
    let (code, err) = call(components::HOSTILE, "call_service", r#"{"service": "cognito-idp"}"#);
    assert_eq!(code, Some(1));
    assert!(
        err.contains("[authentication-denied]") && err.contains("may not use authentication `only_cognito`"),
        "{err}"
    );
    assert_eq!(upstream.take().len(), 1, "only the allowed call was sent");
}
