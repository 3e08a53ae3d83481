//! End-to-end benchmark driver; see BENCHMARKS.md.
//!
//!     cargo bench -p connector-tests --bench e2e [-- --calls N]
//!     cargo bench -p connector-tests --bench e2e -- --only host_wasm@1 --calls N
//!     cargo bench -p connector-tests --bench e2e -- --loads
//!
//! Prints one JSON object per scenario on stdout: the host+wasm, native
//! SDK, serve and raw signed-request runs at concurrency 1, 64 and 256
//! (`{"scenario", "concurrency", "calls", "calls_per_sec", "p50_us",
//! "p99_us"}`), load times and component size of each generated AWS
//! connector (`--loads`: only those), the cost curves (resident
//! memory and load time with 1, 10 and 100 distinct connectors; resident
//! memory with 1, 100 and 1,000 calls in flight); the last line has the
//! ratios.

use std::time::{Duration, Instant};

use connector_host::{ConnectorHost, SandboxLimits};
use connector_tests::bench::{self, Figures};
use connector_tests::{components, host_config, test_credentials};
use serde_json::json;

const IN_FLIGHT: [usize; 3] = [1, 100, 1000];
const CONNECTORS: [usize; 3] = [1, 10, 100];

pub fn main() {
    let option = |name: &str| std::env::args().skip_while(|a| a != name).nth(1);
    let calls = option("--calls").map(|n| n.parse().expect("--calls takes a number")).unwrap_or(20_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    if let Some(only) = option("--only") {
        // One scenario at one concurrency and nothing else, for a profiler.
        let (scenario, concurrency) = only.split_once('@').expect("--only takes SCENARIO@CONCURRENCY");
        let concurrency = concurrency.parse().expect("--only takes SCENARIO@CONCURRENCY");
        assert!(bench::SCENARIOS.contains(&scenario), "--only: the scenarios are {:?}", bench::SCENARIOS);
        let figures = runtime.block_on(bench::end_to_end_of(calls, &[concurrency], &[scenario]));
        println!("{}", serde_json::to_string(&figures[0]).unwrap());
        return;
    }
    if std::env::args().any(|a| a == "--loads") {
        runtime.block_on(loads());
        return;
    }
    runtime.block_on(async {
        loads().await;
        connectors_loaded().await;
        for in_flight in IN_FLIGHT {
            footprint(in_flight).await;
        }
        let figures: Vec<Figures> = bench::end_to_end(calls, &[1, 64, 256]).await;
        for f in &figures {
            println!("{}", serde_json::to_string(f).unwrap());
        }
        println!("{}", bench::ratios(&figures));
    });
}

/// Cold (compile) and warm (cached artifact) load of each generated AWS
/// connector, and its size.
async fn loads() {
    let cache = tempfile::tempdir().unwrap();
    let mut config = host_config("http://127.0.0.1:9", test_credentials());
    config.cache_dir = Some(cache.path().to_owned());
    let host = ConnectorHost::new(config).await.unwrap();
    let connectors = [
        ("cognito", components::GUEST_COGNITO),
        ("dynamodb", components::GUEST_DYNAMODB),
        ("lambda", components::GUEST_LAMBDA),
        ("sns", components::GUEST_SNS),
        ("s3", components::GUEST_S3),
        ("ec2", components::GUEST_EC2),
        ("cloudwatch", components::GUEST_CLOUDWATCH),
    ];
    for (connector, component) in connectors {
        let started = Instant::now();
        host.load(component).await.unwrap();
        let cold = started.elapsed();
        let mut warm = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            host.load(component).await.unwrap();
            warm.push(started.elapsed());
        }
        warm.sort();
        let size = std::fs::metadata(component).unwrap().len();
        println!("{}", json!({"scenario": "load_cold", "connector": connector, "ms": ms(cold)}));
        println!(
            "{}",
            json!({"scenario": "load_warm", "connector": connector, "runs": warm.len(),
                   "p50_ms": ms(warm[warm.len() / 2]), "min_ms": ms(warm[0])})
        );
        println!("{}", json!({"scenario": "component_size", "connector": connector, "bytes": size}));
    }
}

/// The Cognito component with a custom section naming `n` appended: the
/// same code in different bytes, so a distinct connector to the host.
fn variant(component: &[u8], n: usize) -> Vec<u8> {
    let name = b"bench-variant";
    let payload = n.to_le_bytes();
    let size = 1 + name.len() + payload.len();
    assert!(size < 128 && name.len() < 128, "one-byte LEB128 sizes");
    let mut bytes = component.to_vec();
    bytes.extend_from_slice(&[0, size as u8, name.len() as u8]);
    bytes.extend_from_slice(name);
    bytes.extend_from_slice(&payload);
    bytes
}

/// Load time and resident memory with 1, 10 and 100 distinct connectors
/// loaded in one host: compiled once into a cache first, then each count
/// loaded from the cache into a fresh host.
async fn connectors_loaded() {
    let component = std::fs::read(components::GUEST_COGNITO).unwrap();
    let most = *CONNECTORS.iter().max().unwrap();
    let variants: Vec<Vec<u8>> = (0..most).map(|n| variant(&component, n)).collect();
    let cache = tempfile::tempdir().unwrap();
    let new_host = || {
        let mut config = host_config("http://127.0.0.1:9", test_credentials());
        config.cache_dir = Some(cache.path().to_owned());
        ConnectorHost::new(config)
    };
    let host = new_host().await.unwrap();
    let started = Instant::now();
    for bytes in &variants {
        host.load_bytes(bytes.clone(), &Default::default()).await.unwrap();
    }
    let cold_per_connector = ms(started.elapsed()) / most as f64;
    drop(host);
    for count in CONNECTORS {
        let host = new_host().await.unwrap();
        let before = bench::resident_bytes().unwrap_or(0);
        let started = Instant::now();
        let mut loaded = Vec::new();
        for bytes in &variants[..count] {
            loaded.push(host.load_bytes(bytes.clone(), &Default::default()).await.unwrap());
        }
        let elapsed = started.elapsed();
        let after = bench::resident_bytes().unwrap_or(0);
        println!(
            "{}",
            json!({"scenario": "connectors_loaded", "connectors": count, "load_ms": ms(elapsed),
                   "load_ms_per_connector": ms(elapsed) / count as f64, "cold_load_ms_per_connector": cold_per_connector,
                   "rss_before_mib": before >> 20, "rss_after_mib": after >> 20,
                   "rss_per_connector_kib": (after.saturating_sub(before) / count as u64) >> 10})
        );
        drop(loaded);
    }
}

/// Resident memory with `in_flight` invocations held open by an endpoint
/// that answers after 3 s.
async fn footprint(in_flight: usize) {
    let endpoint = bench::start_fixed_server(Duration::from_secs(3)).await;
    let mut config = host_config(&endpoint, test_credentials());
    config.sandbox = SandboxLimits { max_concurrent_invocations: in_flight as u32 + 8, ..SandboxLimits::default() };
    let host = ConnectorHost::new(config).await.unwrap();
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
    let input = json!({"user_pool_id": "us-east-1_bench", "username": "exampleUsername"});
    host.instantiate(&cognito).await.unwrap();
    let before = bench::resident_bytes().unwrap_or(0);
    let calls: Vec<_> = (0..in_flight)
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
    let per_call = during.saturating_sub(before) / in_flight as u64;
    println!(
        "{}",
        json!({"scenario": "in_flight_memory", "in_flight": in_flight, "succeeded": ok,
               "rss_before_mib": before >> 20, "rss_during_mib": during >> 20, "bytes_per_invocation": per_call})
    );
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e5).round() / 100.0
}
