//! The web console on `serve`, in headless Chromium driven by Selenium
//! (tests/clients/console_scenario.py), against moto: sign-in, the seed's
//! run step by step, an operation run from its generated form (and in raw
//! JSON) and read back with the SDK, a manifest full of markup shown as
//! text, and sign-out. Plus what a browser cannot show: the headers, and
//! forms posted without the CSRF token or from another site.

use std::path::{Path, PathBuf};
use std::process::Command;

use connector_tests::emulator::{Emulator, Kind, clients_venv};
use connector_tests::server::Server;
use connector_tests::{components, hostile_variant, sdk_client, test_credentials};
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_shipped-connector-host");
const TOKEN: &str = "console-test-token";

/// A connector directory with Cognito and the hostile connector whose
/// manifest holds markup.
fn connectors() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(components::GUEST_COGNITO, dir.path().join("guest_cognito.wasm")).unwrap();
    hostile_variant("script-title", dir.path());
    dir
}

/// Where the run page's screenshot is kept.
fn screenshot_path() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("run-page.png")
}

fn scenario(config: Value) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/console_scenario.py");
    let output = Command::new(clients_venv().join("bin/python")).arg(script).arg(config.to_string()).output().unwrap();
    assert!(
        output.status.success(),
        "the browser scenario failed:\n{}",
        // Without chromedriver's native stack frames.
        String::from_utf8_lossy(&output.stderr).lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>().join("\n")
    );
    serde_json::from_slice(&output.stdout).expect("the scenario prints JSON")
}

/// The JSON a page showed in a `<pre>`.
fn shown(text: &Value) -> Value {
    serde_json::from_str(text.as_str().unwrap()).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[tokio::test]
async fn the_console_in_a_real_browser() {
    let (chromium, chromedriver) = connector_tests::browser::chromium();
    let emulator = Emulator::start(Kind::Moto);
    let dir = connectors();
    let data = tempfile::tempdir().unwrap();
    let endpoint = emulator.endpoint();
    let server = Server::start(BINARY, dir.path(), data.path(), &["--endpoint-url", &endpoint], Some(TOKEN)).await;
    let (status, run) = server.post("/v1/runs", &connector_tests::served_seed_workflow()).await;
    assert_eq!(status, 200, "{run}");
    let run_id = run["id"].as_str().unwrap();
    let pool_id = run["steps"][0]["output"]["UserPool"]["Id"].as_str().unwrap();

    let screenshot = screenshot_path();
    let _ = std::fs::remove_file(&screenshot);
    let report = scenario(json!({
        "base": server.base(), "token": TOKEN, "run_id": run_id, "screenshot": screenshot,
        "chromium": chromium, "chromedriver": chromedriver, "hostile": "hostile",
    }));

    // Sign-in.
    assert_eq!(report["without_session"], "/login", "a page without a session goes to /login");
    assert_eq!(report["wrong_token"], "That is not the API token.");
    assert_eq!(report["after_login"], "/connectors");
    assert_eq!(report["cookie"]["httpOnly"], true);
    assert_eq!(report["cookie"]["sameSite"], "Strict");
    assert!(report["cookie"]["expiry"].as_u64().is_some(), "the session cookie expires: {}", report["cookie"]);
    let connectors = report["connectors"].as_array().unwrap();
    assert!(connectors.iter().any(|row| row.as_str().unwrap().starts_with("aws-cognito AWS Cognito 0.1.0 sha256:")));

    // The seed's run, like the seed's debug panel.
    assert!(
        report["runs"][0]
            .as_str()
            .unwrap()
            .contains("Create the Marketing Department user pool and its first user succeeded"),
        "{}",
        report["runs"]
    );
    assert_eq!(report["run_status"], "succeeded");
    let steps = report["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0]["heading"], "Step 1/2: create_user_pool");
    assert_eq!(steps[1]["heading"], "Step 2/2: create_user");
    assert!(steps[1]["facts"].as_str().unwrap().contains("admin_create_user"), "{}", steps[1]["facts"]);
    assert_eq!(shown(&steps[0]["input"])["pool_name"], "Marketing Department");
    assert_eq!(shown(&steps[0]["output"])["UserPool"]["Id"], pool_id);
    assert_eq!(shown(&steps[1]["input"])["user_pool_id"], pool_id, "step 2's input holds step 1's pool id");
    assert_eq!(shown(&steps[1]["output"])["User"]["Username"], "***", "a user name is sensitive in the model");
    assert_eq!(shown(&steps[1]["output"])["User"]["Enabled"], true);
    let png = std::fs::read(&screenshot).expect("the run page's screenshot is kept");
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000, "a real screenshot");
    eprintln!("screenshot of the run page: {}", screenshot.display());

    // Operations, filtered as you type.
    assert_eq!(report["operations_listed"], 133);
    let filtered = report["operations_filtered"].as_array().unwrap();
    assert_eq!(filtered.len(), 1, "{filtered:?}");
    assert!(
        filtered[0].as_str().unwrap().starts_with("delete_user_pool_domain "),
        "found by its description, whatever the case"
    );

    // Runs from forms, read back with the SDK.
    let sdk = sdk_client(&endpoint, test_credentials());
    for (key, name) in [("form_pool", "Console Pool"), ("raw_pool", "Raw Pool")] {
        assert_eq!(report[key]["kind"], "output", "{key}: {}", report[key]);
        let output = shown(&report[key]["text"]);
        assert_eq!(output["UserPool"]["Name"], name);
        let id = output["UserPool"]["Id"].as_str().unwrap();
        let pool = sdk.describe_user_pool().user_pool_id(id).send().await.unwrap();
        assert_eq!(pool.user_pool().unwrap().name(), Some(name));
    }
    assert_eq!(report["service_error"]["kind"], "error");
    let error = shown(&report["service_error"]["text"]);
    assert_eq!(error["kind"], "service");
    assert_eq!(error["code"], "ResourceNotFoundException", "{error}");
    assert_eq!(report["added_item_fields"], json!(["user_attributes.1.name", "user_attributes.1.value"]));

    // Markup from a manifest is text.
    assert_eq!(report["hostile_heading"], "<script>alert('title')</script>");
    assert!(report["hostile_first_row"].as_str().unwrap().contains("<img src=x onerror=alert('op')>"));
    assert!(report["hostile_first_row"].as_str().unwrap().contains("</td><script>alert('description')</script>"));
    assert_eq!(report["hostile_scripts"], 0);
    assert_eq!(report["hostile_alert"], false);
    assert_eq!(report["hostile_form_labels"][0], "\"><script>alert('member')</script>");
    assert_eq!(report["hostile_options"], json!(["", "</option><script>alert('enum')</script>"]));
    assert_eq!(report["hostile_form_scripts"], 0);
    assert_eq!(report["hostile_form_alert"], false);
    assert_eq!(report["csp_violations"], json!([]), "the pages need nothing the policy forbids");

    // Signed out.
    assert_eq!(report["after_logout"], "/login");
    assert_eq!(report["after_logout_visit"], "/login");
    server.stop(std::time::Duration::from_secs(30));
}

/// What a browser would not do on its own: forms without the session's
/// CSRF token, forms from another origin, and the headers.
#[tokio::test]
async fn forms_need_the_session_token_and_the_same_origin() {
    let dir = connectors();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(BINARY, dir.path(), data.path(), &[], Some(TOKEN)).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let base = server.base();

    let page = client.get(format!("{base}/connectors")).send().await.unwrap();
    assert_eq!(page.status(), 303);
    assert_eq!(page.headers()["location"], "/login");

    let login = client.post(format!("{base}/login")).form(&[("token", TOKEN)]).send().await.unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Max-Age=43200", "Path=/"] {
        assert!(cookie.contains(part), "{part} in {cookie}");
    }
    let session = cookie.split(';').next().unwrap().to_owned();
    let foreign = client
        .post(format!("{base}/login"))
        .header("origin", "http://attacker.example")
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403, "a sign-in posted from another site");

    let form_url = format!("{base}/connectors/aws-cognito/operations/create_user_pool");
    let page = client.get(&form_url).header("cookie", &session).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(page.headers()["x-content-type-options"], "nosniff");
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    let csrf = html.split("name=\"__csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();

    let post = |fields: Vec<(&'static str, String)>, origin: Option<&'static str>| {
        let mut request = client.post(&form_url).header("cookie", &session).form(&fields);
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    let name = || ("pool_name", "Never Made".to_owned());
    let missing = post(vec![name()], None).await.unwrap();
    assert_eq!(missing.status(), 403, "no CSRF token");
    let wrong = post(vec![("__csrf", "0".repeat(64)), name()], None).await.unwrap();
    assert_eq!(wrong.status(), 403, "another token");
    let foreign = post(vec![("__csrf", csrf.clone()), name()], Some("http://attacker.example")).await.unwrap();
    assert_eq!(foreign.status(), 403, "another origin");
    // With the token, the same form runs (and fails to reach the default
    // endpoint: no emulator here, and no credentials leave the host).
    let ours =
        post(vec![("__csrf", csrf.clone()), ("__mode", "raw".into()), ("__raw", "{\"pool_nme\": 1}".into())], None)
            .await
            .unwrap();
    assert_eq!(ours.status(), 400);
    assert!(ours.text().await.unwrap().contains("pool_nme: unknown field"));
    // A field name nested 200,000 levels (a 400 KB form) once aborted the
    // whole server on a stack overflow.
    let deep: &'static str = Box::leak(vec!["a"; 200_000].join(".").into_boxed_str());
    let nested = post(vec![("__csrf", csrf.clone()), (deep, "x".into())], None).await.unwrap();
    assert_eq!(nested.status(), 400);
    assert!(nested.text().await.unwrap().contains("is nested more than 10 levels deep"));
    assert_eq!(server.status("/healthz").await, 200, "the server is still there");

    // Signing out ends the session on the server too.
    let out = client
        .post(format!("{base}/logout"))
        .header("cookie", &session)
        .form(&[("__csrf", &csrf)])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    let after = client.get(&form_url).header("cookie", &session).send().await.unwrap();
    assert_eq!(after.status(), 303, "the old cookie no longer works");
    server.stop(std::time::Duration::from_secs(30));
}

/// Without a token (loopback only), the console is open, and its forms
/// still carry CSRF tokens.
#[tokio::test]
async fn without_a_token_the_console_is_open_on_loopback() {
    let dir = connectors();
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(BINARY, dir.path(), data.path(), &[], None).await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = client.get(format!("{}/connectors/hostile", server.base())).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["set-cookie"].to_str().unwrap().contains("HttpOnly"), "a session for the CSRF token");
    let html = page.text().await.unwrap();
    assert!(html.contains("<h1>&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt;</h1>"), "{html}");
    let login = client.get(format!("{}/login", server.base())).send().await.unwrap();
    assert_eq!(login.status(), 303, "nothing to sign in to");
    let forged = client
        .post(format!("{}/connectors/aws-cognito/operations/create_user_pool", server.base()))
        .form(&[("pool_name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "a form without the token is refused even without an API token");
    server.stop(std::time::Duration::from_secs(30));
}
