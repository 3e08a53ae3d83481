//! The Cognito connector end to end against real emulators: each operation
//! of the slice, with the result read back through the official SDK client.

use connector_host::InvokeError;
use connector_tests::api::Api;
use connector_tests::emulator::Kind;
use serde_json::{Value, json};

fn full_create_user_pool_input(name: &str) -> Value {
    json!({
        "pool_name": name,
        "policies": {"password_policy": {"minimum_length": 10, "require_numbers": true}},
        "username_attributes": ["email"],
        "auto_verified_attributes": ["email"],
        "schema": [
            {"name": "email", "attribute_data_type": "String", "required": true, "mutable": true},
            {"name": "level", "attribute_data_type": "Number", "mutable": true,
             "number_attribute_constraints": {"min_value": "1", "max_value": "10"}}
        ],
        "mfa_configuration": "OFF",
        "user_pool_tags": {"cost-center": "42"},
        "admin_create_user_config": {"allow_admin_create_user_only": true}
    })
}

async fn pool_lifecycle(kind: Kind) {
    let s = Api::start(kind).await;
    let created = s.ok("create_user_pool", full_create_user_pool_input("Lifecycle Pool")).await;
    let id = created["UserPool"]["Id"].as_str().expect("the output carries UserPool.Id").to_owned();
    assert_eq!(created["UserPool"]["Name"], "Lifecycle Pool");

    let sdk = s.sdk();
    let described = sdk.describe_user_pool().user_pool_id(&id).send().await.unwrap();
    let pool = described.user_pool().unwrap();
    assert_eq!(pool.name(), Some("Lifecycle Pool"));
    assert_eq!(pool.policies().unwrap().password_policy().unwrap().minimum_length(), Some(10));
    assert!(pool.schema_attributes().iter().any(|a| a.name() == Some("custom:level") || a.name() == Some("level")));

    let ours = s.ok("describe_user_pool", json!({"user_pool_id": id})).await;
    assert_eq!(ours["UserPool"]["Id"], id.as_str());
    assert_eq!(ours["UserPool"]["Name"], "Lifecycle Pool");

    let listed = s.ok("list_user_pools", json!({"max_results": 60})).await;
    assert!(listed["UserPools"].as_array().unwrap().iter().any(|p| p["Id"] == id.as_str()), "{listed}");

    s.ok("delete_user_pool", json!({"user_pool_id": id})).await;
    let gone = sdk.describe_user_pool().user_pool_id(&id).send().await.unwrap_err();
    assert_eq!(gone.into_service_error().meta().code(), Some("ResourceNotFoundException"));
}

async fn user_lifecycle(kind: Kind) {
    let s = Api::start(kind).await;
    let sdk = s.sdk();
    let pool = sdk.create_user_pool().pool_name("Users Pool").send().await.unwrap();
    let pool_id = pool.user_pool().unwrap().id().unwrap().to_owned();

    let created = s
        .ok(
            "admin_create_user",
            json!({
                "user_pool_id": pool_id,
                "username": "exampleUsername",
                "user_attributes": [{"name": "email", "value": "example@example.com"}],
                "message_action": "SUPPRESS",
                "client_metadata": {"source_app": "tests"}
            }),
        )
        .await;
    assert_eq!(created["User"]["Username"], "exampleUsername");

    let fetched = sdk.admin_get_user().user_pool_id(&pool_id).username("exampleUsername").send().await.unwrap();
    assert_eq!(fetched.username(), "exampleUsername");
    let email = fetched.user_attributes().iter().find(|a| a.name() == "email").and_then(|a| a.value());
    assert_eq!(email, Some("example@example.com"));

    let ours = s.ok("admin_get_user", json!({"user_pool_id": pool_id, "username": "exampleUsername"})).await;
    assert_eq!(ours["Username"], "exampleUsername");

    s.ok("admin_delete_user", json!({"user_pool_id": pool_id, "username": "exampleUsername"})).await;
    let gone = sdk.admin_get_user().user_pool_id(&pool_id).username("exampleUsername").send().await.unwrap_err();
    assert_eq!(gone.into_service_error().meta().code(), Some("UserNotFoundException"));

    match s.call("admin_get_user", json!({"user_pool_id": pool_id, "username": "exampleUsername"})).await {
        Err(InvokeError::Service { code, retryable, .. }) => {
            assert_eq!(code, "UserNotFoundException");
            assert!(!retryable);
        }
        other => panic!("expected UserNotFoundException, got {other:?}"),
    }
}

#[tokio::test]
async fn user_pool_lifecycle_on_moto() {
    pool_lifecycle(Kind::Moto).await;
}

#[tokio::test]
async fn user_pool_lifecycle_on_ministack() {
    pool_lifecycle(Kind::Ministack { auth: false }).await;
}

#[tokio::test]
async fn user_lifecycle_on_moto() {
    user_lifecycle(Kind::Moto).await;
}

#[tokio::test]
async fn user_lifecycle_on_ministack() {
    user_lifecycle(Kind::Ministack { auth: false }).await;
}
