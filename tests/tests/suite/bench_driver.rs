//! The benchmark driver keeps working: a brief run with few calls. It
//! asserts the figures are complete, never a time.

use connector_tests::bench;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_end_to_end_driver_runs() {
    let figures = bench::end_to_end(40, &[1, 4]).await;
    let names: Vec<_> = figures.iter().map(|f| (f.scenario.as_str(), f.concurrency)).collect();
    assert_eq!(
        names,
        [
            ("host_wasm", 1),
            ("native_sdk", 1),
            ("serve_http", 1),
            ("raw_signed_http", 1),
            ("host_wasm", 4),
            ("native_sdk", 4),
            ("serve_http", 4),
            ("raw_signed_http", 4)
        ]
    );
    for f in &figures {
        assert_eq!(f.calls, 40);
        assert!(f.calls_per_sec > 0.0 && f.p50_us <= f.p99_us, "{f:?}");
    }
    let ratios = bench::ratios(&figures);
    assert!(ratios["ratios"]["concurrency_4"]["calls_per_sec_host_over_native"].as_f64().is_some(), "{ratios}");
    assert!(ratios["ratios"]["concurrency_4"]["calls_per_sec_serve_over_host"].as_f64().is_some(), "{ratios}");
    assert!(ratios["ratios"]["concurrency_4"]["p50_overhead_over_raw_us"].as_i64().is_some(), "{ratios}");
}
