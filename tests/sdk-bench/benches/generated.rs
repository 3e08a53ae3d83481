//! Generated connectors beside the native AWS SDK of their service: S3
//! `get_object` and DynamoDB `get_item` through the host and the generated
//! connector, and through `aws-sdk-s3` / `aws-sdk-dynamodb` in-process,
//! each against a loopback server that answers every request with the
//! same canned reply; Cognito's `admin_get_user` (the `e2e` driver's
//! pair) in the same run. See BENCHMARKS.md.
//!
//!     cargo bench -p sdk-bench [-- --calls N]
//!
//! Prints one JSON object per scenario, then the host/native ratios.

use std::time::Duration;

use connector_tests::bench::{self, Figures, fixed_response, round, start_server_answering, warm_and_measure};
use connector_tests::{REGION, components, host_for, test_credentials};
use serde_json::{Value, json};

const CONCURRENCY: [usize; 3] = [1, 64, 256];

/// The object `get_object` reads: 1 KiB.
const OBJECT: [u8; 1024] = [7; 1024];

/// What DynamoDB answers to `get_item`.
const ITEM: &str =
    r#"{"Item":{"id":{"S":"user-1"},"name":{"S":"exampleUsername"},"logins":{"N":"42"},"tags":{"SS":["a","b"]}}}"#;

fn main() {
    let option = |name: &str| std::env::args().skip_while(|a| a != name).nth(1);
    let calls: usize = option("--calls").map(|n| n.parse().expect("--calls takes a number")).unwrap_or(10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mut pairs = Vec::new();
        pairs.extend(cognito(calls).await);
        pairs.extend(s3(calls).await);
        pairs.extend(dynamodb(calls).await);
        let mut ratios = serde_json::Map::new();
        for (service, host, native) in &pairs {
            for figures in [host, native] {
                println!("{}", json!({"service": service, "figures": figures}));
            }
            ratios.insert(
                format!("{service}@{}", host.concurrency),
                json!({
                    "calls_per_sec_host_over_native": round(host.calls_per_sec / native.calls_per_sec),
                    "p50_overhead_us": host.p50_us as i64 - native.p50_us as i64,
                }),
            );
        }
        println!("{}", json!({"ratios": ratios}));
    });
}

/// Cognito's pair, as the `e2e` driver measures it.
async fn cognito(calls: usize) -> Vec<(&'static str, Figures, Figures)> {
    let figures = bench::end_to_end_of(calls, &CONCURRENCY, &["host_wasm", "native_sdk"]).await;
    figures.chunks(2).map(|pair| ("cognito admin_get_user", pair[0].clone(), pair[1].clone())).collect()
}

async fn s3(calls: usize) -> Vec<(&'static str, Figures, Figures)> {
    let headers =
        [("etag", "\"9a0364b9e99bb480dd25e1f0284c8555\""), ("last-modified", "Wed, 01 Jan 2025 00:00:00 GMT")];
    let endpoint =
        start_server_answering(fixed_response("application/octet-stream", &headers, &OBJECT), Duration::ZERO).await;
    let host = host_for(&endpoint).await;
    let connector = host.load(components::GUEST_S3).await.expect("the S3 connector loads");
    let via_host = move || {
        let (host, connector) = (host.clone(), connector.clone());
        async move {
            let input = json!({"bucket": "reports", "key": "2024/q1.bin"});
            let output = host.invoke(&connector, "get_object", &input).await.expect("get_object via the host");
            assert_eq!(output["ContentLength"], json!(OBJECT.len()));
        }
    };
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(REGION))
        .endpoint_url(&endpoint)
        .force_path_style(true)
        .credentials_provider(test_credentials())
        .build();
    let sdk = aws_sdk_s3::Client::from_conf(config);
    let native = move || {
        let sdk = sdk.clone();
        async move {
            let output = sdk.get_object().bucket("reports").key("2024/q1.bin").send().await.expect("get_object");
            let body = output.body.collect().await.expect("the object's bytes");
            assert_eq!(body.into_bytes().len(), OBJECT.len());
        }
    };
    pairs("s3 get_object", calls, via_host, native).await
}

async fn dynamodb(calls: usize) -> Vec<(&'static str, Figures, Figures)> {
    let endpoint =
        start_server_answering(fixed_response("application/x-amz-json-1.0", &[], ITEM.as_bytes()), Duration::ZERO)
            .await;
    let host = host_for(&endpoint).await;
    let connector = host.load(components::GUEST_DYNAMODB).await.expect("the DynamoDB connector loads");
    let via_host = move || {
        let (host, connector) = (host.clone(), connector.clone());
        async move {
            let input = json!({"table_name": "users", "key": {"id": {"s": "user-1"}}});
            let output: Value = host.invoke(&connector, "get_item", &input).await.expect("get_item via the host");
            assert_eq!(output["Item"]["name"]["S"], "exampleUsername");
        }
    };
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new(REGION))
        .endpoint_url(&endpoint)
        .credentials_provider(test_credentials())
        .build();
    let sdk = aws_sdk_dynamodb::Client::from_conf(config);
    let native = move || {
        let sdk = sdk.clone();
        async move {
            let key = aws_sdk_dynamodb::types::AttributeValue::S("user-1".into());
            let output = sdk.get_item().table_name("users").key("id", key).send().await.expect("get_item");
            let name = output.item().and_then(|item| item.get("name")).and_then(|v| v.as_s().ok());
            assert_eq!(name.map(String::as_str), Some("exampleUsername"));
        }
    };
    pairs("dynamodb get_item", calls, via_host, native).await
}

/// Host and native figures at each concurrency, each after a warm-up.
async fn pairs<H, HF, N, NF>(
    service: &'static str,
    calls: usize,
    via_host: H,
    native: N,
) -> Vec<(&'static str, Figures, Figures)>
where
    H: Fn() -> HF + Clone + Send + 'static,
    HF: Future<Output = ()> + Send,
    N: Fn() -> NF + Clone + Send + 'static,
    NF: Future<Output = ()> + Send,
{
    let mut out = Vec::new();
    for concurrency in CONCURRENCY {
        let warm_up = (calls / 10).max(concurrency);
        let host = warm_and_measure("host_wasm", warm_up, calls, concurrency, via_host.clone()).await;
        let native = warm_and_measure("native_sdk", warm_up, calls, concurrency, native.clone()).await;
        out.push((service, host, native));
    }
    out
}
