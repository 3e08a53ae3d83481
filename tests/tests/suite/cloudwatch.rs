//! The CloudWatch connector, generated from CloudWatch's API model (AWS
//! JSON 1.0, botocore's choice among the CBOR, JSON and query it lists),
//! against moto: metric data put with dimensions and timestamps, listed,
//! read back as statistics; an alarm set, described and deleted; bad input
//! refused before any request; what it did read back with boto3.

use connector_host::InvokeError;
use connector_tests::emulator::{Emulator, Kind};
use connector_tests::{components, host_for};
use serde_json::{Value, json};

#[tokio::test]
async fn a_generated_connector_puts_metrics_and_manages_alarms() {
    let emulator = Emulator::start(Kind::Moto);
    let host = host_for(&emulator.endpoint()).await;
    let cloudwatch = host.load(components::GUEST_CLOUDWATCH).await.expect("the CloudWatch connector loads");
    assert_eq!(cloudwatch.manifest().services, ["monitoring"]);
    let call = |operation: &'static str, input: Value| {
        let (host, cloudwatch) = (&host, &cloudwatch);
        async move { host.invoke(cloudwatch, operation, &input).await }
    };

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as f64;
    call(
        "put_metric_data",
        json!({"namespace": "Shop", "metric_data": [
            {"metric_name": "Orders", "dimensions": [{"name": "Region", "value": "eu"}], "timestamp": now - 60.0,
             "value": 3.0, "unit": "Count"},
            {"metric_name": "Orders", "dimensions": [{"name": "Region", "value": "eu"}], "timestamp": now - 30.0,
             "value": 5.0, "unit": "Count"}]}),
    )
    .await
    .unwrap();
    let listed = call("list_metrics", json!({"namespace": "Shop"})).await.unwrap();
    assert_eq!(listed["Metrics"][0]["MetricName"], json!("Orders"), "{listed}");
    assert_eq!(listed["Metrics"][0]["Dimensions"], json!([{"Name": "Region", "Value": "eu"}]));

    let statistics = call(
        "get_metric_statistics",
        json!({"namespace": "Shop", "metric_name": "Orders", "dimensions": [{"name": "Region", "value": "eu"}],
               "start_time": now - 600.0, "end_time": now + 60.0, "period": 3600, "statistics": ["Sum"]}),
    )
    .await
    .unwrap();
    let sum: f64 = statistics["Datapoints"].as_array().unwrap().iter().map(|d| d["Sum"].as_f64().unwrap()).sum();
    assert_eq!(sum, 8.0, "{statistics}");

    call(
        "put_metric_alarm",
        json!({"alarm_name": "many-orders", "namespace": "Shop", "metric_name": "Orders", "statistic": "Sum",
               "period": 60, "evaluation_periods": 1, "threshold": 100.0,
               "comparison_operator": "GreaterThanThreshold"}),
    )
    .await
    .unwrap();
    let alarms = call("describe_alarms", json!({"alarm_names": ["many-orders"]})).await.unwrap();
    assert_eq!(alarms["MetricAlarms"][0]["Threshold"], json!(100.0), "{alarms}");
    assert!(alarms["MetricAlarms"][0]["AlarmConfigurationUpdatedTimestamp"].is_number(), "timestamps are numbers");

    // Bad input never reaches moto.
    match call("put_metric_alarm", json!({"alarm_name": "x", "evaluation_periods": 0})).await {
        Err(InvokeError::InvalidInput(message)) => assert!(message.contains("evaluation_periods"), "{message}"),
        other => panic!("expected invalid input, got {other:?}"),
    }

    let seen = emulator.boto3(
        r#"
cw = client("cloudwatch")
alarm = cw.describe_alarms(AlarmNames=["many-orders"])["MetricAlarms"][0]
print(json.dumps({"threshold": alarm["Threshold"], "metric": alarm["MetricName"]}))
"#,
        &[],
    );
    assert_eq!(seen, json!({"threshold": 100.0, "metric": "Orders"}));

    call("delete_alarms", json!({"alarm_names": ["many-orders"]})).await.unwrap();
    let after = call("describe_alarms", json!({"alarm_names": ["many-orders"]})).await.unwrap();
    assert_eq!(after.get("MetricAlarms").cloned().unwrap_or(json!([])), json!([]), "{after}");
}
