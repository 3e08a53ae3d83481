//! Connector operations as MCP tools, driven by the official MCP Python SDK
//! (pinned in tests/clients), over stdio and over Streamable HTTP on
//! `serve`, against moto.

use std::path::Path;
use std::process::Command;

use connector_tests::emulator::{Emulator, Kind, clients_venv};
use connector_tests::server::Server;
use connector_tests::{REGION, components, sdk_client, test_credentials};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_shipped-connector-host");

/// Runs tests/clients/mcp_scenario.py with `config`; its JSON report.
fn scenario(config: Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/mcp_scenario.py");
    let output = Command::new(clients_venv().join("bin/python")).arg(script).arg(config.to_string()).output().unwrap();
    assert!(
        output.status.success(),
        "the MCP client failed:\n{}",
        String::from_utf8_lossy(&output.stderr).lines().rev().take(40).collect::<Vec<_>>().join("\n")
    );
    serde_json::from_slice(&output.stdout).expect("the scenario prints JSON")
}

/// A directory with the Cognito connector, and the path the scenario
/// copies the hostile connector to.
fn connectors() -> (tempfile::TempDir, Value) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(components::GUEST_COGNITO, dir.path().join("guest_cognito.wasm")).unwrap();
    let add = json!({"src": components::HOSTILE, "dst": dir.path().join("hostile.wasm")});
    (dir, add)
}

fn env() -> Value {
    json!({
        "AWS_ACCESS_KEY_ID": "AKIDMCPTEST", "AWS_SECRET_ACCESS_KEY": "mcp-test-secret",
        "AWS_EC2_METADATA_DISABLED": "true",
        "XDG_CACHE_HOME": connector_tests::cache_dir().join("xdg"),
        "PATH": std::env::var("PATH").unwrap_or_default(),
    })
}

/// What every full scenario must show: all tools (over pages), a schema
/// and hints, a pool and a user made through tools and read back with the
/// SDK, a misspelt field and an unknown tool as readable errors, and the
/// list-changed notification when a connector arrives.
async fn check_report(report: &Value, endpoint: &str) {
    let tools = report["tools"].as_array().unwrap();
    let operations = tools.iter().filter(|tool| tool.as_str().is_some_and(|t| t.starts_with("aws-cognito__"))).count();
    assert_eq!(operations, 133, "one tool per Cognito operation");
    assert!(report["pages"].as_u64().unwrap() >= 2, "the listing is paginated and followed");
    let create = &report["create_user_pool"];
    assert_eq!(create["title"], "Create user pool");
    assert!(create["description"].as_str().unwrap().starts_with("Create user pool. "));
    assert_eq!(create["input_schema"]["required"], json!(["pool_name"]));
    assert_eq!(report["hints"]["aws-cognito__list_users"], json!([true, false]));
    assert_eq!(report["hints"]["aws-cognito__delete_user_pool"], json!([false, true]));
    assert_eq!(report["hints"]["aws-cognito__create_user_pool"], json!([false, false]));

    assert_eq!(report["pool"]["is_error"], false, "{}", report["pool"]);
    let pool_id = report["pool"]["structured"]["UserPool"]["Id"].as_str().unwrap();
    let text: Value = serde_json::from_str(report["pool"]["text"][0].as_str().unwrap()).unwrap();
    assert_eq!(text, report["pool"]["structured"], "the output comes as text too");
    assert_eq!(report["user"]["structured"]["User"]["Username"], "mcp-user", "{}", report["user"]);
    let sdk = sdk_client(endpoint, test_credentials());
    let user = sdk.admin_get_user().user_pool_id(pool_id).username("mcp-user").send().await.unwrap();
    assert_eq!(user.username(), "mcp-user");

    let misspelt = &report["misspelt"];
    assert_eq!(misspelt["is_error"], true);
    let message = misspelt["text"][0].as_str().unwrap();
    assert!(message.starts_with("invalid-input: ") && message.contains("pool_nme: unknown field"), "{message}");
    assert_eq!(misspelt["structured"]["error"]["kind"], "invalid-input");
    assert_eq!(report["unknown"]["is_error"], true);
    assert!(report["unknown"]["text"][0].as_str().unwrap().contains("no tool called `nobody__nothing`"));

    assert_eq!(report["list_changed"], true);
    let after = report["tools_after"].as_array().unwrap();
    assert_eq!(
        after.len(),
        tools.len() + connector_tests::HOSTILE_OPERATIONS,
        "the hostile connector's operations joined the list"
    );
    assert!(after.iter().any(|t| t == "hostile__echo"));
}

#[tokio::test]
async fn tools_over_stdio() {
    let emulator = Emulator::start(Kind::Moto);
    let (dir, add) = connectors();
    let args = json!(["mcp", "--connectors", dir.path(), "--endpoint-url", emulator.endpoint(), "--region", REGION]);
    let report = scenario(json!({"command": BINARY, "args": args, "env": env(), "add": add}));
    check_report(&report, &emulator.endpoint()).await;
}

#[tokio::test]
async fn tools_over_http_on_serve_behind_the_token() {
    let emulator = Emulator::start(Kind::Moto);
    let (dir, add) = connectors();
    let data = tempfile::tempdir().unwrap();
    let endpoint = emulator.endpoint();
    let server =
        Server::start(BINARY, dir.path(), data.path(), &["--endpoint-url", &endpoint], Some("mcp-token")).await;
    let url = format!("{}/mcp", server.base());
    let refused = reqwest::Client::new().post(&url).json(&json!({})).send().await.unwrap();
    assert_eq!(refused.status(), 401, "/mcp needs the token");
    // A stored workflow is a tool too, taking the workflow's inputs.
    let workflow = json!({
        "name": "Pool by name",
        "connectors": {"cognito": "aws-cognito"},
        "inputs": {"type": "object", "properties": {"pool": {"type": "string", "minLength": 1}}, "required": ["pool"]},
        "steps": [{"id": "pool", "connector": "cognito", "operation": "create_user_pool",
                   "input": {"pool_name": "{{inputs.pool}}"}}]
    });
    let saved =
        server.request(reqwest::Method::PUT, "/v1/workflows/pool-by-name").json(&workflow).send().await.unwrap();
    assert_eq!(saved.status(), 201);
    let report = scenario(json!({"url": url, "token": "mcp-token", "add": add, "workflow": {
        "tool": "workflow.pool-by-name", "inputs": {"pool": "From MCP"}, "bad_inputs": {"pool": ""}}}));
    check_report(&report, &endpoint).await;
    assert_eq!(report["workflow_tool"]["title"], "Pool by name", "{report}");
    assert_eq!(report["workflow_tool"]["input_schema"]["required"], json!(["pool"]));
    let run = &report["workflow_run"];
    assert_eq!((run["is_error"].as_bool(), &run["structured"]["status"]), (Some(false), &json!("succeeded")), "{run}");
    assert_eq!(run["structured"]["steps"][0]["output"]["UserPool"]["Name"], "From MCP");
    let refused = &report["workflow_refused"];
    assert_eq!(refused["is_error"], true, "{refused}");
    assert!(refused["text"][0].as_str().unwrap().starts_with("invalid-inputs: inputs/pool"), "{refused}");
}

/// Sessions on `/mcp` are bounded: past `--max-mcp-sessions`, the least
/// recently used one is closed (its client gets 404 and starts again).
#[tokio::test]
async fn sessions_on_serve_are_bounded() {
    let (dir, _) = connectors();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(BINARY, dir.path(), data.path(), &["--max-mcp-sessions", "3"], None).await;
    let post = |session: Option<&str>, body: Value| {
        let mut request = server
            .request(reqwest::Method::POST, "/mcp")
            .header("accept", "application/json, text/event-stream")
            .json(&body);
        if let Some(session) = session {
            request = request.header("mcp-session-id", session);
        }
        request.send()
    };
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let mut sessions = Vec::new();
    for _ in 0..5 {
        let response = post(None, initialize.clone()).await.unwrap();
        assert_eq!(response.status(), 200);
        sessions.push(response.headers()["mcp-session-id"].to_str().unwrap().to_owned());
        let _ = response.text().await;
    }
    let ping = |id: u32| json!({"jsonrpc": "2.0", "id": id, "method": "ping"});
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    for (i, session) in sessions.iter().enumerate() {
        let status = post(Some(session), initialized.clone()).await.unwrap().status().as_u16();
        let expected = if i < 2 { 404 } else { 202 };
        assert_eq!(status, expected, "session {i} of 5, 3 kept");
    }
    let alive = post(Some(&sessions[4]), ping(2)).await.unwrap();
    assert_eq!(alive.status(), 200);
}

/// `--tools` limits what is listed and what can be called.
#[tokio::test]
async fn tool_patterns_limit_what_is_offered() {
    let (dir, _) = connectors();
    let args = json!([
        "mcp",
        "--connectors",
        dir.path(),
        "--tools",
        "aws-cognito__list_*",
        "--tools",
        "*__describe_user_pool",
        "--endpoint-url",
        "http://127.0.0.1:9",
        "--region",
        REGION
    ]);
    let report = scenario(json!({"command": BINARY, "args": args, "env": env()}));
    let tools: Vec<&str> = report["tools"].as_array().unwrap().iter().map(|t| t.as_str().unwrap()).collect();
    assert!(tools.len() > 5, "{tools:?}");
    assert!(
        tools.iter().all(|t| t.starts_with("aws-cognito__list_") || *t == "aws-cognito__describe_user_pool"),
        "{tools:?}"
    );
    assert!(report["create_user_pool"].is_null(), "create_user_pool is not offered");
}

/// The hint rule, over every Cognito operation: reads are read-only,
/// deletions and removals destructive, nothing both; `call_api`, which can
/// call any action, is destructive (it was once hinted safe).
#[tokio::test]
async fn hints_for_every_cognito_operation() {
    let host = connector_tests::host_for("http://127.0.0.1:9").await;
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
    let operations = &cognito.manifest().operations;
    assert_eq!(operations.len(), 133);
    let destructive: Vec<&str> =
        operations.iter().filter(|op| op.hints().destructive).map(|op| op.name.as_str()).collect();
    assert_eq!(
        destructive,
        [
            "admin_delete_software_token",
            "admin_delete_user",
            "admin_delete_user_attributes",
            "admin_forget_device",
            "admin_remove_user_from_group",
            "delete_group",
            "delete_identity_provider",
            "delete_managed_login_branding",
            "delete_resource_server",
            "delete_terms",
            "delete_user",
            "delete_user_attributes",
            "delete_user_pool",
            "delete_user_pool_client",
            "delete_user_pool_client_secret",
            "delete_user_pool_domain",
            "delete_user_pool_replica",
            "delete_web_authn_credential",
            "forget_device",
            "revoke_token",
            "untag_resource",
            "call_api",
        ]
    );
    let read_only: Vec<&str> = operations.iter().filter(|op| op.hints().read_only).map(|op| op.name.as_str()).collect();
    assert_eq!(read_only.len(), 45, "{read_only:?}");
    for name in ["admin_get_user", "admin_list_groups_for_user", "describe_user_pool", "list_users", "get_csv_header"] {
        assert!(read_only.contains(&name), "{name}");
    }
    for name in ["create_user_pool", "admin_disable_user", "sign_up", "update_user_pool", "tag_resource"] {
        let op = cognito.manifest().operation(name).unwrap();
        assert_eq!((op.hints().read_only, op.hints().destructive), (false, false), "{name}");
    }
    assert!(operations.iter().all(|op| !(op.hints().read_only && op.hints().destructive)));
}
