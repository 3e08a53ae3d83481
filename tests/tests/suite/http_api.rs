//! The HTTP-API capability against real third-party servers on loopback:
//! httpbin shows what reached it, oidc-provider grants OAuth 2.0 access
//! tokens. The shipped HTTP Request connector (guest-http) calls them
//! through connections the operator configured; it never holds a secret,
//! and no secret comes back to it, to a log or to an output.

use std::path::{Path, PathBuf};
use std::process::Command;

use connector_host::{CallContext, ConnectorHost, Grants, HostConfig, InvokeError, LoadOptions};
use connector_tests::components;
use connector_tests::emulator::clients_venv;
use connector_tests::http_apis::{Served, httpbin, oauth_provider};
use connector_tests::server::Server;
use serde_json::{Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_shipped-connector-host");

/// The secrets of the connections, unique per test run.
struct Secrets {
    bearer: String,
    header_key: String,
    query_key: String,
    password: String,
    client_secret: String,
}

impl Secrets {
    fn new() -> Self {
        let unique = uuid::Uuid::new_v4().simple().to_string();
        Secrets {
            bearer: format!("bearer-{unique}"),
            header_key: format!("hkey-{unique}"),
            query_key: format!("qkey/{unique}+"),
            password: format!("pw-{unique}"),
            client_secret: format!("client-{unique}"),
        }
    }

    fn all(&self) -> [&str; 5] {
        [&self.bearer, &self.header_key, &self.query_key, &self.password, &self.client_secret]
    }
}

/// Writes each secret to a file and the authentications file naming them,
/// with connections to `echo` (httpbin) and `token_url` (oidc-provider).
fn authentications_file(dir: &Path, secrets: &Secrets, echo: &str, token_url: &str) -> PathBuf {
    for (name, value) in [
        ("bearer", &secrets.bearer),
        ("header_key", &secrets.header_key),
        ("query_key", &secrets.query_key),
        ("password", &secrets.password),
        ("client_secret", &secrets.client_secret),
        ("wrong_secret", &"not-the-client-secret".to_owned()),
    ] {
        write_private(&dir.join(name), value);
    }
    let file = dir.join("authentications.toml");
    write_private(
        &file,
        &format!(
            r#"
[apis.bearer]
base_url = "{echo}"
credential = "bearer"
token_file = "bearer"

[apis.header-key]
base_url = "{echo}/anything"
credential = "api_key"
header = "X-Api-Key"
key_file = "header_key"

[apis.query-key]
base_url = "{echo}"
credential = "api_key"
query = "api_key"
key_file = "query_key"

[apis.basic]
base_url = "{echo}"
credential = "basic"
username = "ops"
password_file = "password"

[apis.oauth]
base_url = "{echo}"
credential = "oauth2_client_credentials"
token_url = "{token_url}"
client_id = "connector-host"
client_secret_file = "client_secret"
scopes = ["read"]

[apis.oauth-wrong]
base_url = "{echo}"
credential = "oauth2_client_credentials"
token_url = "{token_url}"
client_id = "connector-host"
client_secret_file = "wrong_secret"

[authentications.tenant]
kind = "none"

[authentications.tenant.apis.bearer]
base_url = "{echo}"
credential = "none"
"#
        ),
    );
    file
}

/// Writes `text` to a file only its owner can read, as the host wants
/// secrets and authentications kept.
fn write_private(path: &Path, text: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path).unwrap();
    std::io::Write::write_all(&mut file, text.as_bytes()).unwrap();
}

/// A host with `file`'s connections and `grants`.
async fn host(file: &Path, grants: &[&str]) -> ConnectorHost {
    let config = HostConfig {
        authentications: connector_host::Authentications::from_file(file).unwrap(),
        grants: Grants::parse(grants).unwrap(),
        cache_dir: Some(connector_tests::cache_dir()),
        ..HostConfig::default()
    };
    ConnectorHost::new(config).await.expect("the host starts")
}

fn alias(name: &str) -> LoadOptions {
    LoadOptions { alias: Some(name.into()), ..LoadOptions::default() }
}

/// The kind of the capability's refusal or failure `error` reports.
fn capability_kind(error: &InvokeError) -> &'static str {
    match error {
        InvokeError::Capability(failure) => failure.kind(),
        other => panic!("not the capability's error: {other:?}"),
    }
}

/// Every secret of `secrets` and any JWT are absent from `text`.
fn assert_no_secret(secrets: &Secrets, text: &str) {
    for secret in secrets.all() {
        assert!(!text.contains(secret), "a secret leaked into: {text}");
    }
    assert!(!text.contains("eyJ"), "an access token leaked into: {text}");
}

#[tokio::test]
async fn each_scheme_arrives_as_it_says_and_no_secret_comes_back() {
    let echo = httpbin();
    let secrets = Secrets::new();
    let provider = oauth_provider(&secrets.client_secret, 60);
    let dir = tempfile::tempdir().unwrap();
    let file = authentications_file(dir.path(), &secrets, &echo.url(), &format!("{}/token", provider.url()));
    let host = host(&file, &["http=api:bearer,api:header-key,api:query-key,api:basic,api:oauth,api:oauth-wrong"]).await;
    let http = host.load_with(components::GUEST_HTTP, &alias("http")).await.unwrap();
    let mut seen = String::new();
    let mut call = async |input: Value| {
        let result = host.invoke(&http, "request", &input).await;
        seen.push_str(&format!("{result:?}\n"));
        result
    };

    // Bearer: httpbin's /bearer checks it and echoes it, hidden.
    let out = call(json!({"api": "bearer", "path": "/bearer"})).await.unwrap();
    assert_eq!(out["json"], json!({"authenticated": true, "token": "***"}), "{out}");
    // An API key in a header, below a base URL with a path.
    let out = call(json!({"api": "header-key", "path": "/deep", "query": {"q": "1"}})).await.unwrap();
    assert_eq!(out["json"]["headers"]["X-Api-Key"], "***", "the key arrived whole: {out}");
    assert_eq!(out["json"]["url"], format!("{}/anything/deep?q=1", echo.url()), "{out}");
    // An API key in the query, after the connector's own parameters.
    let out = call(json!({"api": "query-key", "path": "/anything", "query": {"page": "2"}})).await.unwrap();
    assert_eq!(out["json"]["args"], json!({"page": "2", "api_key": "***"}), "{out}");
    assert!(out["json"]["url"].as_str().unwrap().ends_with("/anything?page=2&api_key=***"), "{out}");
    // HTTP basic: httpbin answers 200 only for the right user and password.
    let basic_path = format!("/basic-auth/ops/{}", secrets.password);
    let basic = host.invoke(&http, "request", &json!({"api": "basic", "path": basic_path})).await.unwrap();
    assert_eq!(basic["json"], json!({"authenticated": true, "user": "ops"}));
    let out = call(json!({"api": "basic", "path": "/headers"})).await.unwrap();
    assert_eq!(out["json"]["headers"]["Authorization"], "***", "{out}");
    // OAuth client credentials: one token for several requests.
    for _ in 0..3 {
        let out = call(json!({"api": "oauth", "path": "/bearer"})).await.unwrap();
        assert_eq!(out["json"], json!({"authenticated": true, "token": "***"}), "{out}");
    }
    assert_eq!(provider.tokens_issued(), 1, "the token is cached: {}", provider.log());
    // An API refusing a fresh token does not make the host ask for
    // another on every call.
    for _ in 0..3 {
        let out = call(json!({"api": "oauth", "path": "/status/401", "fail_on_error_status": false})).await.unwrap();
        assert_eq!(out["status"], 401);
    }
    assert_eq!(provider.tokens_issued(), 1, "no token request per 401: {}", provider.log());
    // A token endpoint that refuses: a credential error with its code.
    let refused = call(json!({"api": "oauth-wrong", "path": "/bearer"})).await.unwrap_err();
    assert_eq!(capability_kind(&refused), "credential", "{refused}");
    assert!(refused.to_string().contains("invalid_client"), "{refused}");

    // What the connector may not do: set the credential's header or
    // parameter, leave the base URL, follow a redirect.
    for (input, expected) in [
        (json!({"api": "bearer", "path": "/headers", "headers": {"Authorization": "Bearer mine"}}), "set by the host"),
        (
            json!({"api": "header-key", "path": "/", "headers": {"x-api-key": "mine"}}),
            "carries the connection's credential",
        ),
        (json!({"api": "query-key", "path": "/anything?api_key=mine"}), "carries the connection's credential"),
        (json!({"api": "query-key", "path": "/anything?api%5Fkey=mine"}), "carries the connection's credential"),
        (json!({"api": "query-key", "path": "/anything?x=1;API_KEY=mine"}), "carries the connection's credential"),
        (json!({"api": "bearer", "path": "/gzip", "headers": {"accept-encoding": "gzip"}}), "accept-encoding"),
        (json!({"api": "bearer", "path": "/headers", "headers": {"Range": "bytes=40-60"}}), "`range` is the host's"),
        (json!({"api": "bearer", "path": "//evil.example/x"}), "names a host"),
        (json!({"api": "header-key", "path": "/../headers"}), "`.` or `..` segment"),
    ] {
        let refused = call(input.clone()).await.unwrap_err();
        assert_eq!(capability_kind(&refused), "invalid-request", "{input}: {refused}");
        assert!(refused.to_string().contains(expected), "{input}: {refused}");
    }
    // httpbin's /gzip compresses its echo unasked: an answer the host
    // cannot search for the token is refused, not passed on.
    let compressed = call(json!({"api": "bearer", "path": "/gzip"})).await.unwrap_err();
    assert_eq!(capability_kind(&compressed), "transport", "{compressed}");
    assert!(compressed.to_string().contains("content encoding `gzip`"), "{compressed}");
    let redirect = json!({"api": "bearer", "path": "/redirect-to", "query": {"url": "http://127.0.0.1:9/"},
        "fail_on_error_status": false});
    let out = call(redirect).await.unwrap();
    assert_eq!(out["status"], 302, "returned, not followed: {out}");
    assert_no_secret(&secrets, &seen);
}

#[tokio::test]
async fn a_connector_reaches_only_the_connections_granted_to_it() {
    let echo = httpbin();
    let secrets = Secrets::new();
    let dir = tempfile::tempdir().unwrap();
    let file = authentications_file(dir.path(), &secrets, &echo.url(), "http://127.0.0.1:9/token");
    let host = host(&file, &["a=api:bearer", "b=api:header-key,api:nowhere"]).await;
    let a = host.load_with(components::GUEST_HTTP, &alias("a")).await.unwrap();
    let b = host.load_with(components::GUEST_HTTP, &alias("b")).await.unwrap();
    let plain = host.load(components::GUEST_HTTP).await.unwrap();
    assert!(host.invoke(&a, "request", &json!({"api": "bearer", "path": "/bearer"})).await.is_ok());
    let denied = host.invoke(&b, "request", &json!({"api": "bearer", "path": "/bearer"})).await.unwrap_err();
    assert_eq!(capability_kind(&denied), "denied", "{denied}");
    assert!(
        denied.to_string().contains("API `bearer` is not granted to this connector (granted: header-key, nowhere)")
    );
    let nowhere = host.invoke(&b, "request", &json!({"api": "nowhere", "path": "/"})).await.unwrap_err();
    assert!(nowhere.to_string().contains("the host has no connection for API `nowhere`"), "{nowhere}");
    let ungranted = host.invoke(&plain, "request", &json!({"api": "bearer", "path": "/"})).await.unwrap_err();
    assert!(ungranted.to_string().contains("(granted: none)"), "`*` gets only what a grant names: {ungranted}");
    // Per authentication: `tenant` has its own `bearer` connection, with no
    // credential, and no others.
    let tenant = CallContext::default().with_authentication("tenant");
    let out = host.invoke_in(&a, "request", &json!({"api": "bearer", "path": "/headers"}), &tenant).await.unwrap();
    assert!(out["json"]["headers"].get("Authorization").is_none(), "the tenant's connection has none: {out}");
    let missing = host.invoke_in(&b, "request", &json!({"api": "header-key", "path": "/"}), &tenant).await.unwrap_err();
    assert!(
        missing.to_string().contains("authentication `tenant` has no connection for API `header-key`"),
        "{missing}"
    );
    assert!(matches!(missing, InvokeError::Capability(_)), "{missing:?}");
}

#[tokio::test]
async fn an_access_token_is_fetched_again_before_it_expires() {
    let echo = httpbin();
    let secrets = Secrets::new();
    let provider = oauth_provider(&secrets.client_secret, 2);
    let dir = tempfile::tempdir().unwrap();
    let file = authentications_file(dir.path(), &secrets, &echo.url(), &format!("{}/token", provider.url()));
    let host = host(&file, &["http=api:oauth"]).await;
    let http = host.load_with(components::GUEST_HTTP, &alias("http")).await.unwrap();
    let call = async || host.invoke(&http, "request", &json!({"api": "oauth", "path": "/bearer"})).await.unwrap();
    let concurrent = futures_join(call(), call()).await;
    assert_eq!(concurrent.0["status"], 200);
    assert_eq!(provider.tokens_issued(), 1, "concurrent requests wait for one token request");
    tokio::time::sleep(std::time::Duration::from_millis(1700)).await;
    assert_eq!(call().await["status"], 200);
    assert_eq!(provider.tokens_issued(), 2, "a token with a fifth of its life left is replaced");
}

async fn futures_join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    tokio::join!(a, b)
}

/// Through the CLI, at trace level: the output shows the echo with the
/// secret hidden, and nothing the process prints holds a secret.
#[test]
fn the_cli_never_prints_a_secret() {
    let echo = httpbin();
    let secrets = Secrets::new();
    let provider = oauth_provider(&secrets.client_secret, 60);
    let dir = tempfile::tempdir().unwrap();
    let file = authentications_file(dir.path(), &secrets, &echo.url(), &format!("{}/token", provider.url()));
    let component = Path::new(components::GUEST_HTTP).canonicalize().unwrap();
    for api in ["bearer", "header-key", "query-key", "basic", "oauth"] {
        let output = Command::new(BINARY)
            .args(["--authentications", file.to_str().unwrap()])
            .arg("--grant")
            .arg(format!("{}=api:{api}", component.display()))
            .args(["invoke", component.to_str().unwrap(), "request", "--input"])
            .arg(json!({"api": api, "path": "/anything", "query": {"x": "1"}}).to_string())
            .env("RUST_LOG", "trace")
            .env("XDG_CACHE_HOME", connector_tests::cache_dir().join("xdg"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{api}: {stderr}");
        let answer: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(answer["status"], 200, "{api}: {answer}");
        assert!(stdout.contains("***"), "{api}: the echoed credential is hidden: {stdout}");
        assert_no_secret(&secrets, &stdout);
        assert_no_secret(&secrets, &stderr);
    }
    drop::<Served>(provider);
}

/// Through `serve`: an operation call, a run whose record is kept, an MCP
/// tool call (the official MCP client) and the metrics; the OAuth token is
/// applied on every path and none of them shows a secret.
#[tokio::test]
async fn serve_and_mcp_call_an_oauth_api_without_a_secret_in_sight() {
    let echo = httpbin();
    let secrets = Secrets::new();
    let provider = oauth_provider(&secrets.client_secret, 60);
    let dir = tempfile::tempdir().unwrap();
    let file = authentications_file(dir.path(), &secrets, &echo.url(), &format!("{}/token", provider.url()));
    let connectors = tempfile::tempdir().unwrap();
    let component = connectors.path().join("guest_http.wasm");
    std::fs::copy(components::GUEST_HTTP, &component).unwrap();
    let data = tempfile::tempdir().unwrap();
    let grant = format!("{}=api:oauth,api:query-key", component.display());
    let args = ["--authentications", file.to_str().unwrap(), "--grant", &grant];
    let server = Server::start(BINARY, connectors.path(), data.path(), &args, Some("serve-token")).await;
    let mut seen = String::new();

    let (status, out) =
        server.post("/v1/connectors/http/operations/request", &json!({"api": "oauth", "path": "/bearer"})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["json"], json!({"authenticated": true, "token": "***"}), "{out}");
    seen.push_str(&out.to_string());

    let workflow = json!({"name": "echo", "connectors": {"http": "http"}, "steps": [
        {"id": "key", "connector": "http", "operation": "request",
         "input": {"api": "query-key", "path": "/anything"}},
        {"id": "token", "connector": "http", "operation": "request",
         "input": {"api": "oauth", "path": "/anything", "query": {"url": "{{steps.key.output.json.url}}"}}}]});
    let (status, run) = server.post("/v1/runs", &workflow).await;
    assert_eq!((status, run["status"].as_str()), (200, Some("succeeded")), "{run}");
    let (_, kept) = server.get(&format!("/v1/runs/{}", run["id"].as_str().unwrap())).await;
    let second = &kept["steps"][1]["output"]["json"];
    assert_eq!(second["headers"]["Authorization"], "***", "{kept}");
    assert!(second["args"]["url"].as_str().unwrap().ends_with("api_key=***"), "{kept}");
    seen.push_str(&kept.to_string());

    let config = json!({"url": format!("{}/mcp", server.base()), "token": "serve-token", "tool": "http__request",
        "arguments": {"api": "oauth", "path": "/headers"}});
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/mcp_call.py");
    let output = Command::new(clients_venv().join("bin/python")).arg(script).arg(config.to_string()).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let called: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(called["is_error"], false, "{called}");
    assert_eq!(called["structured"]["json"]["headers"]["Authorization"], "***", "{called}");
    seen.push_str(&called.to_string());

    let metrics = server.request(reqwest::Method::GET, "/metrics").send().await.unwrap().text().await.unwrap();
    seen.push_str(&metrics);
    assert_no_secret(&secrets, &seen);
    assert_eq!(provider.tokens_issued(), 1, "one token served every path");
}

/// OAuth 2.0 refresh tokens that rotate on every use: the host keeps the
/// latest, encrypted, so a restart goes on with the grant; a new grant
/// the operator configures replaces a stored one; one the provider
/// refuses is a `credential` error saying what to do.
#[tokio::test]
async fn a_rotated_refresh_token_survives_a_restart() {
    let echo = httpbin();
    let secrets = Secrets::new();
    let provider = oauth_provider(&secrets.client_secret, 60);
    let dir = tempfile::tempdir().unwrap();
    let grant = provider.authorize(&secrets.client_secret);
    write_private(&dir.path().join("grant"), &grant);
    write_private(&dir.path().join("client_secret"), &secrets.client_secret);
    let unique = || uuid::Uuid::new_v4().simple().to_string();
    write_private(&dir.path().join("store_key"), &format!("{}{}A=", unique(), &unique()[..10]));
    let file = dir.path().join("authentications.toml");
    let connection = |grant_file: &str, store: &str| {
        format!(
            r#"
[apis.mail]
base_url = "{}"
credential = "oauth2_refresh_token"
token_url = "{}/token"
client_id = "connector-host"
client_secret_file = "client_secret"
refresh_token_file = "{grant_file}"
token_store = "{store}"
token_store_key_file = "store_key"
"#,
            echo.url(),
            provider.url()
        )
    };
    write_private(&file, &connection("grant", "state/mail.token"));
    let mut seen = String::new();
    let issued_before = provider.tokens_issued();
    {
        let first_host = host(&file, &["http=api:mail"]).await;
        let http = first_host.load_with(components::GUEST_HTTP, &alias("http")).await.unwrap();
        let call =
            async || first_host.invoke(&http, "request", &json!({"api": "mail", "path": "/bearer"})).await.unwrap();
        let (first, second) = futures_join(call(), call()).await;
        assert_eq!((first["status"].clone(), second["status"].clone()), (json!(200), json!(200)), "{first} {second}");
        assert_eq!(first["json"]["token"], "***");
        seen.push_str(&format!("{first}{second}"));
    }
    assert_eq!(provider.tokens_issued() - issued_before, 1, "one refresh for concurrent requests");
    let store = std::fs::read_to_string(dir.path().join("state/mail.token")).unwrap();
    assert!(store.starts_with("connector-host token store v1\n") && !store.contains(&grant), "{store}");

    // A restart: the first grant was spent by the rotation, so only the
    // stored token can go on.
    let restarted = host(&file, &["http=api:mail"]).await;
    let http = restarted.load_with(components::GUEST_HTTP, &alias("http")).await.unwrap();
    let out = restarted.invoke(&http, "request", &json!({"api": "mail", "path": "/bearer"})).await.unwrap();
    assert_eq!(out["status"], 200, "{out}");
    assert_eq!(provider.tokens_issued() - issued_before, 2);
    seen.push_str(&out.to_string());
    drop(restarted);

    // The store read with another key is an error at start, naming it.
    write_private(&dir.path().join("store_key"), &format!("{}{}A=", unique(), &unique()[..10]));
    let config = HostConfig {
        authentications: connector_host::Authentications::from_file(&file).unwrap(),
        ..HostConfig::default()
    };
    let err = format!("{:#}", ConnectorHost::new(config).await.err().expect("a wrong key is refused"));
    assert!(err.contains("mail.token cannot be decrypted with the configured key"), "{err}");
    std::fs::remove_file(dir.path().join("state/mail.token")).unwrap();

    // A new grant from the operator is used, not the stale store; a grant
    // the provider refuses says so.
    write_private(&dir.path().join("grant2"), &provider.authorize(&secrets.client_secret));
    write_private(&dir.path().join("spent"), &grant);
    write_private(
        &file,
        &format!(
            "{}{}",
            connection("grant2", "state/mail.token"),
            connection("spent", "state/spent.token").replace("[apis.mail]", "[apis.spent]")
        ),
    );
    let renewed = host(&file, &["http=api:mail,api:spent"]).await;
    let http = renewed.load_with(components::GUEST_HTTP, &alias("http")).await.unwrap();
    let out = renewed.invoke(&http, "request", &json!({"api": "mail", "path": "/bearer"})).await.unwrap();
    assert_eq!(out["status"], 200, "{out}");
    let refused = renewed.invoke(&http, "request", &json!({"api": "spent", "path": "/bearer"})).await.unwrap_err();
    assert_eq!(capability_kind(&refused), "credential", "{refused}");
    assert!(
        refused.to_string().contains("`invalid_grant`") && refused.to_string().contains("obtain a new refresh token"),
        "{refused}"
    );
    seen.push_str(&format!("{out}{refused}"));
    assert!(!seen.contains(&grant) && !seen.contains("eyJ"), "{seen}");
    assert_no_secret(&secrets, &seen);
}

/// HMAC request signing, checked by Python's own `hmac` against what
/// httpbin received; and SigV4 to an endpoint the operator names, checked
/// by ministack, which verifies signatures (a wrong secret is refused).
#[tokio::test]
async fn hmac_and_sigv4_sign_what_goes_out() {
    let echo = httpbin();
    let aws = connector_tests::emulator::Emulator::start(connector_tests::emulator::Kind::Ministack { auth: true });
    let dir = tempfile::tempdir().unwrap();
    let hmac_key = format!("hmac-{}", uuid::Uuid::new_v4().simple());
    write_private(&dir.path().join("hmac_key"), &hmac_key);
    // An IAM user of ministack's, whose signatures it checks.
    let (user, _) = aws.create_cognito_identity();
    write_private(&dir.path().join("aws_secret"), user.secret_access_key());
    write_private(&dir.path().join("wrong_secret"), "not-the-secret");
    let file = dir.path().join("authentications.toml");
    write_private(
        &file,
        &format!(
            r#"
[apis.hooks]
base_url = "{echo}"
credential = "hmac"
key_file = "hmac_key"
header = "X-Signature"
prefix = "sha256="
timestamp_header = "X-Timestamp"
canonical = "{{method}}\n{{path}}\n{{timestamp}}\n{{body_sha256}}"

[authentications.aws]
kind = "static"
access_key_id = "{key}"
secret_access_key_file = "aws_secret"
region = "us-east-1"

[authentications.aws.apis.sts]
base_url = "{ministack}"
credential = "aws_sigv4"
service = "sts"

[authentications.wrong]
kind = "static"
access_key_id = "{key}"
secret_access_key_file = "wrong_secret"
region = "us-east-1"

[authentications.wrong.apis.sts]
base_url = "{ministack}"
credential = "aws_sigv4"
service = "sts"
"#,
            echo = echo.url(),
            ministack = aws.endpoint(),
            key = user.access_key_id(),
        ),
    );
    let host = host(&file, &["http=api:hooks,api:sts"]).await;
    let http = host.load_with(components::GUEST_HTTP, &alias("http")).await.unwrap();

    let input = json!({"api": "hooks", "method": "POST", "path": "/anything/hook", "query": {"x": "1"},
        "text": "payload é"});
    let out = host.invoke(&http, "request", &input).await.unwrap();
    let headers = &out["json"]["headers"];
    let (signature, timestamp) = (headers["X-Signature"].as_str().unwrap(), headers["X-Timestamp"].as_str().unwrap());
    let check = r#"
import hashlib, hmac, sys
key, timestamp, body = sys.argv[1], sys.argv[2], sys.argv[3].encode()
message = f"POST\n/anything/hook?x=1\n{timestamp}\n{hashlib.sha256(body).hexdigest()}".encode()
print("sha256=" + hmac.new(key.encode(), message, hashlib.sha256).hexdigest())
"#;
    let python = connector_tests::emulator::clients_venv().join("bin/python");
    let expected = Command::new(python).args(["-c", check, &hmac_key, timestamp, "payload é"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&expected.stdout).trim(), signature, "{out}");
    let forged = json!({"api": "hooks", "path": "/anything", "headers": {"x-signature": "sha256=mine"}});
    let refused = host.invoke(&http, "request", &forged).await.unwrap_err();
    assert!(refused.to_string().contains("carries the connection's credential"), "{refused}");
    assert!(!out.to_string().contains(&hmac_key));

    let who = json!({"api": "sts", "method": "POST", "path": "/", "text": "Action=GetCallerIdentity&Version=2011-06-15",
        "headers": {"content-type": "application/x-www-form-urlencoded"}});
    let signed = CallContext::default().with_authentication("aws");
    let out = host.invoke_in(&http, "request", &who, &signed).await.unwrap();
    assert!(out["text"].as_str().unwrap().contains("<Arn>arn:aws:iam::000000000000:user/connector</Arn>"), "{out}");
    let wrong = CallContext::default().with_authentication("wrong");
    let refused = host.invoke_in(&http, "request", &who, &wrong).await.unwrap_err();
    assert!(
        matches!(&refused, InvokeError::Service { status: 403, .. }),
        "ministack checked the signature: {refused:?}"
    );
}

/// Pages linked by `Link: <URL>; rel="next"` (httpbin's
/// `/response-headers` sets any header asked for): followed while they
/// stay under the connection's base URL, which the connector never sees;
/// and pages by cursor.
#[tokio::test]
async fn linked_pages_are_followed_within_the_api() {
    let echo = httpbin();
    let secrets = Secrets::new();
    let dir = tempfile::tempdir().unwrap();
    let file = authentications_file(dir.path(), &secrets, &echo.url(), "http://127.0.0.1:9/token");
    let host = host(&file, &["http=api:bearer,api:query-key"]).await;
    let http = host.load_with(components::GUEST_HTTP, &alias("http")).await.unwrap();
    let page = |number: &str, next: Option<String>| {
        let mut params = vec![("page", number.to_owned())];
        params.extend(next.map(|next| ("Link", format!("<{next}>; rel=\"next\""))));
        reqwest::Url::parse_with_params(&format!("{}/response-headers", echo.url()), &params).unwrap().to_string()
    };
    let third = page("3", None);
    let second = page("2", Some(third));
    let input = json!({"api": "bearer", "path": "/response-headers",
        "query": {"page": "1", "Link": format!("<{second}>; rel=\"next\"")}, "paginate": {"next_link": true}});
    let out = host.invoke(&http, "request", &input).await.unwrap();
    assert_eq!(out["pages"], 3, "{out}");
    let numbers: Vec<&Value> = out["items"].as_array().unwrap().iter().map(|item| &item["page"]).collect();
    assert_eq!(numbers, [&json!("1"), &json!("2"), &json!("3")], "{out}");
    let away = json!({"api": "bearer", "path": "/response-headers",
        "query": {"Link": "<http://elsewhere.example/response-headers>; rel=\"next\""}, "paginate": {"next_link": true}});
    let out = host.invoke(&http, "request", &away).await.unwrap();
    assert_eq!(out["pages"], 1, "a link off the API is not followed: {out}");
    // A cursor: each answer's `next_cursor` goes out as `after`, up to
    // `max_pages` (httpbin echoes the query, so the cursor never ends).
    let cursor = json!({"api": "bearer", "path": "/response-headers", "query": {"next_cursor": "c2"},
        "paginate": {"cursor_path": "/next_cursor", "cursor_param": "after", "max_pages": 3}});
    let out = host.invoke(&http, "request", &cursor).await.unwrap();
    assert_eq!(out["pages"], 3, "{out}");
    assert!(out["items"][0].get("after").is_none() && out["items"][2]["after"] == "c2", "{out}");
    // A link that repeats the connection's key: the host's own key goes
    // out with the next page, not the link's.
    let second = format!("{}/response-headers?page=2&api_key=from-the-link", echo.url());
    let keyed = json!({"api": "query-key", "path": "/response-headers",
        "query": {"page": "1", "Link": format!("<{second}>; rel=\"next\"")}, "paginate": {"next_link": true}});
    let out = host.invoke(&http, "request", &keyed).await.unwrap();
    assert_eq!(out["pages"], 2, "{out}");
    assert_eq!(out["items"][1]["api_key"], "***", "the connection's key, hidden: {out}");
    let bad = json!({"api": "bearer", "path": "/", "paginate": {"cursor_path": "/next"}});
    let refused = host.invoke(&http, "request", &bad).await.unwrap_err();
    assert!(refused.to_string().contains("give `next_link: true`, or `cursor_path` and `cursor_param`"), "{refused}");
}

/// A hostile connector that reads all of its memory after calling an API
/// that echoes the request finds no trace of the token: the host hid it
/// before the answer entered the sandbox.
#[tokio::test]
async fn no_credential_ever_enters_guest_memory() {
    let echo = httpbin();
    let dir = tempfile::tempdir().unwrap();
    let token = format!("tok-{}", uuid::Uuid::new_v4().simple());
    write_private(&dir.path().join("token"), &token);
    let file = dir.path().join("authentications.toml");
    let config =
        format!("[apis.echo]\nbase_url = \"{}\"\ncredential = \"bearer\"\ntoken_file = \"token\"\n", echo.url());
    write_private(&file, &config);
    let host = host(&file, &[]).await;
    let hostile = host.load(components::HOSTILE).await.unwrap();
    for path in ["/bearer", "/headers", "/anything"] {
        let out = host.invoke(&hostile, "scan_after_api", &json!({"path": path, "prefix": "tok-"})).await.unwrap();
        assert_eq!(out["status"], 200, "{out}");
        assert_eq!(out["found"], json!([]), "{path}: the token reached guest memory: {out}");
    }
    drop(host);
    // The hostile connector says its API takes bearer tokens only: a
    // connection with another kind is a mistake named before it is used.
    write_private(&file, &config.replace("credential = \"bearer\"\ntoken_file = \"token\"", "credential = \"none\""));
    let host = self::host(&file, &[]).await;
    let hostile = host.load(components::HOSTILE).await.unwrap();
    let out = host.invoke(&hostile, "scan_after_api", &json!({"path": "/get", "prefix": "tok-"})).await.unwrap();
    let status = out["status"].as_str().unwrap_or_default();
    assert!(status.contains("Denied") && status.contains("kind `none`") && status.contains("accepts bearer"), "{out}");
}

/// A connection to an address of a private or local network, written as
/// an IP literal, needs `allow_private_addresses`, as a host name that
/// resolves to one does.
#[tokio::test]
async fn a_private_address_needs_the_operators_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("authentications.toml");
    let config =
        |extra: &str| format!("[apis.meta]\nbase_url = \"https://169.254.169.254\"\ncredential = \"none\"\n{extra}");
    write_private(&file, &config(""));
    let loaded = HostConfig {
        authentications: connector_host::Authentications::from_file(&file).unwrap(),
        ..HostConfig::default()
    };
    let err = format!("{:#}", ConnectorHost::new(loaded).await.err().expect("refused"));
    assert!(err.contains("API `meta`") && err.contains("allow_private_addresses"), "{err}");
    write_private(&file, &config("allow_private_addresses = true\n"));
    let allowed = HostConfig {
        authentications: connector_host::Authentications::from_file(&file).unwrap(),
        ..HostConfig::default()
    };
    assert!(ConnectorHost::new(allowed).await.is_ok());
}

/// DNS rebinding: a connection to a host *name* that resolves to a
/// private or loopback address is refused when it sends, unless the
/// connection allows private addresses. This machine's own name resolves
/// to one (its /etc/hosts says so), as a hostile DNS answer would.
#[tokio::test]
async fn a_name_that_resolves_to_a_private_address_is_refused() {
    let echo = httpbin();
    let name = String::from_utf8(Command::new("hostname").output().unwrap().stdout).unwrap().trim().to_owned();
    let resolved: Vec<std::net::IpAddr> =
        tokio::net::lookup_host((name.as_str(), 0)).await.unwrap().map(|a| a.ip()).collect();
    assert!(
        !resolved.is_empty()
            && resolved.iter().all(|ip| ip.is_loopback() || matches!(ip, std::net::IpAddr::V4(v4) if v4.is_private())),
        "this test needs the machine's name ({name}) to resolve to loopback or private addresses, not {resolved:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("authentications.toml");
    let port = echo.addr.port();
    let config = |extra: &str| {
        format!("[apis.named]\nbase_url = \"http://{name}:{port}\"\ncredential = \"none\"\nallow_http = true\n{extra}")
    };
    write_private(&file, &config(""));
    let host = host(&file, &["http=api:named"]).await;
    let http = host.load_with(components::GUEST_HTTP, &alias("http")).await.unwrap();
    let refused = host.invoke(&http, "request", &json!({"api": "named", "path": "/get"})).await.unwrap_err();
    assert_eq!(capability_kind(&refused), "transport", "{refused}");
    assert!(
        refused.to_string().contains("egress refused") && refused.to_string().contains("allow_private_addresses"),
        "{refused}"
    );
    drop(host);
    write_private(&file, &config("allow_private_addresses = true\n"));
    let host = self::host(&file, &["http=api:named"]).await;
    let http = host.load_with(components::GUEST_HTTP, &alias("http")).await.unwrap();
    let allowed = host.invoke(&http, "request", &json!({"api": "named", "path": "/get"})).await;
    assert!(!format!("{allowed:?}").contains("egress refused"), "allowed on purpose: {allowed:?}");
}
