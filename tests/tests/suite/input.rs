//! Bad input is refused by the connector before any request leaves it, with
//! an error naming the field.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use connector_host::InvokeError;
use connector_tests::{components, host_for};
use serde_json::{Value, json};

/// A loopback listener that only counts connection attempts: any request
/// the connector sent would show up here.
fn counting_listener() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            seen.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (endpoint, count)
}

#[tokio::test]
async fn invalid_inputs_name_the_field_and_send_nothing() {
    let (endpoint, connections) = counting_listener();
    let host = host_for(&endpoint).await;
    let cognito = host.load(components::GUEST_COGNITO).await.unwrap();
    let cases: &[(&str, Value, &str)] = &[
        ("create_user_pool", json!({}), "pool_name: required field is missing"),
        ("create_user_pool", json!({"pool_name": 12}), "pool_name: expected a string, got the number 12"),
        ("create_user_pool", json!({"pool_name": "p", "colour": "red"}), "colour: unknown field"),
        ("create_user_pool", json!({"PoolName": "p"}), "PoolName: unknown field; did you mean `pool_name`?"),
        (
            "create_user_pool",
            json!({"pool_name": "p", "schema": [{"name": "a", "attribute_data_type": "Text"}]}),
            "schema[0].attribute_data_type: `Text` is not one of",
        ),
        ("create_user_pool", json!({"pool_name": "p", "alias_attributes": ["nickname"]}), "alias_attributes[0]"),
        ("admin_create_user", json!({"user_pool_id": "p"}), "username: required field is missing"),
        (
            "admin_create_user",
            json!({"user_pool_id": "p", "username": "u", "user_attributes": [{"value": "x"}]}),
            "user_attributes[0].name: required field is missing",
        ),
        ("list_user_pools", json!({"max_results": 0}), "max_results: 0 is below the minimum 1"),
        ("list_user_pools", json!({"max_results": "10"}), "max_results: expected an integer"),
        ("describe_user_pool", json!([1, 2]), "input: expected an object"),
    ];
    for (operation, input, expected) in cases {
        match host.invoke(&cognito, operation, input).await {
            Err(InvokeError::InvalidInput(message)) => {
                assert!(message.contains(expected), "{operation} {input}: got `{message}`, expected `{expected}`")
            }
            other => panic!("{operation} {input}: expected invalid input, got {other:?}"),
        }
    }
    assert!(matches!(
        host.invoke_json(&cognito, "describe_user_pool", "{not json", &Default::default()).await,
        Err(InvokeError::InvalidInput(m)) if m.contains("not valid JSON")
    ));
    assert!(matches!(
        host.invoke(&cognito, "drop_everything", &json!({})).await,
        Err(InvokeError::UnknownOperation(m)) if m.contains("drop_everything")
    ));
    assert_eq!(connections.load(Ordering::SeqCst), 0, "no request may be sent for invalid input");
}
