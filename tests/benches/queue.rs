//! Scale-out benchmark driver; see BENCHMARKS.md.
//!
//!     cargo bench -p connector-tests --bench queue [-- --runs N]
//!
//! A one-step workflow (`admin_get_user` against the fixed-response
//! server) through one `serve --queue` node and one, then two, workers,
//! all in this process, around Debian's nats-server. Prints one JSON
//! object per scenario: runs/s with N runs submitted without waiting at
//! concurrency 64 until the workers have finished them all, and the
//! latency of one run waited for, through the queue and through a `serve`
//! that runs it itself (the difference is what the queue adds per run).

use std::sync::Arc;
use std::time::{Duration, Instant};

use connector_host::queue::{Queue, Worker, WorkerOptions};
use connector_host::server::{ServeOptions, Server};
use connector_host::{ConnectorHost, Runtime};
use connector_tests::bench::{self, Figures};
use connector_tests::nats::NatsServer;
use connector_tests::{components, host_config, test_credentials};
use serde_json::{Value, json};

pub fn main() {
    let runs = std::env::args()
        .skip_while(|a| a != "--runs")
        .nth(1)
        .map(|n| n.parse().expect("--runs takes a number"))
        .unwrap_or(5_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let endpoint = bench::start_fixed_server(Duration::ZERO).await;
        let workflow = json!({"steps": [{"id": "user", "connector": "aws-cognito", "operation": "admin_get_user",
            "input": {"user_pool_id": "us-east-1_bench", "username": "exampleUsername"}}]});
        let http = reqwest::Client::new();

        // What the queue adds: one run at a time, waited for.
        let embedded = bench::start_serve(&endpoint, 1000).await;
        let latency_runs = (runs / 10).max(200);
        let direct = measure_waited("serve_run_waited", &http, &embedded, &workflow, latency_runs).await;
        println!("{}", serde_json::to_string(&direct).unwrap());

        for workers in [1, 2] {
            let nats = NatsServer::start();
            let serve = start_queued_serve(&nats.url()).await;
            let mut started = Vec::new();
            for n in 0..workers {
                started.push(start_worker(&nats.url(), &endpoint, &format!("bench-{n}")).await);
            }
            let queued =
                measure_waited(&format!("queue_run_waited_{workers}_workers"), &http, &serve, &workflow, latency_runs)
                    .await;
            println!("{}", serde_json::to_string(&queued).unwrap());
            if workers == 1 {
                println!(
                    "{}",
                    json!({"scenario": "queue_added_latency", "p50_us": queued.p50_us.saturating_sub(direct.p50_us),
                           "p99_us": queued.p99_us.saturating_sub(direct.p99_us)})
                );
            }
            let succeeded_before = succeeded(&started);
            let begun = Instant::now();
            submit(&http, &serve, &workflow, runs).await;
            let submitted = begun.elapsed();
            while succeeded(&started) < succeeded_before + runs as u64 {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            let elapsed = begun.elapsed();
            println!(
                "{}",
                json!({"scenario": "queue_throughput", "workers": workers, "runs": runs,
                       "runs_per_sec": runs as f64 / elapsed.as_secs_f64(),
                       "submitted_per_sec": runs as f64 / submitted.as_secs_f64()})
            );
        }
    });
}

/// `runs` runs of `workflow` posted one at a time and waited for.
async fn measure_waited(scenario: &str, http: &reqwest::Client, base: &str, workflow: &Value, runs: usize) -> Figures {
    let call = {
        let (http, url, body) = (http.clone(), format!("{base}/v1/runs"), workflow.to_string());
        move || {
            let (http, url, body) = (http.clone(), url.clone(), body.clone());
            async move {
                let response = http.post(&url).header("content-type", "application/json").body(body).send().await;
                let record: Value = response.expect("the run is taken").json().await.expect("a record");
                assert_eq!(record["status"], "succeeded", "{record}");
            }
        }
    };
    bench::measure("warm-up", runs / 10, 1, call.clone()).await;
    bench::measure(scenario, runs, 1, call).await
}

/// Posts `runs` runs without waiting, 64 at a time.
async fn submit(http: &reqwest::Client, base: &str, workflow: &Value, runs: usize) {
    let call = {
        let (http, url, body) = (http.clone(), format!("{base}/v1/runs?wait=false"), workflow.to_string());
        move || {
            let (http, url, body) = (http.clone(), url.clone(), body.clone());
            async move {
                let response = http.post(&url).header("content-type", "application/json").body(body).send().await;
                assert_eq!(response.expect("the run is queued").status(), 202);
            }
        }
    };
    bench::measure("submit", runs, 64, call).await;
}

/// A `serve --queue` node in this process; its base URL.
async fn start_queued_serve(queue: &str) -> String {
    let dir = tempfile::tempdir().expect("a temporary directory").keep();
    let host = ConnectorHost::new(host_config("http://127.0.0.1:9", test_credentials())).await.unwrap();
    let options = ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        connectors: None,
        references: Vec::new(),
        data_dir: dir.join("data"),
        store: connector_host::workflow::StoreLimits { keep_runs: 100, ..Default::default() },
        api_token: None,
        connections: connector_host::server::ConnectionLimits { max_body_bytes: 1 << 20, ..Default::default() },
        max_runs: 100_000,
        mcp: Default::default(),
        queue: Some(queue.to_owned()),
    };
    let server = Server::bind(Runtime::new(host), options).await.expect("serve binds");
    let base = format!("http://{}", server.local_addr());
    tokio::spawn(server.run(std::future::pending()));
    base
}

/// A worker in this process with the Cognito connector, sending to
/// `endpoint`.
async fn start_worker(queue: &str, endpoint: &str, name: &str) -> Arc<Worker> {
    let mut config = host_config(endpoint, test_credentials());
    config.sandbox.max_concurrent_invocations = 1000;
    let runtime = Runtime::new(ConnectorHost::new(config).await.unwrap());
    runtime.load_path(components::GUEST_COGNITO.as_ref()).await.expect("the connector loads");
    let queue = Queue::connect(
        queue,
        name,
        connector_host::queue::QueueBounds { max_pending: 100_000, ..Default::default() },
        connector_host::queue::ExistingBounds::Keep,
    )
    .await
    .expect("the queue");
    let options = WorkerOptions { concurrency: 64, max_deliveries: 5, node: name.to_owned() };
    let worker = Arc::new(Worker::new(runtime, queue, options));
    tokio::spawn(worker.clone().run(std::future::pending()));
    worker
}

/// Runs the workers finished successfully, from their metrics.
fn succeeded(workers: &[Arc<Worker>]) -> u64 {
    workers
        .iter()
        .map(|worker| {
            let text = worker.metrics_text();
            text.lines()
                .find_map(|line| line.strip_prefix("connector_host_worker_runs_succeeded_total "))
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        })
        .sum()
}
