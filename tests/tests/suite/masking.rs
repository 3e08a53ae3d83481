//! Secrets a run handles are hidden wherever the run is kept: members an
//! operation's output schema marks `writeOnly` (tokens a sign-in returns),
//! and copies of any secret of the run (a password a reference carried
//! into a later input, a value a service echoes) are `"***"` in the run's
//! record, in the store's files and on the console's run page, while later
//! steps still get the real values through their references.

use std::path::Path;

use connector_tests::components;
use connector_tests::emulator::{Emulator, Kind};
use connector_tests::hostile_variant;
use connector_tests::server::Server;
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_shipped-connector-host");

/// Every file under `dir`, read whole (the store, its journal).
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            found.push((path.display().to_string(), bytes));
        }
    }
    found
}

/// Whether `needle` occurs in `haystack`.
fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

async fn run(server: &Server, workflow: Value) -> Value {
    let (status, run) = server.post("/v1/runs", &workflow).await;
    assert_eq!(status, 200, "{run}");
    let (_, kept) = server.get(&format!("/v1/runs/{}", run["id"].as_str().unwrap())).await;
    kept
}

/// With a connector whose output schema marks `token` secret: the token
/// is hidden where it is returned, where a reference copies it into a
/// later input, and where that step's answer echoes it; the later steps
/// still got the real token.
#[tokio::test]
async fn secrets_in_outputs_and_their_copies_are_hidden_where_runs_are_kept() {
    const TOKEN: &str = "tok-3f9a1c77-do-not-keep";
    let dir = tempfile::tempdir().unwrap();
    hostile_variant("normal", dir.path());
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(BINARY, dir.path(), data.path(), &[], None).await;
    let step = |id: &str, input: Value| json!({"id": id, "connector": "hostile", "operation": "echo", "input": input});
    let kept = run(
        &server,
        json!({"name": "tokens", "steps": [
            step("sign_in", json!({"token": TOKEN, "note": "signed in"})),
            step("copy", json!({"note": "the token is {{steps.sign_in.output.token}}"})),
            step("again", json!({"token": "{{steps.sign_in.output.token}}", "note": "kept"})),
        ]}),
    )
    .await;
    assert_eq!(kept["status"], "succeeded", "{kept}");
    let steps = kept["steps"].as_array().unwrap();
    assert_eq!(steps[0]["output"], json!({"token": "***", "note": "signed in"}));
    assert_eq!(steps[0]["masked"], true);
    assert_eq!(steps[1]["input"], json!({"note": "the token is ***"}), "a copy in a later input");
    assert_eq!(steps[1]["output"], json!({"note": "the token is ***"}), "echoed by the service");
    assert_eq!(steps[1]["masked"], true, "the step got the real token, not the mask: its answer had it");
    assert_eq!(steps[2]["output"], json!({"token": "***", "note": "kept"}));
    assert!(!kept.to_string().contains(TOKEN), "{kept}");
    for (file, bytes) in files_under(data.path()) {
        assert!(!holds(&bytes, TOKEN), "{file} holds the token");
    }
    let page = reqwest::get(format!("{}/runs/{}", server.base(), kept["id"].as_str().unwrap())).await.unwrap();
    let page = page.text().await.unwrap();
    assert!(page.contains("the token is ***") && !page.contains(TOKEN), "the console's run page");
    // A direct call returns the output to its caller, as MCP does.
    let (status, direct) = server.post("/v1/connectors/hostile/operations/echo", &json!({"token": TOKEN})).await;
    assert_eq!((status, direct["token"].as_str()), (200, Some(TOKEN)));
}

/// The finding this comes from: a workflow that signs a user in kept the
/// access, ID and refresh tokens Cognito returned in clear, and the user
/// name its input masked. Against moto: the record and the store's files
/// hold no token (every one a JWT: `eyJ...`) and no user name.
#[tokio::test]
async fn a_cognito_sign_in_keeps_no_token() {
    const PASSWORD: &str = "Corr3ct-Horse-Battery!";
    let emulator = Emulator::start(Kind::Moto);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(components::GUEST_COGNITO, dir.path().join("guest_cognito.wasm")).unwrap();
    let data = tempfile::tempdir().unwrap();
    let endpoint = emulator.endpoint();
    let server = Server::start(BINARY, dir.path(), data.path(), &["--endpoint-url", &endpoint], None).await;
    let step = |id: &str, operation: &str, input: Value| json!({"id": id, "connector": "aws-cognito", "operation": operation, "input": input});
    let kept = run(
        &server,
        json!({"name": "sign in", "steps": [
            step("pool", "create_user_pool", json!({"pool_name": "Masking"})),
            step("app", "create_user_pool_client", json!({"user_pool_id": "{{steps.pool.output.UserPool.Id}}",
                "client_name": "app", "explicit_auth_flows": ["ALLOW_ADMIN_USER_PASSWORD_AUTH"]})),
            step("user", "admin_create_user", json!({"user_pool_id": "{{steps.pool.output.UserPool.Id}}",
                "username": "masked-user", "message_action": "SUPPRESS"})),
            step("password", "admin_set_user_password", json!({"user_pool_id": "{{steps.pool.output.UserPool.Id}}",
                "username": "masked-user", "password": PASSWORD, "permanent": true})),
            step("sign_in", "admin_initiate_auth", json!({"user_pool_id": "{{steps.pool.output.UserPool.Id}}",
                "client_id": "{{steps.app.output.UserPoolClient.ClientId}}", "auth_flow": "ADMIN_USER_PASSWORD_AUTH",
                "auth_parameters": {"USERNAME": "masked-user", "PASSWORD": PASSWORD}})),
        ]}),
    )
    .await;
    assert_eq!(kept["status"], "succeeded", "{kept}");
    let result = &kept["steps"][4]["output"]["AuthenticationResult"];
    for token in ["AccessToken", "IdToken", "RefreshToken"] {
        assert_eq!(result[token], "***", "{token}: {kept}");
    }
    assert_eq!(kept["steps"][2]["output"]["User"]["Username"], "***", "the user name its input masks");
    let text = kept.to_string();
    for secret in ["eyJ", "masked-user", PASSWORD] {
        assert!(!text.contains(secret), "the record holds {secret}: {text}");
        for (file, bytes) in files_under(data.path()) {
            assert!(!holds(&bytes, secret), "{file} holds {secret}");
        }
    }
}
