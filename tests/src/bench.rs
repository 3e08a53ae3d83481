//! The end-to-end benchmark driver: `admin_get_user` through the host and
//! the Cognito connector, and through the official SDK in-process, against
//! the same fixed-response HTTP server on loopback. The server returns a
//! canned AdminGetUser body to any request: it measures our overhead, it is
//! not a test double of Cognito. (`tests/sdk-bench` does the same for S3
//! and DynamoDB with their generated connectors.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::{components, host_for, sdk_client, test_credentials};

/// What the server answers to every request.
pub const ADMIN_GET_USER: &str = r#"{"Username":"exampleUsername","UserAttributes":[{"Name":"sub","Value":"4c6f849c-bc22-4f2b-b003-9818b90b33d9"},{"Name":"email","Value":"example@example.com"},{"Name":"email_verified","Value":"true"}],"UserCreateDate":1.700000000E9,"UserLastModifiedDate":1.700000000E9,"Enabled":true,"UserStatus":"CONFIRMED"}"#;

/// One scenario's figures, as the driver prints them.
#[derive(Debug, Clone, Serialize)]
pub struct Figures {
    pub scenario: String,
    pub concurrency: usize,
    pub calls: usize,
    pub calls_per_sec: f64,
    pub p50_us: u64,
    pub p99_us: u64,
}

/// Starts the fixed-response server (HTTP/1.1 keep-alive) on loopback,
/// answering AdminGetUser, and returns its endpoint. `delay` holds every
/// answer back that long.
pub async fn start_fixed_server(delay: Duration) -> String {
    let response = fixed_response("application/x-amz-json-1.1", &[], ADMIN_GET_USER.as_bytes());
    start_server_answering(response, delay).await
}

/// A 200 response with `content_type`, `headers` and `body`, as bytes on the wire.
pub fn fixed_response(content_type: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\nx-amzn-requestid: 00000000-0000-0000-0000-000000000000\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut response = head.into_bytes();
    response.extend_from_slice(body);
    response
}

/// Starts a server on loopback that answers every request with
/// `response` (HTTP/1.1 keep-alive, after `delay`), and returns its
/// endpoint.
pub async fn start_server_answering(response: Vec<u8>, delay: Duration) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let response = Arc::new(response);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                let mut stream = BufReader::new(stream);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    // Request line and headers.
                    loop {
                        line.clear();
                        match stream.read_line(&mut line).await {
                            Ok(0) | Err(_) => return,
                            Ok(_) => {}
                        }
                        let trimmed = line.trim_end();
                        if trimmed.is_empty() {
                            break;
                        }
                        if let Some((name, value)) = trimmed.split_once(':')
                            && name.eq_ignore_ascii_case("content-length")
                        {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    if stream.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    if stream.get_mut().write_all(&response).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    endpoint
}

/// Runs `calls` calls of `call` with `concurrency` in flight and returns
/// the figures.
pub async fn measure<F, Fut>(scenario: &str, calls: usize, concurrency: usize, call: F) -> Figures
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let per_worker = calls.div_ceil(concurrency);
    let started = Instant::now();
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let call = call.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_worker);
            for _ in 0..per_worker {
                let t = Instant::now();
                call().await;
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::with_capacity(per_worker * concurrency);
    for worker in workers {
        latencies.extend(worker.await.expect("a benchmark worker panicked"));
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)].as_micros() as u64;
    Figures {
        scenario: scenario.to_owned(),
        concurrency,
        calls: latencies.len(),
        calls_per_sec: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_us: at(0.50),
        p99_us: at(0.99),
    }
}

/// `serve` in this process over `endpoint`, with the Cognito connector:
/// its base URL. The server runs until the process ends.
pub async fn start_serve(endpoint: &str, max_concurrent: u32) -> String {
    let dir = tempfile::tempdir().expect("a temporary directory").keep();
    std::fs::copy(components::GUEST_COGNITO, dir.join("guest_cognito.wasm")).expect("copy the connector");
    let mut config = crate::host_config(endpoint, test_credentials());
    config.sandbox.max_concurrent_invocations = max_concurrent;
    let host = connector_host::ConnectorHost::new(config).await.expect("host starts");
    let options = connector_host::server::ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        connectors: Some(dir.clone()),
        references: Vec::new(),
        data_dir: dir.join("data"),
        store: connector_host::workflow::StoreLimits { keep_runs: 100, ..Default::default() },
        api_token: None,
        connections: connector_host::server::ConnectionLimits { max_body_bytes: 1 << 20, ..Default::default() },
        max_runs: 16,
        mcp: Default::default(),
        queue: None,
    };
    let server =
        connector_host::server::Server::bind(connector_host::Runtime::new(host), options).await.expect("serve binds");
    let base = format!("http://{}", server.local_addr());
    while !server.is_ready() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::spawn(server.run(std::future::pending()));
    base
}

/// The scenarios [`end_to_end`] runs, in its order.
pub const SCENARIOS: [&str; 4] = ["host_wasm", "native_sdk", "serve_http", "raw_signed_http"];

/// The end-to-end comparison: for each concurrency, host+wasm, native SDK,
/// host+wasm through `serve` over HTTP, and the floor (a request signed
/// with SigV4 and sent with a plain HTTP client, no sandbox, no SDK), each
/// after a warm-up. Returns the figures in that order.
pub async fn end_to_end(calls: usize, concurrencies: &[usize]) -> Vec<Figures> {
    end_to_end_of(calls, concurrencies, &SCENARIOS).await
}

/// [`end_to_end`] for the named `scenarios` only (one alone, to profile
/// it), in [`SCENARIOS`]' order.
pub async fn end_to_end_of(calls: usize, concurrencies: &[usize], scenarios: &[&str]) -> Vec<Figures> {
    let endpoint = start_fixed_server(Duration::ZERO).await;
    let host = host_for(&endpoint).await;
    let serve = start_serve(&endpoint, 1000).await;
    let http = reqwest::Client::new();
    let cognito = host.load(components::GUEST_COGNITO).await.expect("the connector loads");
    let sdk = sdk_client(&endpoint, test_credentials());
    let input = json!({"user_pool_id": "us-east-1_bench", "username": "exampleUsername"});

    let via_host = {
        let (host, cognito, input) = (host.clone(), cognito.clone(), input.clone());
        move || {
            let (host, cognito, input) = (host.clone(), cognito.clone(), input.clone());
            async move {
                let output =
                    host.invoke(&cognito, "admin_get_user", &input).await.expect("admin_get_user via the host");
                assert_eq!(output["Username"], "exampleUsername");
            }
        }
    };
    let native = {
        let sdk = sdk.clone();
        move || {
            let sdk = sdk.clone();
            async move {
                let output = sdk
                    .admin_get_user()
                    .user_pool_id("us-east-1_bench")
                    .username("exampleUsername")
                    .send()
                    .await
                    .expect("admin_get_user via the SDK");
                assert_eq!(output.username(), "exampleUsername");
            }
        }
    };
    let via_serve = {
        let url = format!("{serve}/v1/connectors/aws-cognito/operations/admin_get_user");
        let body = input.to_string();
        move || {
            let (http, url, body) = (http.clone(), url.clone(), body.clone());
            async move {
                let response = http
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .expect("admin_get_user via serve");
                assert_eq!(response.status(), 200);
                let output: serde_json::Value = response.json().await.expect("JSON output");
                assert_eq!(output["Username"], "exampleUsername");
            }
        }
    };
    let raw_signed = {
        let client = reqwest::Client::new();
        let url = format!("{endpoint}/");
        let credentials = test_credentials();
        move || {
            let (client, url, credentials) = (client.clone(), url.clone(), credentials.clone());
            async move {
                let mut request = http::Request::post(url.as_str())
                    .header("content-type", "application/x-amz-json-1.1")
                    .header("x-amz-target", "AWSCognitoIdentityProviderService.AdminGetUser")
                    .body(br#"{"UserPoolId":"us-east-1_bench","Username":"exampleUsername"}"#.to_vec())
                    .expect("a request");
                connector_host::sigv4::sign_request(
                    &mut request,
                    &credentials,
                    "cognito-idp",
                    crate::REGION,
                    std::time::SystemTime::now(),
                )
                .expect("signed");
                let request = reqwest::Request::try_from(request).expect("a reqwest request");
                let response = client.execute(request).await.expect("admin_get_user signed by hand");
                let output: serde_json::Value =
                    serde_json::from_slice(&response.bytes().await.expect("a body")).expect("JSON output");
                assert_eq!(output["Username"], "exampleUsername");
            }
        }
    };
    let mut figures = Vec::new();
    for &concurrency in concurrencies {
        let warm_up = (calls / 10).max(concurrency);
        for scenario in SCENARIOS.into_iter().filter(|s| scenarios.contains(s)) {
            let figure = match scenario {
                "host_wasm" => warm_and_measure(scenario, warm_up, calls, concurrency, via_host.clone()).await,
                "native_sdk" => warm_and_measure(scenario, warm_up, calls, concurrency, native.clone()).await,
                "serve_http" => warm_and_measure(scenario, warm_up, calls, concurrency, via_serve.clone()).await,
                _ => warm_and_measure(scenario, warm_up, calls, concurrency, raw_signed.clone()).await,
            };
            figures.push(figure);
        }
    }
    figures
}

/// [`measure`] after a warm-up of `warm_up` calls.
pub async fn warm_and_measure<F, Fut>(
    scenario: &str,
    warm_up: usize,
    calls: usize,
    concurrency: usize,
    call: F,
) -> Figures
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    measure("warm-up", warm_up, concurrency, call.clone()).await;
    measure(scenario, calls, concurrency, call).await
}

/// host/native and serve/host ratios of calls/s and p50, and the host's
/// p50 over the floor, by concurrency, from [`end_to_end`]'s figures.
pub fn ratios(figures: &[Figures]) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for four in figures.chunks(4) {
        let [host, native, serve, raw] = four else { continue };
        out.insert(
            format!("concurrency_{}", host.concurrency),
            json!({
                "calls_per_sec_host_over_native": round(host.calls_per_sec / native.calls_per_sec),
                "p50_host_over_native": round(host.p50_us as f64 / native.p50_us.max(1) as f64),
                "p50_overhead_us": host.p50_us as i64 - native.p50_us as i64,
                "calls_per_sec_serve_over_host": round(serve.calls_per_sec / host.calls_per_sec),
                "p50_overhead_over_raw_us": host.p50_us as i64 - raw.p50_us as i64,
            }),
        );
    }
    json!({ "ratios": out })
}

/// `x` to three decimals, as the ratios are printed.
pub fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Resident memory of this process, in bytes (Linux).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: u64 =
        status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}
