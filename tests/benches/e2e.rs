//! End-to-end benchmark driver; see BENCHMARKS.md.
//!
//!     cargo bench -p connector-tests --bench e2e [-- --calls N]
//!
//! Prints one JSON object per scenario on stdout: the host+wasm and native
//! SDK runs at concurrency 1 and 64 (`{"scenario", "concurrency", "calls",
//! "calls_per_sec", "p50_us", "p99_us"}`), load times, component size and
//! resident memory per in-flight invocation; the last line has the ratios.

use std::time::{Duration, Instant};

use connector_host::{ConnectorHost, SandboxLimits};
use connector_tests::bench::{self, Figures};
use connector_tests::{components, host_config, test_credentials};
use serde_json::json;

const IN_FLIGHT: usize = 1000;

fn main() {
    let calls = std::env::args()
        .skip_while(|a| a != "--calls")
        .nth(1)
        .map(|n| n.parse().expect("--calls takes a number"))
        .unwrap_or(20_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        loads().await;
        footprint().await;
        let figures: Vec<Figures> = bench::end_to_end(calls, &[1, 64]).await;
        for f in &figures {
            println!("{}", serde_json::to_string(f).unwrap());
        }
        println!("{}", bench::ratios(&figures));
    });
}

/// Cold (compile) and warm (cached artifact) load of the Cognito connector,
/// and its size.
async fn loads() {
    let cache = tempfile::tempdir().unwrap();
    let mut config = host_config("http://127.0.0.1:9", test_credentials());
    config.cache_dir = Some(cache.path().to_owned());
    let host = ConnectorHost::new(config).await.unwrap();
    let started = Instant::now();
    host.load(components::GUEST_COGNITO).await.unwrap();
    let cold = started.elapsed();
    let mut warm = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        host.load(components::GUEST_COGNITO).await.unwrap();
        warm.push(started.elapsed());
    }
    warm.sort();
    println!("{}", json!({"scenario": "load_cold", "ms": ms(cold)}));
    println!(
        "{}",
        json!({"scenario": "load_warm", "runs": warm.len(), "p50_ms": ms(warm[warm.len() / 2]), "min_ms": ms(warm[0])})
    );
    let size = std::fs::metadata(components::GUEST_COGNITO).unwrap().len();
    println!("{}", json!({"scenario": "component_size", "bytes": size}));
}

/// Resident memory per in-flight invocation: IN_FLIGHT invocations held
/// open by an endpoint that answers after 3 s.
async fn footprint() {
    let endpoint = bench::start_fixed_server(Duration::from_secs(3)).await;
    let mut config = host_config(&endpoint, test_credentials());
    config.sandbox = SandboxLimits { max_concurrent_invocations: IN_FLIGHT as u32 + 8, ..SandboxLimits::default() };
    let host = ConnectorHost::new(config).await.unwrap();
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
    let input = json!({"user_pool_id": "us-east-1_bench", "username": "exampleUsername"});
    host.instantiate(&cognito).await.unwrap();
    let before = bench::resident_bytes().unwrap_or(0);
    let calls: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (host, cognito, input) = (host.clone(), cognito.clone(), input.clone());
            tokio::spawn(async move { host.invoke(&cognito, "admin_get_user", &input).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let during = bench::resident_bytes().unwrap_or(0);
    let mut ok = 0;
    for call in calls {
        ok += call.await.unwrap().is_ok() as usize;
    }
    let per_call = during.saturating_sub(before) / IN_FLIGHT as u64;
    println!(
        "{}",
        json!({"scenario": "in_flight_memory", "in_flight": IN_FLIGHT, "succeeded": ok,
               "rss_before_mib": before >> 20, "rss_during_mib": during >> 20, "bytes_per_invocation": per_call})
    );
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}
