//! Micro benchmarks of the per-call pieces; see BENCHMARKS.md.
//!
//!     cargo bench -p connector-tests --bench micro

use std::time::SystemTime;

use connector_host::{Credentials, InvokeError, sigv4};
use connector_tests::{components, host_for};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;

fn per_call(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let (host, cognito) = runtime.block_on(async {
        let host = host_for("http://127.0.0.1:9").await;
        let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
        (host, cognito)
    });

    c.bench_function("instantiate_from_instance_pre", |b| {
        b.to_async(&runtime).iter(|| async { host.instantiate(&cognito).await.unwrap() })
    });

    // The whole invoke path inside the sandbox, stopping before HTTP: the
    // connector parses, checks and refuses the input.
    let invalid = json!({"user_pool_id": "us-east-1_bench", "username": 7});
    c.bench_function("invoke_without_http", |b| {
        b.to_async(&runtime).iter(|| async {
            let result = host.invoke(&cognito, "admin_get_user", &invalid).await;
            assert!(matches!(result, Err(InvokeError::InvalidInput(_))));
        })
    });

    let credentials = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", None, None, "bench");
    let body = br#"{"UserPoolId":"us-east-1_bench","Username":"exampleUsername"}"#.to_vec();
    c.bench_function("sigv4_sign_request", |b| {
        b.iter(|| {
            let mut request = http::Request::post("https://cognito-idp.us-east-1.amazonaws.com/")
                .header("content-type", "application/x-amz-json-1.1")
                .header("x-amz-target", "AWSCognitoIdentityProviderService.AdminGetUser")
                .body(body.clone())
                .unwrap();
            sigv4::sign_request(&mut request, &credentials, "cognito-idp", "us-east-1", SystemTime::now()).unwrap();
            request
        })
    });
}

criterion_group!(benches, per_call);
criterion_main!(benches);
